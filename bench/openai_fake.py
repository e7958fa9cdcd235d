"""A fake OpenAI Responses API whose model time is scripted: `python -m bench.openai_fake`.

Each `POST /v1/responses` (stream=true) streams the real API's SSE events: the opening events
at once, partial image k at `partials_at[k] * model_seconds` after the request arrived, and
the final (`image_generation_call.completed`, `output_item.done` carrying the image, then
`response.completed` whose output carries it again, as the real API does) at `model_seconds`.
Images are noisy PNGs of 1.5-3 MB (bench.images), base64 in the JSON as the API sends them;
`size=auto` alternates 1024x1024 and 1536x1024 between requests.

For every frame it records when it left (`time.monotonic()` just before its first byte was
handed to the socket) and when the socket took its last byte; `GET /bench/records` returns
them.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import signal
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from bench import images
from bench.common import Json, LagTicker, clock_info, now, write_ready
from tests.fakes.server import LocalServer

PLACEHOLDER = '"@@IMAGE_B64@@"'


class ScriptedOpenAI:
    def __init__(self, *, model_seconds: float, partials_at: list[float], cache: Path) -> None:
        self.model_seconds = model_seconds
        self.partials_at = partials_at
        self.records: list[Json] = []
        self.lag = LagTicker()
        self._b64: dict[str, list[bytes]] = {}
        for w, h in images.SIZES:
            pngs = images.frames((w, h), cache)
            self._b64[f"{w}x{h}"] = [base64.b64encode(png) for png in pngs]
        self._png_bytes = {s: [len(base64.b64decode(b)) for b in v] for s, v in self._b64.items()}

    def app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_post("/v1/responses", self.handle)
        app.router.add_get("/bench/records", self.records_view)
        return app

    async def records_view(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"clock": clock_info(), "records": self.records, "loop_lag_ms": self.lag.summary()}
        )

    def _size(self, tool: Json, n: int) -> str:
        size = str(tool.get("size") or "auto")
        if size in self._b64:
            return size
        return list(self._b64)[(n - 1) % len(self._b64)]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        arrived = now()
        body = await request.json()
        n = len(self.records) + 1
        tool = next(t for t in body["tools"] if t.get("type") == "image_generation")
        content = body["input"][0]["content"]
        record: Json = {
            "n": n,
            "arrived": arrived,
            "prompt": next(c["text"] for c in content if c["type"] == "input_text"),
            "previous_response_id": body.get("previous_response_id"),
            "image_call_id": f"ig_{n}",
            "size": self._size(tool, n),
            "frames": [],
            "done": None,
            "error": None,
        }
        self.records.append(record)
        resp = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "x-request-id": f"req_{n}"}
        )
        await resp.prepare(request)
        try:
            await self._stream(resp, body, tool, record)
            await resp.write_eof()
        except (ConnectionError, asyncio.CancelledError) as exc:
            record["error"] = type(exc).__name__
            raise
        record["done"] = now()
        return resp

    async def _stream(self, resp: web.StreamResponse, body: Json, tool: Json, rec: Json) -> None:
        seq = 0

        async def send(events: list[Json], image: bytes | None = None) -> None:
            nonlocal seq
            for event in events:
                event["sequence_number"] = seq
                seq += 1
                text = f"event: {event['type']}\ndata: {json.dumps(event)}\n\n"
                if image is None or PLACEHOLDER not in text:
                    await resp.write(text.encode())
                    continue
                head, tail = text.split(PLACEHOLDER, 1)
                await resp.write(head.encode() + b'"')  # the image itself is never copied
                await resp.write(image)
                await resp.write(b'"' + tail.encode())

        n, size, ig = rec["n"], rec["size"], rec["image_call_id"]
        frames = self._b64[size]
        where = {"output_index": 0, "item_id": ig}
        response = _response_object(body, f"resp_{n}")
        item: Json = {"type": "image_generation_call", "id": ig, "status": "in_progress"}
        await send(
            [
                {"type": "response.created", "response": response},
                {"type": "response.in_progress", "response": response},
                {"type": "response.output_item.added", "output_index": 0, "item": item},
                {"type": "response.image_generation_call.in_progress", **where},
                {"type": "response.image_generation_call.generating", **where},
            ]
        )
        echo = {"size": size, "quality": "high", "output_format": "png", "background": "opaque"}
        count = min(int(tool.get("partial_images") or 0), len(self.partials_at))
        for k in range(count):
            image = frames[min(k, len(frames) - 2)]
            partial = {"type": "response.image_generation_call.partial_image", **where}
            partial.update(partial_image_index=k, partial_image_b64="@@IMAGE_B64@@", **echo)
            await self._frame(rec, "partial", k, self.partials_at[k], send([partial], image))
        done_item = {**item, "status": "completed", "result": "@@IMAGE_B64@@", **echo}
        done_item["revised_prompt"] = f"a revised {rec['prompt']}"
        response.update(status="completed", completed_at=int(time.time()), output=[done_item])
        response["usage"] = _USAGE
        final = [
            {"type": "response.image_generation_call.completed", **where},
            {"type": "response.output_item.done", "output_index": 0, "item": done_item},
            {"type": "response.completed", "response": response},
        ]
        await self._frame(rec, "final", count, 1.0, send(final, frames[-1]))

    async def _frame(self, rec: Json, kind: str, index: int, at: float, sending: Any) -> None:
        due = rec["arrived"] + at * self.model_seconds
        await asyncio.sleep(max(0.0, due - now()))
        left = now()
        await sending
        size_index = -1 if kind == "final" else min(index, 1)
        png = self._png_bytes[rec["size"]][size_index]
        rec["frames"].append(
            {"kind": kind, "index": index, "due": due, "left": left, "written": now(), "png": png}
        )


_USAGE: Json = {
    "input_tokens": 50,
    "input_tokens_details": {"cached_tokens": 0},
    "output_tokens": 1056,
    "output_tokens_details": {"reasoning_tokens": 0},
    "total_tokens": 1106,
}


def _response_object(body: Json, resp_id: str) -> Json:
    return {
        "id": resp_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "metadata": {},
        "model": body.get("model", "gpt-5-mini"),
        "output": [],
        "parallel_tool_calls": True,
        "previous_response_id": body.get("previous_response_id"),
        "temperature": 1.0,
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": body["tools"],
        "top_p": 1.0,
    }


async def serve(args: argparse.Namespace) -> None:
    fake = ScriptedOpenAI(
        model_seconds=args.model_seconds,
        partials_at=[float(x) for x in args.partials_at.split(",") if x],
        cache=Path(args.cache),
    )
    ticker = asyncio.create_task(fake.lag.run())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with LocalServer(fake.app(), shutdown_timeout=1.0) as server:
            write_ready(args.ready, {"base_url": f"{server.origin}/v1", "port": server.port})
            await stop.wait()
    finally:
        ticker.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready", required=True, help="file to write {base_url} to")
    parser.add_argument("--model-seconds", type=float, default=8.0)
    parser.add_argument("--partials-at", default="0.3,0.6", help="fractions of model time")
    parser.add_argument("--cache", default=str(images.DEFAULT_CACHE))
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
