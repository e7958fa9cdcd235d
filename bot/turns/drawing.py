"""A turn's drawing: the image service's stream, its previews shown as they come, and the
final image; when OpenAI no longer has the thread's context, drawn again on its last image."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace

from bot import errors
from bot.images import light_preview
from bot.models import DrawRequest, FinalImage, ImageOptions, InputImage, Preview, ThreadKey
from bot.ports import ImageBackend, Inputs, Surface
from bot.telemetry import Stopwatch
from bot.turns.inputs import Plan
from bot.turns.previews import PreviewEditor
from bot.turns.safety import SafetyIds

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Drawing:
    """Draws a turn's plan with the image service, showing its previews on the surface."""

    backend: ImageBackend
    safety: SafetyIds

    async def draw(
        self,
        key: ThreadKey,
        request: DrawRequest,
        found: Plan,
        options: ImageOptions,
        surface: Surface,
        watch: Stopwatch,
    ) -> tuple[FinalImage, str | None]:
        fmt = surface.preview_format
        async with PreviewEditor(
            show=_timed(surface.preview, watch),
            min_interval=surface.preview_interval,
            prepare=lambda preview: light_preview(preview, fmt=fmt),
            claim=surface.claim_preview,
        ) as editor:
            try:
                return await self._stream(editor, request, options, found, watch), found.previous
            except errors.ContextExpired:
                if found.previous is None:
                    raise
                log.info("context of %s expired; drawing on without it", key)
                last = await _last_image(surface, found.last_file, key)
                again = replace(found, previous=None, images=(*last, *found.images))
                return await self._stream(editor, request, options, again, watch), None

    async def _stream(
        self,
        editor: PreviewEditor,
        request: DrawRequest,
        options: ImageOptions,
        found: Plan,
        watch: Stopwatch,
    ) -> FinalImage:
        who = self.safety.of(
            platform=request.platform, workspace=request.workspace, user_id=request.user_id
        )
        asked = time.monotonic()
        async for item in self.backend.generate(
            prompt=found.prompt,
            options=options,
            previous_response_id=found.previous,
            images=found.images,
            safety_identifier=who,
            mask=found.mask,
            wanted=editor.wants,
        ):
            if isinstance(item, FinalImage):
                watch.final(asked=asked)
                return item
            editor.offer(item)
        raise errors.GenerationFailed(detail="the backend ended without a final image")


def _timed(
    show: Callable[[Preview], Awaitable[None]], watch: Stopwatch
) -> Callable[[Preview], Awaitable[None]]:
    """`show`, and the turn's first preview timed once it is shown."""

    async def shown(preview: Preview) -> None:
        await show(preview)
        watch.preview_shown()

    return shown


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
