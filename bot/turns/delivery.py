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
from dataclasses import dataclass, field
from typing import TypeVar

from bot import errors
from bot.images import pixel_size
from bot.models import FinalImage, Held, ImageOptions, ThreadKey
from bot.ports import Delivery, Ledger, Telemetry, TurnMessage
from bot.telemetry import NoTelemetry, Stopwatch
from bot.turns.order import Place
from bot.turns.status import TurnStatus
from bot.workspace.prices import PriceTable

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
    on_retry: Callable[[], None] | None = None,
) -> T:
    """`await step(attempt)` until it succeeds; DeliveryFailed (for good) is raised.

    `on_delay` runs once, after the first attempt that failed for now; `on_retry` after
    each attempt that failed for now."""
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
            if on_retry is not None:
                on_retry()
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


async def patiently(step: Callable[[], Awaitable[T]], *, what: str, max_pause: float) -> T:
    """`await step()` again and again while the database is away (StoreUnavailable): what
    it writes down is paid for, and holds the thread's order."""
    for pause in pauses(max_pause):
        try:
            return await step()
        except errors.StoreUnavailable as exc:
            log.warning("%s waits for the database (%s); again in %.1fs", what, exc.detail, pause)
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


@dataclass(frozen=True, slots=True)
class Deliverer:
    """Delivers held images, step by step, each step recorded in the ledger as it succeeds."""

    ledger: Ledger
    prices: PriceTable
    max_pause: float
    telemetry: Telemetry = field(default_factory=NoTelemetry)

    async def deliver(
        self,
        turn_id: int,
        key: ThreadKey,
        held: Held,
        options: ImageOptions,
        surface: Delivery,
        *,
        place: Place | None = None,
        resumed: bool = False,
        watch: Stopwatch | None = None,
    ) -> None:
        """Deliver a held image step by step, each step recorded as it succeeds: the file into
        the thread (the thread's chain advances with it), then the message showing it.
        `watch`: the turn's timings, when it was drawn in this run."""
        try:
            file_ref = held.file_ref or await self._place(
                turn_id, key, held.final, surface, resumed
            )
        except errors.DeliveryFailed as exc:
            log.warning("turn %d cannot be delivered: %s", turn_id, exc.detail)
            await self.ledger.end(turn_id, status=TurnStatus.FAILED, error_code=exc.code)
            self.telemetry.turn_ended(
                platform=key.platform, status=TurnStatus.FAILED, code=exc.code
            )
            await quietly(surface.fail(exc), "tell the user the image cannot be delivered")
            return
        except asyncio.CancelledError:
            await asyncio.shield(self._stays(turn_id, surface))
            raise
        if watch is not None and not held.file_ref:
            watch.placed()
        # The file is in the thread: the message edit may wait minutes for Slack's limit and
        # needs the image's details only, so its bytes go now (their pixel size kept).
        size = pixel_size(held.final.data)
        final = held.final.without_data()
        del held
        if place is not None:
            place.ended.set()  # the next turn in the thread may draw from this image now
        await self._show(turn_id, key, final, file_ref, surface)
        cost = self.prices.estimate(options, final, input_images=final.input_images)
        await patiently(
            lambda: self.ledger.complete(turn_id, final=final, cost_usd=cost, image_size=size),
            what=f"turn {turn_id}: its delivery",
            max_pause=self.max_pause,
        )
        log.info("turn %d delivered %s as %s", turn_id, final.image_call_id, file_ref)
        self._delivered(key.platform, cost, watch)

    async def _show(
        self, turn_id: int, key: ThreadKey, final: FinalImage, file_ref: str, surface: Delivery
    ) -> None:
        """The message shows the file that is in the thread."""
        try:
            await persist(
                lambda _: surface.show_final(final, file_ref, turn_id=turn_id),
                what=f"turn {turn_id}: showing {file_ref}",
                max_pause=self.max_pause,
                on_retry=lambda: self.telemetry.delivery_retry(platform=key.platform),
            )
        except errors.DeliveryFailed as exc:
            # The file is in the thread for everyone to see; only the message lags behind.
            log.warning("turn %d: its message cannot show %s: %s", turn_id, file_ref, exc.detail)
        except asyncio.CancelledError:
            await asyncio.shield(self._stays(turn_id, surface))
            raise

    def _delivered(self, platform: str, cost: float, watch: Stopwatch | None) -> None:
        self.telemetry.turn_ended(platform=platform, status=TurnStatus.DELIVERED)
        self.telemetry.spent(platform=platform, usd=cost)
        if watch is not None:
            watch.delivered()

    async def _place(
        self, turn_id: int, key: ThreadKey, final: FinalImage, surface: Delivery, resumed: bool
    ) -> str:
        file_ref = await persist(
            lambda attempt: surface.place_final(final, again=resumed or attempt > 1),
            what=f"turn {turn_id}: the file",
            max_pause=self.max_pause,
            on_delay=surface.delivering,
            on_retry=lambda: self.telemetry.delivery_retry(platform=key.platform),
        )
        await patiently(
            lambda: self.ledger.placed(turn_id, key=key, final=final, file_ref=file_ref),
            what=f"turn {turn_id}: its file {file_ref}",
            max_pause=self.max_pause,
        )
        return file_ref

    async def _stays(self, turn_id: int, surface: TurnMessage) -> None:
        log.info("turn %d stays in the outbox; it is delivered at the next start", turn_id)
        await quietly(surface.delivering(), "say the image is on its way")
