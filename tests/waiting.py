"""Waiting for the state under test, never for a fixed time."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from adapters.runtime import Runtime

T = TypeVar("T")


async def settle(runtime: Runtime, within: float = 20) -> None:
    """Wait until every drawing turn has ended and no listener is about to start another.

    Bolt answers Slack before its listener finishes, so a turn may be submitted a moment
    after the HTTP response: wait until the service has stayed idle for a short while.
    """
    async with asyncio.timeout(within):
        while True:
            await runtime.turns.join()
            await asyncio.sleep(0.15)
            if runtime.turns.idle:
                return


async def eventually(predicate: Callable[[], T], within: float = 10) -> T:
    """Poll `predicate` until it returns something truthy (what a fake recorded), and return it."""
    async with asyncio.timeout(within):
        while not (result := predicate()):  # noqa: ASYNC110 - the fakes record, they do not signal
            await asyncio.sleep(0.02)
    return result
