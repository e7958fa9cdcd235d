"""ImageBackend over the official `openai` SDK: one streamed Responses call per turn.

The SDK's typed stream events are mapped to the core's own values at once (Preview,
FinalImage) and every failure to a bot.errors type. The final image is taken from the
`image_generation_call` output item's `result`, never from the `...completed` event.
"""

from __future__ import annotations

import asyncio
import binascii
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Any

import openai
import pybase64
from openai._models import construct_type
from openai.types.responses import (
    ResponseCompletedEvent,
    ResponseCreatedEvent,
    ResponseErrorEvent,
    ResponseFailedEvent,
    ResponseImageGenCallPartialImageEvent,
    ResponseIncompleteEvent,
    ResponseOutputItemDoneEvent,
    ResponseStreamEvent,
)

from bot import errors
from bot.models import FinalImage, ImageOptions, InputImage, Preview

log = logging.getLogger(__name__)


class OpenAIImageBackend:
    """Implements bot.ports.ImageBackend. The client is built and owned by the entry point."""

    def __init__(self, *, client: openai.AsyncOpenAI) -> None:
        self._client = client

    async def warm_up(self) -> None:
        """Build the SDK's stream-event models now, in a worker thread, not in the first turn.

        The SDK builds each pydantic model's validator the first time it sees one: about
        1.5 s of CPU for the Responses stream events, which would otherwise stall the event
        loop (and every other drawing) in the middle of the first drawing after start-up.
        """
        await asyncio.to_thread(_build_event_models)

    async def generate(
        self,
        *,
        prompt: str,
        options: ImageOptions,
        previous_response_id: str | None,
        images: Sequence[InputImage],
    ) -> AsyncIterator[Preview | FinalImage]:
        body = build_request(
            prompt=prompt,
            options=options,
            previous_response_id=previous_response_id,
            images=images,
        )
        try:
            stream = await self._client.responses.create(**body, stream=True)
            async with stream:
                async for item in _translate(stream, options):
                    yield item
        except openai.APIError as exc:
            raise map_api_error(exc) from exc


