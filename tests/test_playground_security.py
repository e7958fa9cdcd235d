"""Whom the playground answers, at the wire: its own page, by its own name, with its token."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from adapters.runtime import Runtime, running
from adapters.web.app import Playground
from bot.config import load_config
from tests.fakes.openai_server import FakeOpenAI

EVIL = "http://evil.example"
REBOUND = "rebind.evil.example"


@pytest.fixture
async def http(playground: Runtime) -> AsyncIterator[httpx2.AsyncClient]:
    """A bare client: each test sends the headers it means to."""
    async with httpx2.AsyncClient(base_url=playground.url.rstrip("/"), timeout=10) as client:
        yield client


@pytest.fixture
async def token(http: httpx2.AsyncClient) -> str:
    page = await http.get("/")
    found = re.search(r'<meta name="easel-token" content="([^"]+)">', page.text)
    assert found is not None, page.text
    return found.group(1)


def own(playground: Runtime, token: str, **more: str) -> dict[str, str]:
    """The headers of a POST that app.js makes from the page it was served in."""
    origin = f"http://127.0.0.1:{playground.port}"
    return {"Origin": origin, "Sec-Fetch-Site": "same-origin", "X-Easel-Token": token, **more}


# What the page posts that changes something: a /draw and a button's press.
POSTS = [
    ("/api/draw", {"data": {"prompt": "a bill"}}),
    ("/api/press", {"json": {"action": "redo", "turn": 1, "interaction": "forged-0001"}}),
]


def hub(playground: Runtime) -> Playground:
    assert playground.playground is not None
    return playground.playground


async def assert_nothing_drawn(playground: Runtime, openai_fake: FakeOpenAI) -> None:
    await playground.turns.join()
    assert openai_fake.requests == []
    assert hub(playground).hub.snapshot() == []


async def test_the_page_carries_one_token_for_the_process(http: httpx2.AsyncClient) -> None:
    first, second = await http.get("/"), await http.get("/")
    assert first.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in first.headers["content-security-policy"]
    pattern = r'<meta name="easel-token" content="([A-Za-z0-9_-]{32,})">'
    tokens = {m.group(1) for page in (first, second) if (m := re.search(pattern, page.text))}
    assert len(tokens) == 1 and "{{" not in first.text


async def test_the_pages_own_requests_draw(
    http: httpx2.AsyncClient, playground: Runtime, token: str, openai_fake: FakeOpenAI
) -> None:
    for name in (f"localhost:{playground.port}", f"[::1]:{playground.port}"):
        origin = {"Origin": f"http://{name}", "Host": name}
        answer = await http.post(
            "/api/draw",
            data={"prompt": "a kite", "id": name},
            headers=own(playground, token, **origin),
        )
        assert answer.status_code == 202, answer.text
    await playground.turns.join()
    assert len(openai_fake.requests) == 2


async def test_a_loopback_bind_address_is_a_name_of_its_own(env: dict[str, str]) -> None:
    web_env = {k: v for k, v in env.items() if not k.startswith("SLACK_")}
    async with running(load_config({**web_env, "EASEL_HOST": "127.0.0.2"})) as runtime:
        base = f"http://127.0.0.2:{runtime.port}"
        async with httpx2.AsyncClient(base_url=base, timeout=10) as client:
            assert (await client.get("/")).status_code == 200
            for name in ("127.0.0.1", "localhost", "[::1]"):
                host = {"Host": f"{name}:{runtime.port}"}
                assert (await client.get("/", headers=host)).status_code == 200
            other = {"Host": f"127.0.0.3:{runtime.port}"}
            assert (await client.get("/", headers=other)).status_code == 421


@pytest.mark.parametrize(("path", "body"), POSTS)
@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:1"},
        {"Origin": "", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "", "Sec-Fetch-Site": "same-site"},
    ],
)
async def test_a_cross_site_post_is_refused_with_or_without_the_token(
    http: httpx2.AsyncClient,
    playground: Runtime,
    token: str,
    openai_fake: FakeOpenAI,
    headers: dict[str, str],
    path: str,
    body: dict[str, Any],
) -> None:
    for with_token in (own(playground, token), own(playground, "")):
        sent = {**with_token, **headers}
        sent = {k: v for k, v in sent.items() if v}  # "" drops the header: no Origin at all
        answer = await http.post(path, headers=sent, **body)
        assert answer.status_code == 403, answer.text
    await assert_nothing_drawn(playground, openai_fake)


@pytest.mark.parametrize(("path", "body"), POSTS)
@pytest.mark.parametrize("given", [None, "", "not-the-token", "é".encode()])
async def test_a_post_without_the_pages_token_is_refused(
    http: httpx2.AsyncClient,
    playground: Runtime,
    token: str,
    openai_fake: FakeOpenAI,
    given: str | bytes | None,
    path: str,
    body: dict[str, Any],
) -> None:
    headers: dict[str, str | bytes] = {**own(playground, token)}
    del headers["X-Easel-Token"]
    if given is not None:
        headers["X-Easel-Token"] = given
    answer = await http.post(path, headers=headers, **body)
    assert answer.status_code == 403 and "token" in answer.text
    await assert_nothing_drawn(playground, openai_fake)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": EVIL},
        {"Origin": "null"},
        {"X-Easel-Token": "not-the-token"},
        {"Origin": "", "Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_a_forged_press_leaves_the_drawing_alone(
    http: httpx2.AsyncClient,
    playground: Runtime,
    token: str,
    openai_fake: FakeOpenAI,
    headers: dict[str, str],
) -> None:
    drew = await http.post("/api/draw", data={"prompt": "a bell"}, headers=own(playground, token))
    assert drew.status_code == 202, drew.text
    await playground.turns.join()
    [drawing] = [m for m in hub(playground).hub.snapshot() if m["state"] == "done"]
    sent = {k: v for k, v in {**own(playground, token), **headers}.items() if v}
    for action in ("redo", "delete", "edit"):
        body = {"action": action, "turn": drawing["turn"], "interaction": f"forged-{action}"}
        answer = await http.post("/api/press", json={**body, "text": "a leak"}, headers=sent)
        assert answer.status_code == 403, answer.text
    await playground.turns.join()
    assert len(openai_fake.requests) == 1
    assert (await http.get(drawing["image"])).status_code == 200
    assert hub(playground).hub.drawing(drawing["turn"]) is not None


@pytest.mark.parametrize("query", ["", "?token=", "?token=nope", "?other=x"])
async def test_events_without_the_pages_token_are_refused(
    http: httpx2.AsyncClient, query: str
) -> None:
    answer = await http.get(f"/events{query}")
    assert answer.status_code == 403


async def test_events_with_the_token_stream(http: httpx2.AsyncClient, token: str) -> None:
    async with http.stream("GET", "/events", params={"token": token}) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/event-stream")


async def test_a_rebinding_host_is_refused_on_every_route(
    http: httpx2.AsyncClient,
    playground: Runtime,
    token: str,
    openai_fake: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await http.post(
        "/api/draw", data={"prompt": "a fern", "id": "f"}, headers=own(playground, token)
    )
    await playground.turns.join()
    drawing = next(m for m in hub(playground).hub.snapshot() if m["state"] == "done")
    image = drawing["image"]
    assert (await http.get(image)).status_code == 200
    port = playground.port
    for host in (REBOUND, f"{REBOUND}:{port}", f"127.0.0.1:{port + 1}", "localhost", ""):
        caplog.clear()
        bad = {"Host": host}
        answers = [
            await http.get("/", headers=bad),
            await http.get("/static/app.js", headers=bad),
            await http.get("/events", params={"token": token}, headers=bad),
            await http.get(image, headers=bad),
            await http.post(
                "/api/draw",
                data={"prompt": "a leak"},
                headers=own(playground, token, Origin=f"http://{host}", Host=host),
            ),
            await http.post(
                "/api/press",
                json={
                    "action": "delete",
                    "turn": drawing["turn"],
                    "interaction": f"rebound-{len(host)}",
                },
                headers=own(playground, token, Origin=f"http://{host}", Host=host),
            ),
            await http.get("/favicon.ico", headers=bad),
        ]
        assert [a.status_code for a in answers] == [421] * 7, host
        assert "easel" in answers[0].text and "<" not in answers[0].text
        warnings = [r for r in caplog.records if r.name.startswith("adapters.web")]
        assert [(r.levelno, r.exc_info) for r in warnings] == [(logging.WARNING, None)] * 7
    assert len(openai_fake.requests) == 1
    assert hub(playground).hub.drawing(drawing["turn"]) is not None  # nothing was deleted
