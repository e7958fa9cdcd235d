"""Getting a finished image to the chat platform, however long the platform is down.

Each delivery step (the file into the thread, then the message showing it) is tried again
after a growing pause, up to `max_pause` apart, for as long as easel runs when it fails for
now (DeliveryDelayed: a 5xx, a rate limit, a dropped connection) or with a bug (logged with
its stack): the image is paid for, and the outbox keeps it across restarts too. A refusal
that will not change (DeliveryFailed: easel was removed from the channel, the message is
gone) ends the step at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

from bot import errors

log = logging.getLogger(__name__)

T = TypeVar("T")
DEFAULT_MAX_PAUSE = 60.0


def pauses(max_pause: float) -> Iterator[float]:
    """1, 2, 4, ... seconds between attempts, then every `max_pause` seconds for good."""
    pause = min(1.0, max_pause)
    while True:
        yield pause
        pause = min(pause * 2, max_pause)


async def persist(
    step: Callable[[int], Awaitable[T]],
    *,
    what: str,
    max_pause: float,
    on_delay: Callable[[], Awaitable[None]] | None = None,
) -> T:
    """`await step(attempt)` until it succeeds; DeliveryFailed (for good) is raised.

    `on_delay` runs once, after the first attempt that failed for now."""
    for attempt, pause in enumerate(pauses(max_pause), start=1):
        try:
            return await step(attempt)
        except errors.DeliveryDelayed as exc:
            log.warning(
                "%s: attempt %d failed for now (%s); trying again in %.1fs",
                what,
                attempt,
                exc.detail,
                pause,
            )
        except errors.DeliveryFailed:
            raise
        except Exception:
            log.exception(
                "%s: attempt %d failed with a bug; trying again in %.1fs", what, attempt, pause
            )
        if attempt == 1 and on_delay is not None:
            await quietly(on_delay(), "say the image is being delivered")
        await asyncio.sleep(pause)
    raise AssertionError("pauses() never ends")


async def quietly(step: Awaitable[None], what: str, *, within: float = 10.0) -> bool:
    """Run a best-effort chat edit: a failure is logged, never raised."""
    try:
        async with asyncio.timeout(within):
            await step
    except Exception:
        log.warning("could not %s", what, exc_info=True)
        return False
    return True