def build_request(
    *,
    prompt: str,
    options: ImageOptions,
    previous_response_id: str | None,
    images: Sequence[InputImage],
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
    content: list[dict[str, Any]] = [{"type": "input_text", "text": prompt}]
    for image in images:
        encoded = pybase64.b64encode_as_string(image.data)
        content.append(
            {
                "type": "input_image",
                "image_url": f"data:{image.mime_type};base64,{encoded}",
                "detail": "auto",
            }
        )
    body: dict[str, Any] = {
        "model": options.model,
        "input": [{"role": "user", "content": content}],
        "tools": [tool],
        "tool_choice": {"type": "image_generation"},
    }
    if previous_response_id is not None:
        body["previous_response_id"] = previous_response_id
    return body


async def _translate(
    stream: AsyncIterator[Any], options: ImageOptions
) -> AsyncIterator[Preview | FinalImage]:
    response_id: str | None = None
    final: dict[str, Any] | None = None
    async for event in stream:
        if isinstance(event, ResponseCreatedEvent):
            response_id = event.response.id
        elif isinstance(event, ResponseImageGenCallPartialImageEvent):
            if final is not None:
                continue  # the final may overtake the partials; it wins
            yield Preview(
                index=event.partial_image_index,
                total=options.partial_images,
                data=_decode(event.partial_image_b64),
                output_format=event.output_format or options.output_format,
            )
        elif isinstance(event, ResponseOutputItemDoneEvent):
            item = event.item
            if item.type == "image_generation_call":
                if item.status == "failed" or not item.result:
                    raise errors.GenerationFailed(detail=f"image call {item.id} {item.status}")
                final = {
                    "data": _decode(item.result),
                    "image_call_id": item.id,
                    "revised_prompt": getattr(item, "revised_prompt", None),
                    "output_format": getattr(item, "output_format", None) or options.output_format,
                }
        elif isinstance(event, ResponseCompletedEvent):
            response_id = event.response.id
            usage = event.response.usage.model_dump() if event.response.usage else None
            break
        elif isinstance(event, ResponseFailedEvent):
            error = event.response.error
            raise map_code(
                error.code if error else None, error.message if error else "response.failed"
            )
        elif isinstance(event, ResponseIncompleteEvent):
            details = event.response.incomplete_details
            raise errors.GenerationFailed(detail=f"incomplete: {details}")
        elif isinstance(event, ResponseErrorEvent):
            raise map_code(event.code, event.message)
    else:
        usage = None
    if final is None or response_id is None:
        raise errors.GenerationFailed(detail="the stream ended without an image")
    yield FinalImage(response_id=response_id, usage=usage, **final)


_SAMPLE_ITEM = {"type": "image_generation_call", "id": "ig_0", "status": "completed"}
_SAMPLE_RESPONSE = {
    "id": "resp_0",
    "object": "response",
    "created_at": 0,
    "status": "completed",
    "model": "m",
    "output": [{**_SAMPLE_ITEM, "result": "", "revised_prompt": ""}],
    "parallel_tool_calls": True,
    "tool_choice": {"type": "image_generation"},
    "tools": [{"type": "image_generation"}],
    "usage": {
        "input_tokens": 0,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": 0,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": 0,
    },
}
_WHERE = {"output_index": 0, "item_id": "ig_0", "sequence_number": 0}
_SAMPLE_EVENTS: list[dict[str, Any]] = [
    {"type": "response.created", "response": _SAMPLE_RESPONSE, "sequence_number": 0},
    {"type": "response.in_progress", "response": _SAMPLE_RESPONSE, "sequence_number": 0},
    {"type": "response.output_item.added", "item": _SAMPLE_ITEM, **_WHERE},
    {"type": "response.image_generation_call.in_progress", **_WHERE},
    {"type": "response.image_generation_call.generating", **_WHERE},
    {"type": "response.image_generation_call.partial_image", "partial_image_index": 0, **_WHERE},
    {"type": "response.image_generation_call.completed", **_WHERE},
    {"type": "response.output_item.done", "item": _SAMPLE_ITEM, **_WHERE},
    {"type": "response.completed", "response": _SAMPLE_RESPONSE, "sequence_number": 0},
    {"type": "response.failed", "response": _SAMPLE_RESPONSE, "sequence_number": 0},
    {"type": "error", "code": "x", "message": "x", "param": None, "sequence_number": 0},
]


def _build_event_models() -> None:
    for event in _SAMPLE_EVENTS:  # as the SDK's stream does with each event it receives
        construct_type(type_=ResponseStreamEvent, value=event)


def _decode(b64: str) -> bytes:
    """An image from the stream: strict base64, decoded once (SIMD; 20x the stdlib's speed)."""
    try:
        return pybase64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.GenerationFailed(detail=f"undecodable image in the stream: {exc}") from exc


def map_api_error(exc: openai.APIError) -> errors.EaselError:
    """Map an SDK exception (HTTP error, timeout, or a stream error the SDK raised)."""
    if isinstance(exc, openai.APITimeoutError):
        return errors.ServiceTimeout(detail=str(exc))
    if isinstance(exc, openai.APIConnectionError):
        return errors.ServiceBusy(
            "easel could not reach the image service. Please try again in a minute.",
            detail=str(exc),
        )
    status = getattr(exc, "status_code", None)
    mapped = map_code(exc.code, exc.message, status=status)
    return mapped


_OWNER = "Please tell whoever runs easel."


def map_code(code: str | None, message: str, *, status: int | None = None) -> errors.EaselError:
    """Map an API error code (and HTTP status, when there is one) to words a person can use."""
    detail = f"{status or '-'} {code or '-'}: {message}"
    if code == "moderation_blocked":
        return errors.ModerationBlocked(detail=detail)
    if code == "previous_response_not_found":
        return errors.ContextExpired(detail=detail)
    if code == "insufficient_quota":
        return errors.GenerationFailed(
            f"easel's OpenAI account has run out of credit. {_OWNER}", detail=detail
        )
    if code in ("image_too_large", "request_too_large", "file_too_large") or status == 413:
        return errors.ImageTooLarge(detail=detail)
    if code in ("invalid_image", "invalid_image_format", "image_parse_error"):
        return errors.BadInput(
            "The image service could not read one of the images. Try a PNG or JPEG.",
            detail=detail,
        )
    if code in ("rate_limit_exceeded", "server_error", "server_overloaded") or status == 429:
        return errors.ServiceBusy(detail=detail)
    if status is not None and status >= 500:
        return errors.ServiceBusy(detail=detail)
    if status in (401, 403):
        return errors.GenerationFailed(
            f"The image service refused easel's API key. {_OWNER}", detail=detail
        )
    return errors.GenerationFailed(detail=detail)
