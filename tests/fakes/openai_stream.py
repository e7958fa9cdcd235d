"""One streamed Responses API answer: spec-shaped Server-Sent Events for image generation,
as a `Script` asks for them (partials, errors, delays, hangs and broken streams).
"""

from __future__ import annotations

import base64
import io
import json
import random
import time
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from aiohttp import web
from PIL import Image, ImageDraw, ImageFilter

from tests.fakes.faults import drop
from tests.fakes.server import LocalServer

_Json = dict[str, Any]
_ECHOED = ("size", "quality", "output_format", "background")
UNKNOWN_EVENT = "response.some_future_event"
NOT_JSON = "data: {this is not json\n\n"
CUT_EVENT_BYTES = 4 * 1024 * 1024  # the size of the event `cut_mid_event` cuts in half


@dataclass
class Script:
    """What the next request gets. Every field is optional."""

    partials: int | None = None  # None: as many as the tool's `partial_images` (0..3)
    final_before_partials: bool = False  # output_item.done before the remaining partials
    revised_prompt: str | None = "a revised prompt"
    http_error: tuple[int, str | None, str] | None = None  # (status, code, message)
    retry_after: float | None = None  # `retry-after` header (seconds) on http_error
    stream_error_event: tuple[str, str] | None = None  # (code, message): `error` event
    stream_error_data: tuple[str, str] | None = None  # (code, message): `{"error": {...}}` data
    failed: tuple[str, str] | None = None  # (code, message): `response.failed`
    moderation_blocked: bool = False  # `response.failed` with code "moderation_blocked"
    delay: float = 0.0  # seconds between events
    hang_after_partials: bool = False  # keep the stream open, silent, until shutdown
    image_size: tuple[int, int] = (64, 64)
    noisy: bool = False  # the final is noise: a PNG as large as its size can be
    # Broken streams:
    cut_mid_event: bool = False  # the final's ~4 MB output_item.done half sent, then FIN
    not_json: bool = False  # a `data:` line that is not JSON, after response.in_progress
    unknown_event: bool = False  # a `response.some_future_event` after response.in_progress
    final_twice: bool = False  # the final `response.output_item.done` sent twice


@dataclass
class Sent:
    """What the fake streamed, for tests to compare with what a client read."""

    known_response_ids: list[str] = field(default_factory=list)  # completed responses
    images_sent: dict[str, bytes] = field(default_factory=dict)  # item id -> final PNG
    partials_sent: list[tuple[str, int, bytes]] = field(default_factory=list)


