"""easel as its own process, as an operator runs it: started, killed, restarted.

The fakes stay in the test's process, so what the platforms saw survives the bot's death.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import TracebackType

import httpx2

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class BotProcess:
    """`easel` in a child process with `env`; its log goes to `log_path`."""

    def __init__(self, env: dict[str, str], *, log_path: Path) -> None:
        self.port = free_port()
        self.env = {**env, "EASEL_PORT": str(self.port)}
        self.log_path = log_path
        self.proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> BotProcess:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.wait()

    async def start(self) -> None:
        child_env = {k: v for k, v in os.environ.items() if not k.upper().endswith("_PROXY")}
        child_env.update(self.env)
        with self.log_path.open("ab") as log:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-c",
                "from adapters.cli import run; run()",
                cwd=ROOT,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        await self.healthy()

    async def healthy(self, within: float = 30) -> None:
        """Wait until /healthz says ok (the store is open and every platform connected)."""
        async with httpx2.AsyncClient(timeout=2) as http, asyncio.timeout(within):
            while True:
                assert self.proc is not None and self.proc.returncode is None, self.log()
                try:
                    response = await http.get(f"http://127.0.0.1:{self.port}/healthz")
                    if response.status_code == 200:
                        return
                except httpx2.TransportError:
                    pass
                await asyncio.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or marked."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)

    async def wait(self, within: float = 30) -> int:
        assert self.proc is not None
        async with asyncio.timeout(within):
            return await self.proc.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
