"""The Responses stream's events, read from their SSE data and turned into the core's values.

Each image arrives as a 2-4 MB base64 string inside one event. That string is cut out of the
event's bytes before its JSON is parsed (the JSON parser would scan it character by character
and copy it into a str), decoded once straight from the bytes, and let go at once. The final
image is the `image_generation_call` output item's `result`; the copy that
`response.completed` repeats is let go while it arrives (bot.openai.sse's LineSplitter: only
its ends are kept), and an item sent again is dropped unread. Unknown event types are ignored.
"""

from __future__ import annotations

import binascii
import json
import logging
import re
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any

import pybase64

from bot import errors
from bot.models import FinalImage, ImageOptions, Preview
from bot.openai.errors import UNREADABLE_ANSWER, map_code
from bot.openai.sse import FastSSEDecoder, Unwanted

Event = dict[str, Any]
log = logging.getLogger(__name__)

# A string at least this long in an event is its image (nothing else in the stream comes
# close); shorter events are parsed whole.
LONG = 64 * 1024
_IMAGE_KEY = re.compile(rb'"(?:partial_image_b64|result)"\s*:\s*"')
_MARK = "\x00easel:image"  # what the cut string reads as in the parsed event
_MARK_JSON = b'"\\u0000easel:image"'
# Images let go as they arrive: the copy of the final that response.completed repeats, and
# a partial image nobody could see now.
_COMPLETED = re.compile(rb'data: ?\{\s*"type"\s*:\s*"response\.completed"\s*,')
_RESULT = re.compile(rb'"result"\s*:\s*"')
_PARTIAL = re.compile(
    rb'data: ?\{\s*"type"\s*:\s*"response\.image_generation_call\.partial_image"\s*,'
)
_PARTIAL_B64 = re.compile(rb'"partial_image_b64"\s*:\s*"')


async def events(
    chunks: AsyncIterator[bytes], *, wanted: Callable[[], bool] | None = None
) -> AsyncIterator[Event]:
    """Each event's JSON, parsed straight from its SSE data, which is then let go. A partial
    image arriving when `wanted()` says no is let go unread (its event has an empty one)."""
    try:
        async for data in FastSSEDecoder(unwanted=unwanted_images(wanted)).aiter_data(chunks):
            if data.startswith(b"[DONE]"):
                return
            event = _parse(data)
            del data
            yield event
    except UnicodeDecodeError as exc:
        detail = f"stream text is not UTF-8: {exc}"
        raise errors.GenerationFailed(UNREADABLE_ANSWER, detail=detail) from exc


def unwanted_images(wanted: Callable[[], bool] | None = None) -> Unwanted:
    """Where, in the first bytes of a line, an image starts whose bytes are let go as they
    arrive (never joined, scanned, parsed or decoded): the copy `response.completed`
    repeats, and a partial image when `wanted()` says nobody could see it now."""

    def unwanted(head: bytes) -> int | None:
        if _COMPLETED.match(head) is not None:
            return _long_string(head, _RESULT)
        if wanted is not None and _PARTIAL.match(head) is not None:
            at = _long_string(head, _PARTIAL_B64)
            return at if at is not None and not wanted() else None
        return None

    return unwanted


def _long_string(head: bytes, key: re.Pattern[bytes]) -> int | None:
    """Where the first string after `key` that runs on past the head starts."""
    for found in key.finditer(head):
        if head.find(b'"', found.end()) < 0:
            return found.end()
    return None


def cut_image(data: bytes) -> tuple[bytes, memoryview | None]:
    """The event's JSON with its image string replaced by a mark, and the image's base64
    bytes (a view: nothing copied); `(data, None)` when it has none. A string with a
    backslash is left in place (base64 needs no escapes; the JSON parser reads it then)."""
    for found in _IMAGE_KEY.finditer(data):
        start = found.end()
        end = data.find(b'"', start)
        if end < 0:
            break
        if end - start >= LONG and data.find(b"\\", start, end) < 0:
            return data[: start - 1] + _MARK_JSON + data[end + 1 :], memoryview(data)[start:end]
    return data, None


def _put_back(node: Any, image: memoryview) -> bool:
    """Put the cut image where its mark is (the parsed event is small now)."""
    items = node.items() if isinstance(node, dict) else enumerate(node)
    for key, value in items:
        if value == _MARK:
            node[key] = image
            return True
        if isinstance(value, dict | list) and _put_back(value, image):
            return True
    return False


def _parse(data: bytes) -> Event:
    text, image = cut_image(data) if len(data) >= LONG else (data, None)
    raw = text.decode("utf-8")  # UnicodeDecodeError: the stream is not text (see events())
    try:
        event = json.loads(raw)
    except ValueError as exc:
        detail = f"stream data is not JSON: {exc}"
        raise errors.GenerationFailed(UNREADABLE_ANSWER, detail=detail) from exc
    if not isinstance(event, dict):
        detail = f"stream data is not an event: {event!r:.200}"
        raise errors.GenerationFailed(UNREADABLE_ANSWER, detail=detail)
    if image is not None:
        _put_back(event, image)
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


def decode(b64: str | bytes | memoryview) -> bytes:
    """An image from the stream: strict base64, decoded once (SIMD; 20x the stdlib's speed)."""
    try:
        return pybase64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.GenerationFailed(detail=f"undecodable image in the stream: {exc}") from exc
