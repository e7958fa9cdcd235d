"""The tests' fake Slack Web API in a process of its own: `python -m bench.slack_fake`.

It is `tests.fakes.slack_server.FakeSlack` (the same methods, upload flow, processing phase
and Block Kit checks) plus what a benchmark needs:
- `latency` per method from the command line (`--latency chat.update=0.05,upload=0.2`);
- like Slack, it fetches an `image_url` shown by `chat.update`, once, in the background;
- like Slack, it meters `chat.update` per workspace (Tier 3: about 50 a minute with short
  bursts, `--tier3 BURST/PER_MINUTE`, a token bucket): beyond it, HTTP 429 `ratelimited` with
  `Retry-After` in whole seconds;
- `POST /api/bench.records` returns every call compactly (arrival `time.monotonic()`),
  files (with `completed_at`), image fetches and violations; `bench.progress` returns the
  bot's messages and its final files, for the driver to know which drawings have finished.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
from typing import Any

import aiohttp
from aiohttp import web

from bench.common import Json, LagTicker, clock_info, now, write_ready
from tests.fakes.slack_server import Call, FakeSlack

FETCH_TIMEOUT = 10.0
MAX_FETCHES = 16  # image fetches at once, like a CDN's bounded pool
TIER3 = "15/50"  # chat.update: a burst of 15, then 50 a minute (FakeSlack.limit_chat_update)


class BenchSlack(FakeSlack):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fetches: list[Json] = []
        self.lag = LagTicker()
        self._fetching: set[asyncio.Task[None]] = set()
        self._fetch_slots = asyncio.Semaphore(MAX_FETCHES)
        self._session: aiohttp.ClientSession | None = None

    async def _api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if method == "bench.records":
            return web.json_response(self.records())
        if method == "bench.progress":
            return web.json_response({"messages": self.bot_messages(), "finals": self.finals()})
        return await super()._api(request)

    def _update(self, args: Json) -> Json:
        result = super()._update(args)
        for block in args.get("blocks") or []:
            url = block.get("image_url") if isinstance(block, dict) else None
            if isinstance(url, str):
                task = asyncio.get_running_loop().create_task(self._fetch(url))
                self._fetching.add(task)
                task.add_done_callback(self._fetching.discard)
        return result

    async def _fetch(self, url: str) -> None:
        entry: Json = {"url": url, "queued": now(), "start": None, "done": None, "bytes": 0}
        self.fetches.append(entry)
        async with self._fetch_slots:
            entry["start"] = now()
            try:
                if self._session is None:
                    self._session = aiohttp.ClientSession()
                timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
                async with self._session.get(url, timeout=timeout) as response:
                    entry["status"] = response.status
                    entry["bytes"] = len(await response.read())
            except (aiohttp.ClientError, TimeoutError) as exc:
                entry["status"] = f"error: {type(exc).__name__}"
            entry["done"] = now()

    async def aclose_fetches(self) -> None:
        for task in list(self._fetching):
            task.cancel()
        await asyncio.gather(*self._fetching, return_exceptions=True)
        if self._session is not None:
            await self._session.close()

    def bot_messages(self) -> list[Json]:
        return [
            {"ts": m["ts"], "thread_ts": m["thread_ts"], "text": m["text"]}
            for m in self.messages.values()
            if m["user"] == "UBOT" and not m.get("files")
        ]

    def finals(self) -> list[Json]:
        """The final images in threads (easel names them `easel-{image call id}.png` and titles
        them with the prompt), once their upload is complete."""
        return [
            {"title": f.title, "thread_ts": f.thread_ts, "completed_at": f.completed_at}
            for f in self.files.values()
            if f.name.startswith("easel-") and f.completed and not f.deleted
        ]

    def records(self) -> Json:
        return {
            "clock": clock_info(),
            "calls": [_compact(c) for c in self.calls],
            "files": [
                {
                    "id": f.id,
                    "name": f.name,
                    "bytes": len(f.data),
                    "thread_ts": f.thread_ts,
                    "completed_at": f.completed_at,
                    "deleted": f.deleted,
                }
                for f in self.files.values()
            ],
            "fetches": self.fetches,
            "loop_lag_ms": self.lag.summary(),
            "violations": self.violations,
        }


def _compact(call: Call) -> Json:
    args = call.args
    out: Json = {"method": call.method, "at": call.at, "status": call.status}
    for key in ("ts", "thread_ts", "filename", "file_id", "length", "file"):
        if key in args:
            out[key] = args[key]
    if isinstance(args.get("text"), str):
        out["text"] = args["text"][:500]
    images = [b for b in args.get("blocks") or [] if isinstance(b, dict) and b["type"] == "image"]
    if images:
        out["image"] = "url" if "image_url" in images[0] else "file"
    return out


async def serve(args: argparse.Namespace) -> None:
    fake = BenchSlack(token=args.token, team_id=args.team)
    fake.processing_polls = args.processing_polls
    if args.tier3 != "off":
        burst, _, per_minute = args.tier3.partition("/")
        fake.limit_chat_update(burst=float(burst), per_minute=float(per_minute))
    for item in filter(None, args.latency.split(",")):
        method, _, seconds = item.partition("=")
        fake.latency[method] = float(seconds)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    ticker = asyncio.create_task(fake.lag.run())
    async with fake:
        write_ready(args.ready, {"api_url": fake.api_url, "base_url": fake.base_url})
        try:
            await stop.wait()
        finally:
            ticker.cancel()
            await fake.aclose_fetches()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ready", required=True, help="file to write {api_url} to")
    parser.add_argument("--token", default="xoxb-bench")
    parser.add_argument("--team", default="T1")
    parser.add_argument("--latency", default="", help="method=seconds,... added to each call")
    parser.add_argument(
        "--processing-polls", type=int, default=1, help="files.info polls before processed"
    )
    parser.add_argument(
        "--tier3",
        default=TIER3,
        help="chat.update per workspace: BURST/PER_MINUTE (a token bucket), or 'off'",
    )
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
