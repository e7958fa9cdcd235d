"""The playground at the wire, as its page sees it: a client with the page's token and origin,
and the live updates it streams. Its fixtures (`playground`, `http`, `events`) serve every
test module of the playground (tests/conftest.py loads this module as a plugin)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest

from adapters.runtime import Runtime, running
from bot.config import load_config


@asynccontextmanager
async def playground_alone(env: dict[str, str]) -> AsyncIterator[Runtime]:
    """easel with an OpenAI key (the fake) and no chat platform: the playground alone."""
    web_env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    async with running(load_config(web_env)) as runtime:
        yield runtime


@asynccontextmanager
async def page_client(playground: Runtime) -> AsyncIterator[httpx2.AsyncClient]:
    """A client that asks as the page does: from its origin, with the token the page carries."""
    origin = playground.url.rstrip("/")
    async with httpx2.AsyncClient(base_url=origin, timeout=10) as client:
        page = await client.get("/")
        token = re.search(r'<meta name="easel-token" content="([^"]+)">', page.text)
        assert token is not None, page.text
        client.headers.update(
            {"Origin": origin, "Sec-Fetch-Site": "same-origin", "X-Easel-Token": token.group(1)}
        )
        yield client


def token(http: httpx2.AsyncClient) -> str:
    return http.headers["X-Easel-Token"]


class Events:
    """Reads the page's SSE stream and keeps the latest state of every message."""

    def __init__(self) -> None:
        self.messages: dict[str, dict[str, Any]] = {}
        self.history: list[dict[str, Any]] = []
        self.changed = asyncio.Event()

    async def follow(self, http: httpx2.AsyncClient) -> None:
        async with http.stream("GET", "/events", params={"token": token(http)}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            async for line in response.aiter_lines():
                if line.startswith("data:"):
                    message = json.loads(line[5:])["message"]
                    self.messages[message["id"]] = message
                    self.history.append(dict(message))
                    self.changed.set()

    async def until(self, predicate: Any, within: float = 10) -> dict[str, Any]:
        async with asyncio.timeout(within):
            while True:
                for message in self.messages.values():
                    if predicate(message):
                        return message
                self.changed.clear()
                await self.changed.wait()


@asynccontextmanager
async def following(http: httpx2.AsyncClient) -> AsyncIterator[Events]:
    events = Events()
    task = asyncio.create_task(events.follow(http))
    yield events
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def done(message: dict[str, Any]) -> bool:
    return bool(message["author"] == "easel" and message["state"] == "done")


async def drawn(http: httpx2.AsyncClient, events: Events, prompt: str) -> dict[str, Any]:
    """A finished drawing, as the page shows it."""
    answer = await http.post("/api/draw", data={"prompt": f"/draw {prompt}", "id": prompt[:8]})
    assert answer.status_code == 202, answer.text
    return await events.until(lambda m: done(m) and m["text"] == prompt)


def press(
    http: httpx2.AsyncClient, action: str, turn: Any, interaction: str = "click-0001", **more: Any
) -> Any:
    """POST /api/press as the page sends a click on a drawing's button (awaitable)."""
    body = {"action": action, "turn": turn, "interaction": interaction, **more}
    return http.post("/api/press", json=body)


@pytest.fixture
async def playground(env: dict[str, str]) -> AsyncIterator[Runtime]:
    async with playground_alone(env) as runtime:
        yield runtime


@pytest.fixture
async def http(playground: Runtime) -> AsyncIterator[httpx2.AsyncClient]:
    async with page_client(playground) as client:
        yield client


@pytest.fixture
async def events(http: httpx2.AsyncClient) -> AsyncIterator[Events]:
    async with following(http) as followed:
        yield followed
