"""The use case: drawing turns accepted, ordered per thread, owned, retried and recovered.

The service holds its parts: the admission desk (settings, quotas), the ledger and threads of
the store, each thread's order, and the runner of one turn (bot.turns.turn). Adapters build
requests and surfaces; each hands over its way back to a stored turn's message once, when it
is built (`reopen_with`), for retries and for what a restart finds unfinished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from bot import errors
from bot.models import DrawRequest
from bot.ports import ImageBackend, Reopen, Store, Surface, SurfaceFor, Telemetry
from bot.telemetry import NoTelemetry
from bot.turns.delivery import DEFAULT_MAX_PAUSE, Deliverer, quietly
from bot.turns.order import Place, ThreadOrder
from bot.turns.presses import Press, Presses, PressSurfaceFor
from bot.turns.recovery import Recovery
from bot.turns.safety import SafetyIds
from bot.turns.status import TurnStatus
from bot.turns.turn import START_PAUSES, TurnRunner
from bot.workspace.admission import Admission, AdmissionDesk
from bot.workspace.prices import PriceTable
from bot.workspace.workspaces import Workspaces

log = logging.getLogger(__name__)

NOT_RETRIABLE = {
    TurnStatus.QUEUED: "That drawing is already being drawn again.",
    TurnStatus.DRAWING: "That drawing is already being drawn again.",
    TurnStatus.DELIVERING: "That drawing is finished and on its way.",
    TurnStatus.DELIVERED: "That drawing was delivered; reply in its thread to change it.",
    TurnStatus.FAILED: "That drawing failed; ask again with /draw or a reply in its thread.",
}
ALREADY_RETRIED = "That drawing was already drawn again; its message shows how it went."


def is_retry(text: str | None) -> bool:
    """A reply that asks for its thread's interrupted drawing again."""
    return (text or "").strip().strip("!.").lower() == "retry"