@lru_cache(maxsize=256)
def make_png(size: tuple[int, int], seed: int, blur: int) -> bytes:
    """A small deterministic PNG; `blur` 0 is the sharp final, larger is blurrier."""
    w, h = size
    hue = (seed * 67) % 256
    img = Image.new("RGB", size, (hue, 255 - hue, (seed * 29) % 256))
    draw = ImageDraw.Draw(img)
    for i in range(4):
        x0, y0 = (seed * 13 + i * w // 4) % w, (seed * 7 + i * h // 5) % h
        draw.ellipse((x0, y0, x0 + w // 3, y0 + h // 3), fill=((hue + 80 * i) % 256, 40 * i, 200))
    if blur:
        img = img.filter(ImageFilter.GaussianBlur(radius=blur * 2))
    img.putpixel((0, 0), (seed % 256, blur, 255))  # guarantee distinct bytes per frame
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def make_noise(size: tuple[int, int], seed: int) -> bytes:
    """A deterministic PNG of random pixels, which no encoder can make small."""
    pixels = random.Random(seed).randbytes(size[0] * size[1] * 3)
    buf = io.BytesIO()
    Image.frombytes("RGB", size, pixels).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def response_object(body: _Json, resp_id: str) -> _Json:
    return {
        "id": resp_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "completed_at": None,
        "error": None,
        "incomplete_details": None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "metadata": body.get("metadata") or {},
        "model": body.get("model", "gpt-5"),
        "output": [],
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "store": body.get("store", True),
        "temperature": 1.0,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body["tools"],
        "top_p": 1.0,
        "truncation": "disabled",
    }


_USAGE: _Json = {
    "input_tokens": 50,
    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
    "output_tokens": 1056,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 1106,
}


class ResponseStream:
    """Writes one response's events to `resp`; each `send` is False once the fake closes."""

    def __init__(
        self,
        *,
        server: LocalServer,
        sent: Sent,
        request: web.Request,
        resp: web.StreamResponse,
        script: Script,
    ) -> None:
        self._server = server
        self._sent = sent
        self._request = request
        self._resp = resp
        self._script = script
        self._seq = 0

    async def send(self, event: _Json, *, numbered: bool = True) -> bool:
        if self._seq and not await self._server.pause(self._script.delay):
            return False
        if numbered:
            event["sequence_number"] = self._seq
        self._seq += 1
        name = event.get("type", "error")
        await self._resp.write(f"event: {name}\ndata: {json.dumps(event)}\n\n".encode())
        return True

    async def run(self, body: _Json, tool: _Json, n: int) -> None:
        """The whole stream for request number `n`."""
        script = self._script
        response = response_object(body, f"resp_{n}")
        if not await self.send({"type": "response.created", "response": response}):
            return
        if script.stream_error_event is not None:
            code, message = script.stream_error_event
            await self.send({"type": "error", "code": code, "message": message, "param": None})
            return
        if script.stream_error_data is not None:
            code, message = script.stream_error_data
            type_ = "server_error" if code == "server_error" else "invalid_request_error"
            error = {"code": code, "message": message, "type": type_, "param": None}
            await self.send({"error": error}, numbered=False)
            return
        if not await self.send({"type": "response.in_progress", "response": response}):
            return
        if script.not_json:
            await self._resp.write(NOT_JSON.encode())
        if script.unknown_event and not await self.send({"type": UNKNOWN_EVENT, "note": "new"}):
            return
        failure = script.failed
        if script.moderation_blocked:
            failure = ("moderation_blocked", "Your request was rejected by the safety system.")
        if failure is not None:
            response.update(status="failed", error={"code": failure[0], "message": failure[1]})
            await self.send({"type": "response.failed", "response": response})
            return
        done_item = await self._image(tool, n)
        if done_item is None:
            return
        response.update(status="completed", completed_at=int(time.time()), usage=_USAGE)
        response["output"] = [done_item]
        if await self.send({"type": "response.completed", "response": response}):
            self._sent.known_response_ids.append(response["id"])

    async def _image(self, tool: _Json, n: int) -> _Json | None:
        """The image_generation_call's events; its finished item, or None when cut short."""
        script = self._script
        ig = f"ig_{n}"
        echo: _Json = {k: tool[k] for k in _ECHOED if k in tool}
        where = {"output_index": 0, "item_id": ig}
        item: _Json = {"type": "image_generation_call", "id": ig, "status": "in_progress"}
        item["result"] = None
        steps: list[_Json] = [
            {"type": "response.output_item.added", "output_index": 0, "item": dict(item)},
            {"type": "response.image_generation_call.in_progress", **where},
            {"type": "response.image_generation_call.generating", **where},
        ]
        for s in steps:
            if not await self.send(s):
                return None
        count = script.partials
        if count is None:
            count = max(0, min(3, int(tool.get("partial_images") or 0)))
        w, h = script.image_size
        final = make_noise((w, h), n) if script.noisy else make_png((w, h), n, 0)
        # The item reports concrete values where the request said "auto" or nothing.
        resolved = {"size": f"{w}x{h}", "quality": "medium", "output_format": "png"}
        resolved["background"] = "opaque"
        done_item = {
            **item,
            "status": "completed",
            "result": base64.b64encode(final).decode(),
            "revised_prompt": script.revised_prompt,
            **{k: v if echo.get(k, "auto") == "auto" else echo[k] for k, v in resolved.items()},
        }
        early = count // 2 if script.final_before_partials else count
        for k in range(count):
            if k == early and not await self._final(done_item, final):
                return None
            png = make_png((w, h), n, count - k)
            self._sent.partials_sent.append((ig, k, png))
            b64 = base64.b64encode(png).decode()
            partial = {"type": "response.image_generation_call.partial_image", **where}
            partial.update(partial_image_index=k, partial_image_b64=b64, **echo)
            if not await self.send(partial):
                return None
        if script.hang_after_partials:
            await self._server.closing.wait()
            return None
        if early == count and not await self._final(done_item, final):
            return None
        return done_item

    async def _final(self, done_item: _Json, png: bytes) -> bool:
        where = {"output_index": 0, "item_id": done_item["id"]}
        if not await self.send({"type": "response.image_generation_call.completed", **where}):
            return False
        done = {"type": "response.output_item.done", "output_index": 0, "item": done_item}
        if self._script.cut_mid_event:
            await self._cut(done)
            return False
        self._sent.images_sent[done_item["id"]] = png
        for _ in range(2 if self._script.final_twice else 1):
            if not await self.send(dict(done)):
                return False
        return True

    async def _cut(self, done: _Json) -> None:
        """Half of `done`, its image padded to CUT_EVENT_BYTES, then the connection closed."""
        pad = CUT_EVENT_BYTES - len(done["item"]["result"])
        item = {**done["item"], "result": done["item"]["result"] + "A" * max(0, pad)}
        done = {**done, "item": item, "sequence_number": self._seq}
        text = f"event: {done['type']}\ndata: {json.dumps(done)}\n\n".encode()
        await self._resp.write(text[: len(text) // 2])
        drop(self._request, reset=False)
