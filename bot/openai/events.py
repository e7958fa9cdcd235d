"""The Responses stream's events, read from their SSE text and turned into the core's values.

Each image arrives as a 2-4 MB base64 string inside one event; it is decoded once and let go
at once. The final image is the `image_generation_call` output item's `result`; the copy that
`response.completed` repeats is dropped unread, and so is the item if it is sent again.
Unknown event types are ignored.
"""

from __future__ import annotations

import binascii
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pybase64

from bot import errors
from bot.models import FinalImage, ImageOptions, Preview
from bot.openai.errors import UNREADABLE_ANSWER, map_code
from bot.openai.sse import FastSSEDecoder

Event = dict[str, Any]
log = logging.getLogger(__name__)


async def events(chunks: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    """Each event's JSON, parsed straight from its SSE text, which is then let go."""
    try:
        async for sse in FastSSEDecoder().aiter_bytes(chunks):
            if sse.data.startswith("[DONE]"):
                return
            event = _parse(sse.data)
            del sse
            yield event
    except UnicodeDecodeError as exc:
        detail = f"stream text is not UTF-8: {exc}"
        raise errors.GenerationFailed(UNREADABLE_ANSWER, detail=detail) from exc


def _parse(data: str) -> Event:
    try:
        event = json.loads(data)
    except ValueError as exc:
        detail = f"stream data is not JSON: {exc}"
        raise errors.GenerationFailed(UNREADABLE_ANSWER, detail=detail) from exc
    if not isinstance(event, dict):
        detail = f"stream data is not an event: {event!r:.200}"
        raise errors.GenerationFailed(UNREADABLE_ANSWER, detail=detail)
    return event


class _Reading:
    """What one stream has said so far."""

    def __init__(self, options: ImageOptions) -> None:
        self.options = options
        self.response_id: str | None = None
        self.final: dict[str, Any] | None = None
        self.usage: dict[str, Any] | None = None

    def on_created(self, event: Event) -> None:
        self.response_id = _response(event).get("id") or self.response_id

    def on_partial(self, event: Event) -> Preview | None:
        b64 = event.pop("partial_image_b64", None)
        if self.final is not None or not b64:
            return None  # the final may overtake the partials; it wins
        return Preview(
            index=int(event.get("partial_image_index", 0)),
            total=self.options.partial_images,
            data=decode(b64),
            output_format=event.get("output_format") or self.options.output_format,
        )

    def on_item_done(self, event: Event) -> None:
        item = event.get("item") or {}
        if item.get("type") != "image_generation_call":
            return
        result = item.pop("result", None)
        if self.final is not None:  # sent again: the image was decoded once already
            log.debug("ignored a repeated image item %s", item.get("id"))
            return
        if item.get("status") == "failed" or not result:
            raise errors.GenerationFailed(
                detail=f"image call {item.get('id')} {item.get('status')}"
            )
        self.final = {
            "data": decode(result),
            "image_call_id": item.get("id") or "image",
            "revised_prompt": item.get("revised_prompt"),
            "output_format": item.get("output_format") or self.options.output_format,
            "size": item.get("size"),
            "quality": item.get("quality"),
        }

    def on_completed(self, event: Event) -> None:
        response = _response(event)
        response.pop("output", None)  # repeats the final image, already decoded
        self.response_id = response.get("id") or self.response_id
        self.usage = response.get("usage")

    def result(self) -> FinalImage:
        if self.final is None or self.response_id is None:
            raise errors.GenerationFailed(detail="the stream ended without an image")
        return FinalImage(response_id=self.response_id, usage=self.usage, **self.final)


def raise_failure(event: Event) -> None:
    """The stream's ways of saying it failed: response.failed / incomplete, an `error` event
    (flat or nested), or bare `{"error": {...}}` data."""
    kind = event.get("type")
    if kind == "response.failed":
        error = _response(event).get("error") or {}
        raise map_code(error.get("code"), error.get("message") or "response.failed")
    if kind == "response.incomplete":
        details = _response(event).get("incomplete_details")
        raise errors.GenerationFailed(detail=f"incomplete: {details}")
    nested = event["error"] if isinstance(event.get("error"), dict) else None
    if kind == "error":
        inner = nested or {}
        code = event.get("code") or inner.get("code")
        raise map_code(code, event.get("message") or inner.get("message") or "error")
    if nested is not None:
        raise map_code(nested.get("code"), nested.get("message") or "stream error")


async def translate(
    stream: AsyncIterator[Event], options: ImageOptions
) -> AsyncGenerator[Preview | FinalImage]:
    """Previews as they come, then the one final image."""
    reading = _Reading(options)
    async for event in stream:
        kind = event.get("type")
        if kind == "response.created":
            reading.on_created(event)
        elif kind == "response.image_generation_call.partial_image":
            preview = reading.on_partial(event)
            del event
            if preview is not None:
                yield preview
            del preview
        elif kind == "response.output_item.done":
            reading.on_item_done(event)
        elif kind == "response.completed":
            reading.on_completed(event)
            break
        else:
            raise_failure(event)
    yield reading.result()


def _response(event: Event) -> dict[str, Any]:
    """The event's `response` object; a malformed event reads as an empty one."""
    response = event.get("response")
    return response if isinstance(response, dict) else {}


def decode(b64: str) -> bytes:
    """An image from the stream: strict base64, decoded once (SIMD; 20x the stdlib's speed)."""
    try:
        return pybase64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.GenerationFailed(detail=f"undecodable image in the stream: {exc}") from exc
