"""ImageBackend that draws locally with Pillow: no network, no API key, clearly labelled.

It lets a newcomer run easel end to end without an OpenAI account. Every picture is derived
from the prompt alone (its SHA-256 picks the colours, the shapes and where they go), so the
same prompt always gives the same bytes and different prompts give visibly different
pictures. The prompt's words are written into the picture and an "offline preview" badge sits
in its top-left corner, so nobody mistakes it for the image model's work.

The stream looks like the real one: `partial_images` previews that sharpen from a heavy blur,
then one final image, each after `frame_delay` seconds. A reply continues from the thread's
last picture: finals are remembered by response id (a bounded LRU of encoded bytes), and an
id that is not remembered, after a restart for instance, raises ContextExpired so the service
retries with the last image as an input image, as it does for the OpenAI backend.

All Pillow work runs in worker threads (`asyncio.to_thread`), never on the event loop.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Sequence

from bot import errors
from bot.models import FinalImage, ImageOptions, InputImage, Preview
from bot.offline.art import draw, encode, preview_bytes
from bot.offline.spec import LABEL, Spec


class OfflineImageBackend:
    """Implements bot.ports.ImageBackend with Pillow only.

    `frame_delay` is the pause before each streamed frame (previews and the final), so the
    defaults take about two seconds; tests pass 0. `max_remembered` bounds how many finals
    are kept, as encoded bytes, for replies to continue from.
    """

    def __init__(self, *, frame_delay: float = 0.6, max_remembered: int = 256) -> None:
        if frame_delay < 0:
            raise ValueError("frame_delay must not be negative")
        if max_remembered < 0:
            raise ValueError("max_remembered must not be negative")
        self._frame_delay = frame_delay
        self._max_remembered = max_remembered
        self._remembered: OrderedDict[str, bytes] = OrderedDict()

    async def generate(
        self,
        *,
        prompt: str,
        options: ImageOptions,
        previous_response_id: str | None,
        images: Sequence[InputImage],
        safety_identifier: str | None = None,
        mask: InputImage | None = None,
        wanted: Callable[[], bool] | None = None,
    ) -> AsyncIterator[Preview | FinalImage]:
        spec = Spec.from_options(options)
        start: bytes | None = None
        if previous_response_id is not None:
            start = self._recall(previous_response_id)
            if start is None:
                raise errors.ContextExpired(
                    detail=f"offline backend does not remember {previous_response_id}"
                )
        elif images:
            start = images[0].data
        total = max(0, options.partial_images)
        region = mask.data if mask is not None else None
        picture = await asyncio.to_thread(draw, prompt, spec, start, region)
        for index in range(total):
            await asyncio.sleep(self._frame_delay)
            if wanted is not None and not wanted():
                continue  # nobody could see it now: not even rendered
            data = await asyncio.to_thread(preview_bytes, picture, spec, (index + 1) / (total + 1))
            yield Preview(index=index, total=total, data=data, output_format=spec.output_format)
        await asyncio.sleep(self._frame_delay)
        data = await asyncio.to_thread(encode, picture.image, spec)
        response_id = f"offline_{uuid.uuid4().hex}"
        self._remember(response_id, data)
        yield FinalImage(
            data=data,
            output_format=spec.output_format,
            response_id=response_id,
            image_call_id=f"offline_ig_{uuid.uuid4().hex}",
            revised_prompt=f"{LABEL}: {prompt}",
            usage=None,
        )

    def _recall(self, response_id: str) -> bytes | None:
        data = self._remembered.get(response_id)
        if data is not None:
            self._remembered.move_to_end(response_id)
        return data

    def _remember(self, response_id: str, data: bytes) -> None:
        if self._max_remembered == 0:
            return
        self._remembered[response_id] = data
        self._remembered.move_to_end(response_id)
        while len(self._remembered) > self._max_remembered:
            self._remembered.popitem(last=False)


# --- options -------------------------------------------------------------------------------
