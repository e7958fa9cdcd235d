"""easel's own web server: /healthz, Slack's events in HTTP mode, previews and the playground."""

from __future__ import annotations

import logging
from contextlib import AsyncExitStack
from dataclasses import dataclass

from aiohttp import web

from adapters.discord.runner import DiscordRunner
from adapters.slack.runner import SlackRunner
from adapters.web.app import Playground
from bot.config import Config
from bot.images import MAX_INPUT_BYTES
from bot.store.sqlite import SqlStore
from bot.workspace.watch import ModelWatch

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Readiness:
    """Whether easel has settled what the last run left and is taking requests."""

    ready: bool = False


@dataclass(frozen=True, slots=True)
class Platforms:
    """The configured chat platforms."""

    slack: SlackRunner | None
    discord: DiscordRunner | None
    playground: Playground | None


def web_app(
    on: Platforms, *, store: SqlStore, readiness: Readiness, models: ModelWatch
) -> web.Application:
    slack, discord, playground = on.slack, on.discord, on.playground

    async def healthz(request: web.Request) -> web.Response:
        checks = {"ready": readiness.ready, "store": await _store_ok(store)}
        if slack is not None:
            checks["slack"] = await slack.connected()
        if discord is not None:
            checks["discord"] = discord.connected()
        ok = all(checks.values())
        body: dict[str, object] = {"ok": ok, **checks}
        if checks["store"] and (warnings := await _model_warnings(models)):
            body["warnings"] = warnings  # said, without failing the check
        return web.json_response(body, status=200 if ok else 503)

    # The playground takes image uploads; Slack's own requests are small.
    app = web.Application(client_max_size=MAX_INPUT_BYTES + 2**20 if playground else 2**20)
    app.add_routes([web.get("/healthz", healthz)])
    if slack is not None:
        app.add_routes(slack.routes())
    if playground is not None:
        app.add_routes(playground.routes())
    return app


async def _store_ok(store: SqlStore) -> bool:
    try:
        return await store.ping()
    except Exception:
        log.warning("health check: the store is not reachable", exc_info=True)
        return False


async def _model_warnings(models: ModelWatch) -> list[str]:
    try:
        return await models.warnings()
    except Exception:
        log.warning("health check: the models in use could not be read", exc_info=True)
        return []


async def serve(stack: AsyncExitStack, config: Config, app: web.Application) -> int:
    """Start the web server; it stops when `stack` closes. Returns the port it listens on."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, config.host, config.port).start()
    port = int(runner.addresses[0][1])
    log.info("listening on %s:%d", config.host, port)
    return port
