"""Getting a finished image to the chat platform, however long the platform is down.

A delivery that fails for now (DeliveryDelayed: a 5xx, a rate limit past the SDK's own
retries, a dropped connection) is tried again after a growing pause, up to `max_pause`
apart, for as long as easel runs: the image is paid for, and the outbox keeps it across
restarts too. A refusal that will not change (DeliveryFailed: easel was removed from the
channel, the message is gone) ends the turn at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterator

from bot import errors
from bot.models import FinalImage
from bot.ports import Delivery

log = logging.getLogger(__name__)

DEFAULT_MAX_PAUSE = 60.0


def pauses(max_pause: float) -> Iterator[float]:
    """1, 2, 4, ... seconds between attempts, then every `max_pause` seconds for good."""
    pause = min(1.0, max_pause)
    while True:
        yield pause
        pause = min(pause * 2, max_pause)


async def deliver(surface: Delivery, final: FinalImage, *, max_pause: float) -> str:
    """Upload the final image until the platform takes it; the file's reference."""
    for attempt, pause in enumerate(pauses(max_pause), start=1):
        try:
            return await surface.finish(final)
        except errors.DeliveryDelayed as exc:
            log.warning(
                "delivery attempt %d failed for now (%s); trying again in %.1fs",
                attempt,
                exc.detail,
                pause,
            )
            if attempt == 1:
                await quietly(surface.delivering(), "say the image is being delivered")
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
