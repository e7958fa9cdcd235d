"""What the bot left at the fake Slack, polled: which turns have finished, and whether their
messages show their finals."""

from __future__ import annotations

import asyncio

import aiohttp

from bench.common import now

POLL = 0.05
DONE_PREFIXES = ("Reply in this thread to edit the image.", "Done:")


class Progress:
    """Which turns have finished, from what the bot left at the fake Slack (polled): a turn is
    delivered when its final file is in the thread, failed when its message says so, and
    shown when its message shows the final."""

    def __init__(self, api_url: str, http: aiohttp.ClientSession) -> None:
        self._url = api_url + "bench.progress"
        self._http = http
        self.roots: dict[str, str] = {}  # prompt -> ts of the message its turn posted
        self.status: dict[str, str] = {}  # prompt -> "delivered" | "failed"
        self.shown: set[str] = set()  # prompts whose message shows the final
        self._events: dict[str, asyncio.Event] = {}

    def event(self, text: str) -> asyncio.Event:
        return self._events.setdefault(text, asyncio.Event())

    def _settle(self, text: str, status: str) -> None:
        if text not in self.status:
            self.status[text] = status
            self.event(text).set()

    async def poll(self) -> None:
        async with self._http.post(self._url) as response:
            answer = await response.json()
        for m in answer["messages"]:
            line, _, text = m["text"].rpartition(": ")
            self.roots.setdefault(text, m["ts"])
            if line.startswith(DONE_PREFIXES):
                self.shown.add(text)
                self._settle(text, "delivered")
            elif line.startswith(":warning:"):
                self._settle(text, "failed")
        for f in answer["finals"]:
            if f["title"] in self.roots:
                self._settle(f["title"], "delivered")

    async def run(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(POLL)

    async def all_shown(self, prompts: list[str], *, within: float) -> None:
        """Until every delivered turn's message shows its final (or `within` seconds)."""
        deadline = now() + within
        while now() < deadline:
            if all(p in self.shown for p in prompts if self.status.get(p) == "delivered"):
                return
            await asyncio.sleep(POLL)
