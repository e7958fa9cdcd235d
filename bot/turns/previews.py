"""Latest-wins, rate-limited preview edits of one message.

At most one edit is in flight. A frame that arrives while an edit is in flight (or while the
editor waits out the minimum interval) replaces the frame that was waiting, so a slow chat API
sees fewer, newer frames instead of a growing queue. A frame the chat has no edit for (its
`claim` says no) is dropped before it is prepared. A failed edit is logged and forgotten:
previews may be lost, the drawing never is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Self

from bot.models import Preview

log = logging.getLogger(__name__)


class PreviewEditor:
    def __init__(
        self,
        *,
        show: Callable[[Preview], Awaitable[None]],
        min_interval: float,
        clock: Callable[[], float] = time.monotonic,
        prepare: Callable[[Preview], Awaitable[Preview]] | None = None,
        claim: Callable[[], bool] | None = None,
    ) -> None:
        self._show = show
        self._prepare = prepare  # e.g. downscale: only frames about to be shown pay for it
        self._claim = claim  # False: the chat cannot take an edit now; the frame is dropped
        self._min_interval = min_interval
        self._clock = clock
        self._pending: Preview | None = None
        self._wake = asyncio.Event()
        self._closed = False
        self._last_shown_at: float | None = None
        self._task: asyncio.Task[None] | None = None
        self.shown: list[int] = []  # indexes of frames shown, in order (for logs and tests)
        self.dropped = 0

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._pump(), name="preview-editor")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def wants(self) -> bool:
        """Whether a frame arriving now could be shown (the chat's claim taken for it): a
        backend lets a frame nobody could see go unread."""
        return not self._closed and (self._claim is None or self._claim())

    def offer(self, preview: Preview) -> None:
        """Hand over the newest frame. Never blocks; an older waiting frame is dropped."""
        if self._closed:
            return
        if self._pending is not None:
            self.dropped += 1
        self._pending = preview
        self._wake.set()

    async def close(self) -> None:
        """Drop any waiting frame and wait for the edit in flight, so nothing lands after."""
        self._closed = True
        if self._pending is not None:
            self.dropped += 1
            self._pending = None
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None

    async def _pump(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._closed:
                return
            await self._wait_interval()
            frame, self._pending = self._pending, None
            if self._closed or frame is None:
                if self._closed:
                    return
                continue
            if self._claim is not None and not self._claim():
                log.debug("preview %d dropped: the chat has no edit to spare", frame.index + 1)
                self.dropped += 1
                continue
            try:
                await self._show(await self._prepare(frame) if self._prepare else frame)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("preview %d could not be shown", frame.index + 1, exc_info=True)
            else:
                self.shown.append(frame.index)
            self._last_shown_at = self._clock()

    async def _wait_interval(self) -> None:
        if self._last_shown_at is None:
            return
        remaining = self._last_shown_at + self._min_interval - self._clock()
        if remaining <= 0:
            return
        # Sleep, but wake early on close(); frames offered meanwhile replace each other.
        try:
            async with asyncio.timeout(remaining):
                while not self._closed:
                    await self._wake.wait()
                    self._wake.clear()
        except TimeoutError:
            pass
