"""ImageBackend over the official `openai` SDK: one streamed Responses call per turn.

The call is `responses.create(stream=True)` through the SDK (auth, retries, HTTP errors),
read with `with_streaming_response` so that easel owns each event's lifetime: every image
arrives as a 2-4 MB base64 string, which is decoded once and let go at once. (The SDK's typed
stream keeps the last event, its JSON and its SSE text alive in its generator until the next
event arrives, seconds later: ~11 MB per drawing in flight, over 1 GB at 100 drawings.)
Events map to the core's own values (Preview, FinalImage) in bot.openai.events and every
failure to a bot.errors type in bot.openai.errors.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import aclosing
from dataclasses import replace
from typing import Any

import aiohttp
import httpx2
import openai
import pybase64

from bot import errors
from bot.models import FinalImage, ImageOptions, InputImage, Preview
from bot.openai.errors import UNREADABLE_ANSWER, counted_code, map_api_error, map_transport_error
from bot.openai.events import events, translate
from bot.ports import Telemetry
from bot.telemetry import NoTelemetry

log = logging.getLogger(__name__)


class OpenAIImageBackend:
    """Implements bot.ports.ImageBackend. The client is built and owned by the entry point."""

    def __init__(self, *, client: openai.AsyncOpenAI, telemetry: Telemetry | None = None) -> None:
        self._telemetry = telemetry or NoTelemetry()
        # The SDK builds its Responses resource (and its pydantic models, ~0.1 s) on first
        # use: here, at start, rather than inside the first drawing of a burst.
        self._responses = client.responses

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
        body = build_request(
            prompt=prompt,
            options=options,
            previous_response_id=previous_response_id,
            images=images,
            safety_identifier=safety_identifier,
            mask=mask,
        )
        items = self._stream(body, options, wanted)
        async with aclosing(items):
            try:
                async for item in items:
                    if isinstance(item, FinalImage):  # the images it read, for its price
                        item = replace(item, input_images=len(images))
                    yield item
                    del item
            except errors.EaselError as exc:  # counted once, here, whichever way it came
                self._telemetry.openai_error(code=counted_code(exc))
                raise

    async def _stream(
        self, body: dict[str, Any], options: ImageOptions, wanted: Callable[[], bool] | None
    ) -> AsyncGenerator[Preview | FinalImage, None]:
        create = self._responses.with_streaming_response.create
        final: FinalImage | None = None
        try:
            # The body goes as it is (extra_body): the SDK's own parameters would be walked by
            # its TypedDict transform first, ~4 ms of event-loop time per drawing for JSON
            # that is plain already (a tenth of a burst's start-up).
            async with create(stream=True, extra_body=body) as response:
                items = translate(events(response.iter_bytes(), wanted=wanted), options)
                async with aclosing(items):
                    async for item in items:
                        if isinstance(item, FinalImage):
                            final = item
                            break
                        yield item
                        del item  # a preview is let go as soon as it has been shown
        except openai.APIError as exc:  # the request: the SDK wraps what its transport raised
            raise map_api_error(exc) from exc
        except (httpx2.TransportError, aiohttp.ClientError) as exc:  # the stream, read raw
            raise map_transport_error(exc, answered=True) from exc
        except httpx2.HTTPError as exc:  # a body that could not be decoded
            raise errors.GenerationFailed(UNREADABLE_ANSWER, detail=f"stream: {exc!r}") from exc
        if final is None:
            raise errors.GenerationFailed(detail="the stream ended without an image")
        yield final  # delivered after the stream is closed and its connection released


def _data_url(image: InputImage) -> str:
    return f"data:{image.mime_type};base64,{pybase64.b64encode_as_string(image.data)}"


def build_request(
    *,
    prompt: str,
    options: ImageOptions,
    previous_response_id: str | None,
    images: Sequence[InputImage],
    safety_identifier: str | None = None,
    mask: InputImage | None = None,
) -> dict[str, Any]:
    """The `POST /responses` body (without `stream`), as the OpenAPI spec shapes it."""
    tool: dict[str, Any] = {
        "type": "image_generation",
        "model": options.image_model,
        "size": options.size,
        "quality": options.quality,
        "output_format": options.output_format,
        "background": options.background,
        "moderation": options.moderation,
        "partial_images": options.partial_images,
    }
    if options.compression is not None and options.output_format in ("jpeg", "webp"):
        tool["output_compression"] = options.compression
    if options.input_fidelity is not None:
        tool["input_fidelity"] = options.input_fidelity
    if mask is not None:  # its transparent pixels mark the region of the first image to change
        tool["input_image_mask"] = {"image_url": _data_url(mask)}
    content: list[dict[str, Any]] = [{"type": "input_text", "text": prompt}]
    for image in images:
        content.append({"type": "input_image", "image_url": _data_url(image), "detail": "auto"})
    body: dict[str, Any] = {
        "model": options.model,
        "input": [{"role": "user", "content": content}],
        "tools": [tool],
        "tool_choice": {"type": "image_generation"},
    }
    if previous_response_id is not None:
        body["previous_response_id"] = previous_response_id
    if safety_identifier is not None:
        body["safety_identifier"] = safety_identifier
    return body
