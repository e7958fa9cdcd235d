"""ImageBackend over the official `openai` SDK: one streamed Responses call per turn.

The call is `responses.create(stream=True)` through the SDK (auth, retries, HTTP errors),
read with `with_streaming_response` so that easel owns each event's lifetime: every image
arrives as a 2-4 MB base64 string, which is decoded once and let go at once. (The SDK's typed
stream keeps the last event, its JSON and its SSE text alive in its generator until the next
event arrives, seconds later: ~11 MB per drawing in flight, over 1 GB at 100 drawings.)
Events map to the core's own values (Preview, FinalImage) and every failure to a bot.errors
type. The final image is the `image_generation_call` output item's `result`; the copy the
`response.completed` event repeats is dropped unread.
"""

from __future__ import annotations

import binascii
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import aclosing
from typing import Any

import httpx2
import openai
import pybase64

from bot import errors
from bot.models import FinalImage, ImageOptions, InputImage, Preview
from bot.sse import FastSSEDecoder

log = logging.getLogger(__name__)


class OpenAIImageBackend:
    """Implements bot.ports.ImageBackend. The client is built and owned by the entry point."""

    def __init__(self, *, client: openai.AsyncOpenAI) -> None:
        self._client = client

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
        create = self._client.responses.with_streaming_response.create
        final: FinalImage | None = None
        try:
            async with create(**body, stream=True) as response:
                items = _translate(_events(response.iter_bytes()), options)
                async with aclosing(items):
                    async for item in items:
                        if isinstance(item, FinalImage):
                            final = item
                            break
                        yield item
                        del item  # a preview is let go as soon as it has been shown
        except openai.APIError as exc:
            raise map_api_error(exc) from exc
        except httpx2.TimeoutException as exc:
            raise errors.ServiceTimeout(detail=f"stream: {exc!r}") from exc
        except httpx2.TransportError as exc:
            raise errors.ServiceBusy(_UNREACHABLE, detail=f"stream: {exc!r}") from exc
        if final is None:
            raise errors.GenerationFailed(detail="the stream ended without an image")
        yield final  # delivered after the stream is closed and its connection released


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


async def _events(chunks: AsyncIterator[bytes]) -> AsyncIterator[dict[str, Any]]:
    """Each event's JSON, parsed straight from its SSE text, which is then let go."""
    async for sse in FastSSEDecoder().aiter_bytes(chunks):
        if sse.data.startswith("[DONE]"):
            return
        try:
            event = json.loads(sse.data)
        except ValueError as exc:
            raise errors.GenerationFailed(detail=f"unreadable stream event: {exc}") from exc
        del sse
        if not isinstance(event, dict):
            raise errors.GenerationFailed(detail=f"unexpected stream event: {event!r:.200}")
        yield event


async def _translate(
    events: AsyncIterator[dict[str, Any]], options: ImageOptions
) -> AsyncGenerator[Preview | FinalImage]:
    response_id: str | None = None
    final: dict[str, Any] | None = None
    usage: dict[str, Any] | None = None
    async for event in events:
        kind = event.get("type")
        if kind == "response.created":
            response_id = event["response"]["id"]
        elif kind == "response.image_generation_call.partial_image":
            b64 = event.pop("partial_image_b64", None)
            if final is not None or not b64:
                continue  # the final may overtake the partials; it wins
            preview = Preview(
                index=int(event.get("partial_image_index", 0)),
                total=options.partial_images,
                data=_decode(b64),
                output_format=event.get("output_format") or options.output_format,
            )
            del b64, event
            yield preview
            del preview
        elif kind == "response.output_item.done":
            item = event.get("item") or {}
            if item.get("type") == "image_generation_call":
                result = item.pop("result", None)
                if item.get("status") == "failed" or not result:
                    raise errors.GenerationFailed(
                        detail=f"image call {item.get('id')} {item.get('status')}"
                    )
                final = {
                    "data": _decode(result),
                    "image_call_id": item.get("id") or "image",
                    "revised_prompt": item.get("revised_prompt"),
                    "output_format": item.get("output_format") or options.output_format,
                    "size": item.get("size"),
                    "quality": item.get("quality"),
                }
                del result
        elif kind == "response.completed":
            response = event["response"]
            response.pop("output", None)  # repeats the final image, already decoded
            response_id = response.get("id") or response_id
            usage = response.get("usage")
            break
        elif kind == "response.failed":
            error = event["response"].get("error") or {}
            raise map_code(error.get("code"), error.get("message") or "response.failed")
        elif kind == "response.incomplete":
            details = event["response"].get("incomplete_details")
            raise errors.GenerationFailed(detail=f"incomplete: {details}")
        elif kind == "error":  # {"type": "error", "code", "message"}, or nested in "error"
            nested: dict[str, Any] = event["error"] if isinstance(event.get("error"), dict) else {}
            code = event.get("code") or nested.get("code")
            raise map_code(code, event.get("message") or nested.get("message") or "error")
        elif isinstance(event.get("error"), dict):  # `{"error": {...}}` data, no type
            error = event["error"]
            raise map_code(error.get("code"), error.get("message") or "stream error")
    if final is None or response_id is None:
        raise errors.GenerationFailed(detail="the stream ended without an image")
    yield FinalImage(response_id=response_id, usage=usage, **final)


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
        return errors.ServiceBusy(_UNREACHABLE, detail=str(exc))
    status = getattr(exc, "status_code", None)
    mapped = map_code(exc.code, exc.message, status=status)
    return mapped


_OWNER = "Please tell whoever runs easel."
_UNREACHABLE = "easel could not reach the image service. Please try again in a minute."


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
