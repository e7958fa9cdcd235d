"""One drawing turn, start to end: placeholder, stream with previews, outbox, delivery.

    placeholder -> stream -> previews -> outbox (delivering) -> file -> ledger (delivered)

Every step is written to the ledger. The thread's `previous_response_id` advances only after
the final image is delivered, so a failed turn leaves the thread where it was; the final
image is held in the outbox from the moment it exists until it is delivered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from bot import errors
from bot.logs import bind_turn
from bot.models import DrawRequest, FinalImage, ImageOptions, InputImage, ThreadKey
from bot.ports import Delivery, ImageBackend, Inputs, Ledger, Surface, Threads, TurnMessage
from bot.turns.delivery import deliver, quietly
from bot.turns.order import Place, ThreadOrder
from bot.turns.previews import PreviewEditor
from bot.turns.status import TurnStatus
from bot.workspace.admission import Admission
from bot.workspace.prices import PriceTable

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TurnRunner:
    """Runs turns with the parts every turn shares."""

    ledger: Ledger
    threads: Threads
    backend: ImageBackend
    order: ThreadOrder
    prices: PriceTable
    max_pause: float

    async def run(self, admission: Admission, surface: Surface, place: Place) -> None:
        """One turn. Expected failures end in surface.fail() with clear words."""
        request, options = admission.request, admission.options
        waiting = place.waiting
        try:
            key = await surface.start(waiting=waiting)
        except errors.EaselError as exc:
            log.warning("could not start a turn in %s: %s", request.channel, exc.detail)
            await surface.fail(exc)
            return
        finally:
            place.posted.set()
        if request.thread_key is None:
            self.order.adopt(key, place)  # replies to this new thread queue behind it
            await self.threads.open(key, started_by=request.user_id)
        status = TurnStatus.QUEUED if waiting else TurnStatus.DRAWING
        turn_id = await self.ledger.begin(
            request,
            thread=key,
            options=options,
            status=status,
            message=surface.message_ref(),
            inputs=surface.inputs_ref(),
        )
        bind(turn_id, key)
        log.info("turn %d %s in %s", turn_id, "queued" if waiting else "started", key)
        try:
            if waiting:
                await place.wait_turn()
                await self.ledger.move(turn_id, TurnStatus.DRAWING)
                await quietly(surface.drawing(), "show that the turn is drawing")
            images = await surface.attachments()
            final = await self._draw(key, request, images, options, surface)
        except errors.EaselError as exc:
            log.info("turn %d failed: %s (%s)", turn_id, exc.code, exc.detail or exc.user_message)
            await self.ledger.end(turn_id, status=TurnStatus.FAILED, error_code=exc.code)
            await surface.fail(exc)
            return
        except asyncio.CancelledError:
            await asyncio.shield(self.interrupt(turn_id, surface))
            raise
        await self.ledger.hold(turn_id, final)
        await self.deliver(turn_id, key, final, options, surface)

    async def deliver(
        self,
        turn_id: int,
        key: ThreadKey,
        final: FinalImage,
        options: ImageOptions,
        surface: Delivery,
    ) -> None:
        """Deliver a held image; on success the thread advances and the outbox empties."""
        try:
            file_ref = await deliver(surface, final, max_pause=self.max_pause)
        except errors.DeliveryFailed as exc:
            log.warning("turn %d cannot be delivered: %s", turn_id, exc.detail)
            await self.ledger.end(turn_id, status=TurnStatus.FAILED, error_code=exc.code)
            await quietly(surface.fail(exc), "tell the user the image cannot be delivered")
            return
        except asyncio.CancelledError:
            log.info("turn %d stays in the outbox; it is delivered at the next start", turn_id)
            await asyncio.shield(quietly(surface.delivering(), "say the image is on its way"))
            raise
        cost = self.prices.estimate(options, final)
        await self.ledger.complete(turn_id, key=key, final=final, file_ref=file_ref, cost_usd=cost)
        log.info("turn %d delivered %s as %s", turn_id, final.image_call_id, file_ref)

    async def interrupt(self, turn_id: int, surface: TurnMessage) -> None:
        await self.ledger.end(turn_id, status=TurnStatus.INTERRUPTED, error_code="interrupted")
        await quietly(surface.interrupted(turn_id), "say the turn was interrupted")

    async def _draw(
        self,
        key: ThreadKey,
        request: DrawRequest,
        images: Sequence[InputImage],
        options: ImageOptions,
        surface: Surface,
    ) -> FinalImage:
        prompt = request.prompt
        state = await self.threads.get(key) if request.is_reply else None
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
                images = (*await _last_image(surface, state.last_file_ref, key), *images)
                return await self._stream(editor, prompt, options, None, images)

    async def _stream(
        self,
        editor: PreviewEditor,
        prompt: str,
        options: ImageOptions,
        previous: str | None,
        images: Sequence[InputImage],
    ) -> FinalImage:
        async for item in self.backend.generate(
            prompt=prompt, options=options, previous_response_id=previous, images=images
        ):
            if isinstance(item, FinalImage):
                return item
            editor.offer(item)
        raise errors.GenerationFailed(detail="the backend ended without a final image")


async def _last_image(
    inputs: Inputs, file_ref: str | None, key: ThreadKey
) -> tuple[InputImage, ...]:
    """The thread's last image, to draw on when its context expired (none if it is gone)."""
    if file_ref is None:
        return ()
    try:
        return (await inputs.fetch_image(file_ref),)
    except errors.EaselError as exc:
        # Still draw: from the words alone, rather than not at all.
        log.warning("last image of %s is unavailable: %s", key, exc.detail)
        return ()


def bind(turn_id: int, key: ThreadKey) -> None:
    """Mark every later log line of this task with the turn it is about."""
    bind_turn(
        turn_id,
        platform=key.platform,
        workspace=key.workspace,
        thread=f"{key.channel}/{key.thread}",
    )
