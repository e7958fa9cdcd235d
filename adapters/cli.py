"""The entry point: `easel` reads its configuration and runs until SIGTERM or Ctrl-C."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from dotenv import load_dotenv

from adapters.discord.runner import sync_only
from adapters.errors import StartupError
from adapters.runtime import running
from bot.config import Config, load_config
from bot.env import ConfigError
from bot.logs import configure

log = logging.getLogger(__name__)


async def serve(config: Config) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with running(config) as runtime:
        if runtime.playground is not None:
            print(
                f"easel playground: http://{_shown_host(config.host)}:{runtime.port}/", flush=True
            )
        log.info("easel is running; SIGTERM or Ctrl-C stops it")
        await stop.wait()
        log.info("stopping: finishing drawings in progress (up to %.0fs)", config.shutdown_grace)


def _shown_host(host: str) -> str:
    if host in ("0.0.0.0", "::", ""):
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host  # an IPv6 address, as a URL writes it


USAGE = """usage: easel [sync-commands]

  easel                 run the bot (configured by the environment or .env)
  easel sync-commands   register /draw with Discord (DISCORD_GUILD_ID: that server only) and exit
"""


def run(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args not in ([], ["sync-commands"]):
        print(USAGE, file=sys.stderr, end="")
        raise SystemExit(0 if args in (["-h"], ["--help"]) else 2)
    load_dotenv(".env")
    try:
        config = load_config()
    except ConfigError as exc:
        print(f"easel: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if args == ["sync-commands"]:
        _sync(config)
        return
    configure(level=config.log_level, fmt=config.log_format, secrets=config.secrets)
    try:
        asyncio.run(serve(config))
    except StartupError as exc:
        log.error("%s", exc)
        raise SystemExit(2) from None


def _sync(config: Config) -> None:
    configure(level=config.log_level, fmt=config.log_format, secrets=config.secrets)
    if config.discord is None:
        print("easel: sync-commands needs DISCORD_TOKEN", file=sys.stderr)
        raise SystemExit(2)
    try:
        count = asyncio.run(sync_only(config.discord))
    except StartupError as exc:
        print(f"easel: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    print(f"easel: registered {count} command(s) with Discord")


if __name__ == "__main__":
    run()
