"""The use case: one drawing turn, turns in a thread in arrival order, and task ownership.

    admit (settings, quotas) -> placeholder -> stream -> previews -> outbox -> file -> store

Every step is written to the turn ledger (bot.ledger). The thread's `previous_response_id`
advances only after the final image is delivered, so a failed turn leaves the thread where it
was; the final image is held in the outbox from the moment it exists until it is delivered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot import errors
from bot.admission import Admission, AdmissionDesk, clean_prompt
from bot.clock import Clock
from bot.delivery import DEFAULT_MAX_PAUSE, deliver, quietly
from bot.logs import bind_turn
from bot.models import DrawRequest, FinalImage, ImageOptions, InputImage, StoredTurn, ThreadKey
from bot.ports import ImageBackend, Reopen, Store, Surface
from bot.previews import PreviewEditor
from bot.prices import PriceTable

log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Slot:
    """A submitted turn's place in its thread: later turns post after it and draw after it."""

    posted: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()


class DrawService(AdmissionDesk):
    """Owns every turn's task: keeps a reference, orders turns per thread, drains on close."""

    def __init__(
        self,
        *,
        store: Store,
        backend: ImageBackend,
        defaults: ImageOptions,
        prices: PriceTable | None = None,
        clock: Clock | None = None,
        delivery_max_pause: float = DEFAULT_MAX_PAUSE,
    ) -> None:
        super().__init__(store=store, defaults=defaults, prices=prices, clock=clock)
        self._backend = backend
        self._max_pause = delivery_max_pause
        self._tasks: set[asyncio.Task[None]] = set()
        self._tails: dict[ThreadKey, _Slot] = {}

    async def draw(self, request: DrawRequest, surface: Surface) -> asyncio.Task[None]:
        """Admit the request and start its turn. Raises BadInput for one not to be drawn."""
        return self.submit(await self.admit(request), surface)

    def submit(self, admission: Admission, surface: Surface) -> asyncio.Task[None]:
        """Schedule an admitted turn and return at once.

        The turn is queued behind the thread's earlier turns synchronously, here, so turns
        run in the order they were submitted.
        """
        key = admission.request.thread_key
        before = self._tails.get(key) if key is not None else None
        slot = _Slot()
        task = self._spawn(self._run(admission, surface, slot, before), slot)
        task.add_done_callback(lambda _: self.release(admission))
        if key is not None:
            self._follow(key, slot)
        return task

    def _spawn(self, work: Coroutine[Any, Any, None], slot: _Slot) -> asyncio.Task[None]:
        task = asyncio.create_task(work, name="easel-turn")
        slot.task = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: slot.posted.set())
        return task

    def _follow(self, key: ThreadKey, slot: _Slot) -> None:
        self._tails[key] = slot

        def forget(_: asyncio.Task[None]) -> None:
            if self._tails.get(key) is slot:
                del self._tails[key]

        assert slot.task is not None
        slot.task.add_done_callback(forget)

    async def _run(
        self, admission: Admission, surface: Surface, slot: _Slot, before: _Slot | None
    ) -> None:
        request = admission.request
        if request.dedupe_key is not None and not await self._store.claim_delivery(
            request.dedupe_key
        ):
            log.info("ignoring a repeated delivery %s", request.dedupe_key)
            return
        if before is not None:
            await before.posted.wait()  # placeholders appear in arrival order too
        try:
            await self.run_turn(admission, surface, slot=slot, before=before)
        except Exception:
            # The outermost handler of a background turn: nothing above it would see this.
            log.exception("drawing turn crashed")
            await quietly(surface.fail(errors.EaselError()), "tell the user the turn failed")

    async def run_turn(
        self,
        admission: Admission,
        surface: Surface,
        *,
        slot: _Slot | None = None,
        before: _Slot | None = None,
    ) -> None:
        """One turn, start to end. Expected failures end in surface.fail() with clear words."""
        request, options = admission.request, admission.options
        prompt = clean_prompt(request.prompt)
        waiting = before is not None and before.running
        try:
            key = await surface.start(waiting=waiting)
        except errors.EaselError as exc:
            log.warning("could not start a turn in %s: %s", request.channel, exc.detail)
            await surface.fail(exc)
            return
        finally:
            if slot is not None:
                slot.posted.set()
        if request.thread_key is None:
            if slot is not None and key not in self._tails:
                self._follow(key, slot)  # replies to this new thread queue behind it
            await self._store.open_thread(key, started_by=request.user_id)
        turn_id = await self._store.begin_turn(
            replace(request, prompt=prompt),  # stored as it is sent
            thread=key,
            options=options,
            status="queued" if waiting else "drawing",
            message=surface.message_ref(),
            inputs=surface.inputs_ref(),
        )
        _bind(turn_id, key)
        log.info("turn %d %s in %s", turn_id, "queued" if waiting else "started", key)
        try:
            if waiting and before is not None and before.task is not None:
                await asyncio.wait([before.task])
                await self._store.set_status(turn_id, "drawing")
                await quietly(surface.drawing(), "show that the turn is drawing")
            images = await surface.attachments()
            final = await self._draw(key, prompt, images, options, surface, request.is_reply)
        except errors.EaselError as exc:
            log.info("turn %d failed: %s (%s)", turn_id, exc.code, exc.detail or exc.user_message)
            await self._store.end_turn(turn_id, status="failed", error_code=exc.code)
            await surface.fail(exc)
            return
        except asyncio.CancelledError:
            await asyncio.shield(self._interrupt(turn_id, surface))
            raise
        await self._store.hold(turn_id, final)
        await self._deliver(turn_id, key, final, options, surface)

    async def _deliver(
        self,
        turn_id: int,
        key: ThreadKey,
        final: FinalImage,
        options: ImageOptions,
        surface: Surface,
    ) -> None:
        """Deliver a held image; on success the thread advances and the outbox empties."""
        try:
            file_ref = await deliver(surface, final, max_pause=self._max_pause)
        except errors.DeliveryFailed as exc:
            log.warning("turn %d cannot be delivered: %s", turn_id, exc.detail)
            await self._store.end_turn(turn_id, status="failed", error_code=exc.code)
            await quietly(surface.fail(exc), "tell the user the image cannot be delivered")
            return
        except asyncio.CancelledError:
            log.info("turn %d stays in the outbox; it is delivered at the next start", turn_id)
            await asyncio.shield(quietly(surface.delivering(), "say the image is on its way"))
            raise
        cost = self.quotas.prices.estimate(options, final)
        await self._store.complete_turn(
            turn_id, key=key, final=final, file_ref=file_ref, cost_usd=cost
        )
        log.info("turn %d delivered %s as %s", turn_id, final.image_call_id, file_ref)

    async def _interrupt(self, turn_id: int, surface: Surface) -> None:
        await self._store.end_turn(turn_id, status="interrupted", error_code="interrupted")
        await quietly(surface.interrupted(turn_id), "say the turn was interrupted")

    async def _draw(
        self,
        key: ThreadKey,
        prompt: str,
        images: Sequence[InputImage],
        options: ImageOptions,
        surface: Surface,
        is_reply: bool,
    ) -> FinalImage:
        state = await self._store.get_thread(key) if is_reply else None
        previous = state.last_response_id if state else None
        async with PreviewEditor(
            show=surface.preview, min_interval=surface.preview_interval
        ) as editor:
            try:
                return await self._stream(editor, prompt, options, previous, images)
            except errors.ContextExpired:
                if state is None:
                    raise
                log.info("context of %s expired; continuing from its last image", key)
                if state.last_file_ref is not None:
                    try:
                        images = (await surface.fetch_image(state.last_file_ref), *images)
                    except errors.EaselError as exc:
                        # Still draw: from the words alone, rather than not at all.
                        log.warning("last image of %s is unavailable: %s", key, exc.detail)
                return await self._stream(editor, prompt, options, None, images)

    async def _stream(
        self,
        editor: PreviewEditor,
        prompt: str,
        options: ImageOptions,
        previous: str | None,
        images: Sequence[InputImage],
    ) -> FinalImage:
        async for item in self._backend.generate(
            prompt=prompt, options=options, previous_response_id=previous, images=images
        ):
            if isinstance(item, FinalImage):
                return item
            editor.offer(item)
        raise errors.GenerationFailed(detail="the backend ended without a final image")

    # -- after a restart, and retries -------------------------------------------------------

    async def recover(self, reopen: Mapping[str, Reopen]) -> None:
        """Settle what the last run left unfinished, oldest first: a turn that was queued or
        drawing is marked interrupted (its message says so, with Retry); a turn that was
        delivering is delivered from the outbox, ahead of any new turn in its thread."""
        for turn in await self._store.unfinished_turns():
            open_surface = reopen.get(turn.key.platform)
            if open_surface is None:
                log.warning(
                    "turn %d is unfinished on %s, which is not configured now",
                    turn.id,
                    turn.key.platform,
                )
                continue
            surface = open_surface(turn)
            final = await self._store.held(turn.id) if turn.status == "delivering" else None
            if final is None:
                # In a task of its own, so that its log lines (and only they) carry the turn.
                await asyncio.create_task(self._interrupt_stored(turn, surface))
                continue
            slot = _Slot()
            self._spawn(self._redeliver(turn, final, surface), slot)
            self._follow(turn.key, slot)

    async def _interrupt_stored(self, turn: StoredTurn, surface: Surface) -> None:
        _bind(turn.id, turn.key)
        log.info("turn %d was %s when easel stopped: interrupted", turn.id, turn.status)
        await self._interrupt(turn.id, surface)

    async def _redeliver(self, turn: StoredTurn, final: FinalImage, surface: Surface) -> None:
        _bind(turn.id, turn.key)
        log.info("turn %d: delivering its finished image from the outbox", turn.id)
        try:
            await self._deliver(turn.id, turn.key, final, turn.options, surface)
        except Exception:
            # The outermost handler of this task; the image stays in the outbox.
            log.exception("delivering turn %d from the outbox crashed", turn.id)

    # -- ownership ---------------------------------------------------------------------------

    @property
    def idle(self) -> bool:
        return not self._tasks

    async def join(self) -> None:
        """Wait until no turn is running or queued."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))

    async def aclose(self, *, grace: float) -> None:
        """Stop taking turns, give running ones `grace` seconds, then interrupt the rest
        (a turn already delivering stays in the outbox for the next start)."""
        self._closing = True
        pending = set(self._tasks)
        if pending:
            log.info("waiting up to %.0fs for %d drawing(s)", grace, len(pending))
            _, still = await asyncio.wait(pending, timeout=grace)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still)


def _bind(turn_id: int, key: ThreadKey) -> None:
    """Mark every later log line of this task with the turn it is about."""
    bind_turn(
        turn_id,
        platform=key.platform,
        workspace=key.workspace,
        thread=f"{key.channel}/{key.thread}",
    )