class DrawService:
    """Owns every turn's task: keeps a reference, orders turns per thread, drains on close."""

    def __init__(
        self,
        *,
        store: Store,
        backend: ImageBackend,
        workspaces: Workspaces,
        prices: PriceTable,
        safety: SafetyIds,
        delivery_max_pause: float = DEFAULT_MAX_PAUSE,
        start_pauses: Sequence[float] = START_PAUSES,
        telemetry: Telemetry | None = None,
    ) -> None:
        telemetry = telemetry or NoTelemetry()
        self.admission = AdmissionDesk(
            workspaces=workspaces, threads=store.threads, admissions=store.admissions
        )
        self._claims = store.claims
        self._threads = store.threads
        self._ledger = store.ledger
        self._order = ThreadOrder()
        self._runner = TurnRunner(
            ledger=store.ledger,
            threads=store.threads,
            drawings=store.drawings,
            backend=backend,
            order=self._order,
            deliverer=Deliverer(
                ledger=store.ledger,
                prices=prices,
                max_pause=delivery_max_pause,
                telemetry=telemetry,
            ),
            safety=safety,
            start_pauses=start_pauses,
            telemetry=telemetry,
        )
        self._reopen: dict[str, Reopen] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.presses = self._presses(store, workspaces)
        self.recovery = self._recovery(store)

    def _presses(self, store: Store, workspaces: Workspaces) -> Presses:
        return Presses(
            ledger=store.ledger,
            drawings=store.drawings,
            claims=store.claims,
            desk=self.admission,
            workspaces=workspaces,
            reopen=self._reopen,
            submit=self.submit,
        )

    def _recovery(self, store: Store) -> Recovery:
        return Recovery(
            ledger=store.ledger,
            replicas=store.replicas,
            admissions=store.admissions,
            runner=self._runner,
            order=self._order,
            reopen=self._reopen,
            queue=self._queue,
        )

    def reopen_with(self, platform: str, reopen: Reopen) -> None:
        """How `platform`'s adapter finds a stored turn's message again (once, when built)."""
        self._reopen[platform] = reopen

    async def knows(self, request: DrawRequest) -> bool:
        """The request is a reply in a thread easel started (elsewhere easel stays quiet)."""
        key = request.thread_key
        return key is not None and await self._threads.is_easels(key)

    # -- intake -----------------------------------------------------------------------------

    async def draw(self, request: DrawRequest, surface_for: SurfaceFor) -> None:
        """Accept a request and queue its turn; BadInput (with words) when it is refused.

        A reply of just "retry" in a thread whose latest turn was interrupted retries it."""
        if await self._retried(request):
            return
        admission = await self.accept(request)
        if admission is not None:
            self.submit(admission, surface_for(admission.request))

    async def accept(self, request: DrawRequest) -> Admission | None:
        """Admit the request and claim its delivery: None when this delivery was seen before
        (a platform's retry, a replay, a second replica). BadInput says why it is refused."""
        admission = await self.admission.admit(request)
        key = request.dedupe_key
        try:
            claimed = key is None or await self._claims.claim(key)
        except BaseException:
            self._release_soon(admission)  # the database went away between the two
            raise
        if not claimed:
            await self.admission.release(admission)
            log.info("ignoring a repeated delivery %s", key)
            return None
        return admission

    def submit(self, admission: Admission, surface: Surface) -> asyncio.Task[None]:
        """Queue an accepted turn behind its thread's earlier turns, here, synchronously, so
        turns run in the order they were submitted; return its task at once."""
        place = self._order.take(admission.request.thread_key)
        task = self._queue(self._run(admission, surface, place), place)
        task.add_done_callback(lambda _: self._release_soon(admission))
        return task

    def _release_soon(self, admission: Admission) -> None:
        """The admission's place goes back (in a task of its own: a done callback cannot
        wait for the database)."""
        releasing = asyncio.create_task(self.release(admission), name="easel-release")
        self._tasks.add(releasing)
        releasing.add_done_callback(self._tasks.discard)

    async def release(self, admission: Admission) -> None:
        """Give back an accepted turn that will not be drawn (ended, or never submitted)."""
        try:
            await self.admission.release(admission)
        except Exception:
            # Its replica's sweep removes it a lease on: the limit counts it a little longer.
            log.warning("could not give back admission %d", admission.place, exc_info=True)

    async def retry(self, turn_id: int, *, platform: str, workspace: str, user_id: str) -> None:
        """Draw an interrupted turn again in its own message, asked by `user_id`."""
        turn = await self._ledger.get(turn_id)
        if turn is None or (turn.key.platform, turn.key.workspace) != (platform, workspace):
            raise errors.BadInput("easel cannot find that drawing any more.")
        if turn.status is not TurnStatus.INTERRUPTED:
            raise errors.BadInput(NOT_RETRIABLE.get(turn.status, "That cannot be retried."))
        admission = await self.accept(turn.retried_by(user_id))
        if admission is None:  # pressed again, or the platform sent the press twice
            raise errors.BadInput(ALREADY_RETRIED)
        log.info("turn %d retried by %s", turn_id, user_id)
        self.submit(admission, self._reopen[platform](turn, request=admission.request))

    async def press(self, press: Press, surface_for: PressSurfaceFor) -> None:
        """A button pressed on a finished drawing (bot.turns.presses); BadInput says why it
        is refused, in words for the presser alone."""
        await self.presses.press(press, surface_for)

    async def _retried(self, request: DrawRequest) -> bool:
        key = request.thread_key
        if key is None or request.attachment_count or not is_retry(request.prompt):
            return False
        turn = await self._ledger.last_interrupted(key)
        if turn is None:
            return False
        await self.retry(
            turn.id,
            platform=request.platform,
            workspace=request.workspace,
            user_id=request.user_id,
        )
        return True

    async def _run(self, admission: Admission, surface: Surface, place: Place) -> None:
        await place.wait_posted_before()  # placeholders appear in arrival order too
        try:
            await self._runner.run(admission, surface, place)
        except Exception:
            # The outermost handler of a background turn: nothing above it would see this.
            log.exception("drawing turn crashed")
            await quietly(surface.fail(errors.EaselError()), "tell the user the turn failed")

    # -- after a restart, and while other replicas come and go -------------------------------

    async def recover(self) -> None:
        """Settle what no live replica runs (at start: what the last run left), then keep
        this replica's lease and look again every third of it."""
        await self.recovery.sweep()
        self.recovery.start()

    # -- ownership ---------------------------------------------------------------------------

    def _queue(self, work: Coroutine[Any, Any, None], place: Place) -> asyncio.Task[None]:
        """Run `work` as a task this service owns; its place in the thread ends with it."""
        task = asyncio.create_task(work, name="easel-turn")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._order.leave(place))
        return task

    @property
    def idle(self) -> bool:
        return not self._tasks

    async def join(self) -> None:
        """Wait until no turn is running or queued."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def aclose(self, *, grace: float) -> None:
        """Stop taking turns, give running ones `grace` seconds, then interrupt the rest
        (a turn already delivering stays in the outbox: another replica, or the next start,
        delivers it)."""
        self.admission.close()
        pending = set(self._tasks)
        if pending:
            log.info("waiting up to %.0fs for %d drawing(s)", grace, len(pending))
            _, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still)
        await self.recovery.stop()
