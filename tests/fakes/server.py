"""The start and stop of every fake: an aiohttp Application served on 127.0.0.1.

A fake builds its Application (routes bound to its own methods) and hands it to `LocalServer`;
`async with` then serves it on a free port until the block ends. `closing` is set the moment
the block ends, before the server stops, so a handler that waits (a hang, a slow answer, a
stream) can wake and end at once instead of holding the shutdown up.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Self

from aiohttp import web

HOST = "127.0.0.1"


class LocalServer:
    """An aiohttp Application on 127.0.0.1 and a port of its own, for one `async with` block."""

    def __init__(self, app: web.Application, *, shutdown_timeout: float = 0.5) -> None:
        self.app = app
        self.port = 0
        self.closing = asyncio.Event()
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.AppRunner | None = None

    @property
    def origin(self) -> str:
        """`http://127.0.0.1:<port>` once started, "" before."""
        return f"http://{HOST}:{self.port}" if self.port else ""

    @property
    def base_url(self) -> str:
        return self.origin

    async def __aenter__(self) -> Self:
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        try:
            await web.TCPSite(runner, HOST, 0).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.closing.set()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def pause(self, seconds: float) -> bool:
        """Sleep `seconds`, waking early when the server closes. False once it is closing."""
        if seconds > 0 and not self.closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.closing.wait(), seconds)
        return not self.closing.is_set()
