"""One drawing turn, start to end: placeholder, stream with previews, outbox, delivery.

    placeholder -> stream -> previews -> outbox (delivering) -> file in the thread
                -> message shows it (delivered)

Every step is written to the ledger as it succeeds. The thread's `previous_response_id`
advances once the final file is in the thread, so a failed turn leaves the thread where it
was and a turn whose file arrived is never lost to the next reply; the final image is held
in the outbox from the moment it exists until the message shows it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot import errors
from bot.logs import bind_turn
from bot.models import (
    FinalImage,
    Held,
    ThreadKey,
)
from bot.ports import (
    Drawings,
    ImageBackend,
    Ledger,
    Surface,
    Telemetry,
    Threads,
    TurnMessage,
)
from bot.telemetry import BUG, NoTelemetry, Stopwatch
from bot.turns.delivery import Deliverer, patiently, quietly
from bot.turns.drawing import Drawing
from bot.turns.inputs import Plan, plan
from bot.turns.order import Place, ThreadOrder
from bot.turns.safety import SafetyIds
from bot.turns.status import TurnStatus
from bot.workspace.admission import Admission

log = logging.getLogger(__name__)

# Pauses between attempts to post a placeholder the platform did not take for now (about four
# seconds in all): nothing is paid yet, and the person is waiting for an answer.
START_PAUSES = (0.25, 0.5, 1.0, 2.0)


@dataclass(frozen=True, slots=True)
class TurnRunner:
    """Runs turns with the parts every turn shares."""

    ledger: Ledger
    threads: Threads
    drawings: Drawings
    backend: ImageBackend
    order: ThreadOrder
    deliverer: Deliverer
    safety: SafetyIds
    start_pauses: Sequence[float] = START_PAUSES
    running: set[int] = field(default_factory=set)  # the turns this replica's tasks run
    telemetry: Telemetry = field(default_factory=NoTelemetry)

    async def run(self, admission: Admission, surface: Surface, place: Place) -> None:
        """One turn. Expected failures end in surface.fail() with words that say what
        happened; a bug ends the turn as failed too, logged with its stack."""
        self.telemetry.in_flight(1)
        try:
            watch = Stopwatch(self.telemetry, admission.request.platform)
            await self._run(admission, surface, place, watch)
        finally:
            self.telemetry.in_flight(-1)

    async def _run(
        self, admission: Admission, surface: Surface, place: Place, watch: Stopwatch
    ) -> None:
        try:
            begun = await self._begin(admission, surface, place)
        finally:
            place.posted.set()
        if begun is None:
            return
        turn_id, key, waiting = begun
        self.running.add(turn_id)
        try:
            bind(turn_id, key)
            log.info("turn %d %s in %s", turn_id, "queued" if waiting else "started", key)
            drawn = await self._final(
                turn_id, key, admission, surface, place, watch, waiting=waiting
            )
            if drawn is not None:
                final, drawn_from = drawn
                await patiently(
                    lambda: self.ledger.hold(turn_id, final, drawn_from=drawn_from),
                    what=f"turn {turn_id}: its finished image",
                    max_pause=self.deliverer.max_pause,
                )
                delivery = self.deliverer.deliver(
                    turn_id, key, Held(final), admission.options, surface, place=place, watch=watch
                )
                del drawn, final  # the delivery owns the bytes, and lets them go once placed
                await delivery
        finally:
            self.running.discard(turn_id)

    async def _begin(
        self, admission: Admission, surface: Surface, place: Place
    ) -> tuple[int, ThreadKey, bool] | None:
        """The turn in the ledger and its placeholder posted: (turn, thread, waiting), or None
        when the placeholder could not be posted (the person is told, nothing was drawn).

        A reply takes its place in the ledger first, so that its thread's order is the order
        in which the replies came, whichever replica took each; a new drawing's message
        makes its thread, so it is written down once posted."""
        request = admission.request
        key = request.thread_key
        try:
            if key is None:
                return await self._begin_thread(admission, surface, place)
            turn_id = await self._write(admission, surface, key, TurnStatus.QUEUED)
            waiting = place.waiting or await self.ledger.earlier_active(turn_id, key)
            try:
                await self._start(surface, waiting=waiting)
            except errors.EaselError as exc:
                await self.ledger.end(turn_id, status=TurnStatus.FAILED, error_code=exc.code)
                raise
            await self.ledger.posted(turn_id, surface.message_ref())
            return turn_id, key, waiting
        except errors.EaselError as exc:
            log.warning("could not start a turn in %s: %s", request.channel, exc.detail or exc.code)
            self._ended(request.platform, TurnStatus.FAILED, exc.code)
            await quietly(surface.fail(exc), "say that nothing was drawn")
            return None

    async def _begin_thread(
        self, admission: Admission, surface: Surface, place: Place
    ) -> tuple[int, ThreadKey, bool]:
        key = await self._start(surface, waiting=False)
        self.order.adopt(key, place)  # replies to this new thread queue behind it
        await self.threads.open(key, started_by=admission.request.user_id)
        return await self._write(admission, surface, key, TurnStatus.DRAWING), key, False

    async def _write(
        self, admission: Admission, surface: Surface, key: ThreadKey, status: TurnStatus
    ) -> int:
        return await self.ledger.begin(
            admission.request,
            thread=key,
            options=admission.options,
            status=status,
            message=surface.message_ref() if status is TurnStatus.DRAWING else {},
            inputs=surface.inputs_ref(),
        )

    async def _start(self, surface: Surface, *, waiting: bool) -> ThreadKey:
        """Post the placeholder, trying again for a few seconds while the platform is down."""
        for pause in (*self.start_pauses, None):
            try:
                return await surface.start(waiting=waiting)
            except errors.ChatUnavailable as exc:
                if pause is None:
                    raise
                log.info("placeholder not taken for now (%s); again in %.2fs", exc.detail, pause)
                await asyncio.sleep(pause)
        raise AssertionError("the last attempt raises")

    async def _final(
        self,
        turn_id: int,
        key: ThreadKey,
        admission: Admission,
        surface: Surface,
        place: Place,
        watch: Stopwatch,
        *,
        waiting: bool,
    ) -> tuple[FinalImage, str | None] | None:
        """The turn's final image and the response it continued; None when the turn ended
        without one (and said so)."""
        try:
            found = await self._plan(turn_id, key, admission, surface, place, waiting=waiting)
            return await Drawing(self.backend, self.safety).draw(
                key, admission.request, found, admission.options, surface, watch
            )
        except errors.StoreUnavailable as exc:
            # Nothing to write it down with: its lease settles it (interrupted, with Retry).
            log.warning("turn %d stopped without the database: %s", turn_id, exc.detail)
            await quietly(surface.fail(exc), "say the database is away")
        except errors.EaselError as exc:
            log.info("turn %d failed: %s (%s)", turn_id, exc.code, exc.detail or exc.user_message)
            await self.ledger.end(turn_id, status=TurnStatus.FAILED, error_code=exc.code)
            self._ended(key.platform, TurnStatus.FAILED, exc.code)
            await quietly(surface.fail(exc), "say the turn failed")
        except asyncio.CancelledError:
            await asyncio.shield(self.interrupt(turn_id, surface, platform=key.platform))
            raise
        except Exception:
            log.exception("turn %d crashed while drawing", turn_id)
            await self.ledger.end(turn_id, status=TurnStatus.FAILED, error_code=BUG)
            self._ended(key.platform, TurnStatus.FAILED, BUG)
            await quietly(surface.fail(errors.EaselError()), "say the turn failed")
        return None

    async def _plan(
        self,
        turn_id: int,
        key: ThreadKey,
        admission: Admission,
        surface: Surface,
        place: Place,
        *,
        waiting: bool,
    ) -> Plan:
        """The turn's place in its thread, waited for; then what it draws from."""
        if admission.request.is_reply:
            await place.wait_turn()  # the turns before it in this process
            await self.ledger.wait_turn(turn_id, key)  # and on every replica
            await self.ledger.move(turn_id, TurnStatus.DRAWING)
        if waiting:
            await quietly(surface.drawing(), "show that the turn is drawing")
        found = await plan(
            admission.request,
            await surface.attachments(),
            threads=self.threads,
            ledger=self.ledger,
            drawings=self.drawings,
            inputs=surface,
        )
        log.info("turn %d draws from %s", turn_id, found.described())
        return found

    async def interrupt(self, turn_id: int, surface: TurnMessage, *, platform: str) -> None:
        code = errors.Interrupted.code
        await self.ledger.end(turn_id, status=TurnStatus.INTERRUPTED, error_code=code)
        self._ended(platform, TurnStatus.INTERRUPTED, code)
        await quietly(surface.interrupted(turn_id), "say the turn was interrupted")

    def _ended(self, platform: str, status: TurnStatus, code: str) -> None:
        self.telemetry.turn_ended(platform=platform, status=status, code=code)


def bind(turn_id: int, key: ThreadKey) -> None:
    """Mark every later log line of this task with the turn it is about."""
    bind_turn(
        turn_id,
        platform=key.platform,
        workspace=key.workspace,
        thread=f"{key.channel}/{key.thread}",
    )
