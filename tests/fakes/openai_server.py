"""A fake OpenAI Responses API served over real local HTTP.

It streams spec-shaped Server-Sent Events for image generation so the real
`openai.AsyncOpenAI` client can talk to it. Tests queue `Script`s to choose
what each request gets (partials, errors, delays, hangs).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import lru_cache
from types import TracebackType
from typing import Any

from aiohttp import web
from PIL import Image, ImageDraw, ImageFilter

_Json = dict[str, Any]
_ECHOED = ("size", "quality", "output_format", "background")
_Send = Callable[[_Json], Awaitable[bool]]


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


def _error_body(code: str | None, message: str, type_: str, param: str | None = None) -> _Json:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


def _error_type(status: int) -> str:
    if status == 429:
        return "requests"
    return "server_error" if status >= 500 else "invalid_request_error"


class FakeOpenAI:
    """A real aiohttp server on 127.0.0.1 speaking the streaming Responses API."""

    def __init__(self) -> None:
        self.base_url = ""
        self.request_times: list[float] = []  # time.monotonic() at each request
        self.requests: list[_Json] = []
        self.headers: list[dict[str, str]] = []  # names lower-cased
        self.expired_ids: set[str] = set()
        self.known_response_ids: list[str] = []
        self.images_sent: dict[str, bytes] = {}
        self.partials_sent: list[tuple[str, int, bytes]] = []
        self._scripts: deque[Script] = deque()
        self._counter = 0
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    def push(self, *scripts: Script) -> None:
        self._scripts.extend(scripts)

    async def __aenter__(self) -> FakeOpenAI:
        app = web.Application()
        app.router.add_post("/v1/responses", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}/v1"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _next_id(self) -> int:
        self._counter += 1
        return self._counter

    async def _pause(self, seconds: float) -> bool:
        """Sleep, waking early on shutdown. Returns False when shutting down."""
        if seconds > 0 and not self._closing.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), seconds)
        return not self._closing.is_set()

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            err = _error_body(None, "The body is not valid JSON.", "invalid_request_error")
            return web.json_response(err, status=400)
        self.requests.append(body)
        self.request_times.append(time.monotonic())
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        n = self._next_id()
        req_headers = {"x-request-id": f"req_{n}"}

        def reject(
            status: int, code: str | None, message: str, param: str | None = None
        ) -> web.Response:
            err = _error_body(code, message, _error_type(status), param)
            return web.json_response(err, status=status, headers=req_headers)

        prev = body.get("previous_response_id")
        if prev is not None and prev in self.expired_ids:
            msg = f"Previous response with id '{prev}' not found."
            return reject(400, "previous_response_not_found", msg, "previous_response_id")
        if body.get("stream") is not True:
            return reject(400, None, "This fake only streams: send stream=true.", "stream")
        tools = body.get("tools")
        tool = next(
            (t for t in tools or [] if isinstance(t, dict) and t.get("type") == "image_generation"),
            None,
        )
        if tool is None:
            msg = "The request needs an `image_generation` tool in `tools`."
            return reject(400, None, msg, "tools")

        script = self._scripts.popleft() if self._scripts else Script()
        if script.http_error is not None:
            status, code, message = script.http_error
            if script.retry_after is not None:
                req_headers["retry-after"] = str(script.retry_after)
            return reject(status, code, message)

        sse_headers = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        resp = web.StreamResponse(headers={**sse_headers, **req_headers})
        await resp.prepare(request)
        try:
            await self._stream(resp, body, tool, script, n)
            await resp.write_eof()
        except ConnectionError:
            pass  # the client went away mid-stream
        return resp

    async def _stream(
        self, resp: web.StreamResponse, body: _Json, tool: _Json, script: Script, n: int
    ) -> None:
        seq = 0

        async def send(event: _Json, numbered: bool = True) -> bool:
            nonlocal seq
            if seq and not await self._pause(script.delay):
                return False
            if numbered:
                event["sequence_number"] = seq
            seq += 1
            name = event.get("type", "error")
            await resp.write(f"event: {name}\ndata: {json.dumps(event)}\n\n".encode())
            return True

        resp_id, ig = f"resp_{n}", f"ig_{n}"
        response: _Json = {
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
        if not await send({"type": "response.created", "response": response}):
            return
        if script.stream_error_event is not None:
            code, message = script.stream_error_event
            await send({"type": "error", "code": code, "message": message, "param": None})
            return
        if script.stream_error_data is not None:
            code, message = script.stream_error_data
            type_ = "server_error" if code == "server_error" else "invalid_request_error"
            error = {"code": code, "message": message, "type": type_, "param": None}
            await send({"error": error}, numbered=False)
            return
        if not await send({"type": "response.in_progress", "response": response}):
            return
        failure = script.failed
        if script.moderation_blocked:
            failure = ("moderation_blocked", "Your request was rejected by the safety system.")
        if failure is not None:
            response.update(status="failed", error={"code": failure[0], "message": failure[1]})
            await send({"type": "response.failed", "response": response})
            return

        w, h = script.image_size
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
            if not await send(s):
                return

        count = script.partials
        if count is None:
            count = max(0, min(3, int(tool.get("partial_images") or 0)))
        final = make_png((w, h), n, 0)
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
        finals: list[_Json] = [
            {"type": "response.image_generation_call.completed", **where},
            {"type": "response.output_item.done", "output_index": 0, "item": done_item},
        ]
        early = count // 2 if script.final_before_partials else count
        for k in range(count):
            if k == early and not await self._send_final(send, finals, ig, final):
                return
            png = make_png((w, h), n, count - k)
            self.partials_sent.append((ig, k, png))
            b64 = base64.b64encode(png).decode()
            partial = {"type": "response.image_generation_call.partial_image", **where}
            partial.update(partial_image_index=k, partial_image_b64=b64, **echo)
            if not await send(partial):
                return
        if script.hang_after_partials:
            await self._closing.wait()
            return
        if early == count and not await self._send_final(send, finals, ig, final):
            return
        usage = {
            "input_tokens": 50,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": 1056,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 1106,
        }
        response.update(status="completed", completed_at=int(time.time()), usage=usage)
        response["output"] = [done_item]
        if await send({"type": "response.completed", "response": response}):
            self.known_response_ids.append(resp_id)

    async def _send_final(self, send: _Send, finals: list[_Json], ig: str, png: bytes) -> bool:
        self.images_sent[ig] = png
        for event in finals:
            if not await send(event):
                return False
        return True
