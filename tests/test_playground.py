"""The playground adapter at the wire: the page, /api/draw, live SSE updates, images."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import struct

import httpx2
import pytest

from adapters.runtime import Runtime
from tests.fakes.openai_server import FakeOpenAI, Script, make_png
from tests.playground import Events, done, token
from tests.waiting import eventually


async def test_the_page_and_its_assets_are_served(http: httpx2.AsyncClient) -> None:
    page = await http.get("/")
    assert page.status_code == 200 and "easel playground" in page.text
    # Every file the page and its modules ask for is there: no 404 in the browser's console.
    asked = re.findall(r'(?:href|src)="(/[^"]+)"', page.text)
    for path in asked:  # grows as each module's imports are found
        answer = await http.get(path)
        assert answer.status_code == 200, path
        if path.endswith(".js"):
            imported = re.findall(r'from "\./([^"]+)"', answer.text)
            asked += [f"/static/{n}" for n in imported if f"/static/{n}" not in asked]
    wanted = {"/static/app.js", "/static/render.js", "/static/dialogs.js", "/favicon.ico"}
    assert wanted <= set(asked), asked
    icon = await http.get("/favicon.ico")
    assert icon.headers["content-type"] == "image/svg+xml" and icon.content.startswith(b"<svg")
    assert icon.content == (await http.get("/static/icon.svg")).content
    assert (await http.get("/static/../bot/config.py")).status_code == 404


async def test_draw_previews_then_final_in_one_message_and_a_reply_edits_it(
    http: httpx2.AsyncClient, events: Events, openai_fake: FakeOpenAI
) -> None:
    openai_fake.push(Script(delay=0.3))
    response = await http.post("/api/draw", data={"prompt": "/draw a paper crane", "id": "a1"})
    assert response.status_code == 202
    final = await events.until(done)
    # One message went from drawing to preview to done.
    states = [m["state"] for m in events.history if m["id"] == final["id"]]
    assert states[0] == "drawing" and "preview" in states and states[-1] == "done"
    assert final["text"] == "a paper crane" and final["note"] == "a revised prompt"
    image = await http.get(final["image"])
    assert image.content == next(iter(openai_fake.images_sent.values()))
    download = await http.get(final["download"])
    assert "attachment" in download.headers["content-disposition"]

    png = make_png((16, 16), seed=3, blur=0)
    reply = await http.post(
        "/api/draw",
        data={"prompt": "make it gold", "thread": final["thread"], "id": "a2"},
        files={"image": ("gold.png", png, "image/png")},
    )
    assert reply.status_code == 202
    second = await events.until(lambda m: done(m) and m["id"] != final["id"])
    assert second["thread"] == final["thread"]
    body = openai_fake.requests[1]
    assert body["previous_response_id"] == openai_fake.known_response_ids[0]
    kinds = [part["type"] for part in body["input"][0]["content"]]
    assert kinds == ["input_text", "input_image"]
    # The /draw opened the thread as the person's message; the reply is theirs too.
    yours = [m for m in events.messages.values() if m["author"] == "you"]
    assert [m["text"] for m in yours] == ["/draw a paper crane", "make it gold"]
    assert [m["opening"] for m in yours] == [True, False]
    assert yours[0]["id"] == final["thread"] and final["opening"] and not second["opening"]
    assert yours[1]["line"] == "attached: gold.png"


async def test_bad_input_is_answered_in_plain_words(
    http: httpx2.AsyncClient, events: Events, openai_fake: FakeOpenAI
) -> None:
    empty = await http.post("/api/draw", data={"prompt": "/draw  "})
    assert empty.status_code == 400 and "Tell easel what to draw" in empty.json()["error"]
    stranger = await http.post("/api/draw", data={"prompt": "hi", "thread": "nope"})
    assert stranger.status_code == 404
    await http.post("/api/draw", data={"prompt": "a fox", "id": "b1"})
    first = await events.until(done)
    text_file = await http.post(
        "/api/draw",
        data={"prompt": "use this", "thread": first["thread"], "id": "b2"},
        files={"image": ("notes.png", b"not an image", "image/png")},
    )
    assert text_file.status_code == 202
    failed = await events.until(lambda m: m["state"] == "failed")
    assert "notes.png is not an image" in failed["note"]
    assert len(openai_fake.requests) == 1


async def test_a_repeated_post_draws_once(
    http: httpx2.AsyncClient, events: Events, openai_fake: FakeOpenAI, playground: Runtime
) -> None:
    for _ in range(2):
        await http.post("/api/draw", data={"prompt": "a single moon", "id": "same"})
    await events.until(done)
    await playground.turns.join()
    assert len(openai_fake.requests) == 1


async def _open_events(port: int, token: str) -> asyncio.StreamWriter:
    """GET /events over a bare socket, as a tab does; returns once the first event arrived."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"GET /events?token={token} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    writer.write(f"{head}Accept: text/event-stream\r\n\r\n".encode())
    async with asyncio.timeout(10):
        while not (line := await reader.readline()).startswith(b"data:"):
            assert line, "the stream ended before its first event"
    return writer


async def test_a_closed_tab_ends_its_stream_quietly(
    http: httpx2.AsyncClient,
    playground: Runtime,
    openai_fake: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="adapters.web")
    assert playground.playground is not None
    hub = playground.playground.hub
    await http.post("/api/draw", data={"prompt": "a moth", "id": "m1"})
    await playground.turns.join()
    writer = await _open_events(playground.port, token(http))
    assert hub.subscribers == 1
    # The tab goes away at once: the socket is reset, not closed politely.
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    openai_fake.push(Script(delay=0.2))  # the hub publishes while it draws
    answer = await http.post("/api/draw", data={"prompt": "a second moth", "id": "m2"})
    assert answer.status_code == 202
    await eventually(lambda: hub.subscribers == 0)
    await playground.turns.join()
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [], [r.getMessage() for r in errors]
    gone = [r for r in caplog.records if r.name == "adapters.web.app" and "tab" in r.getMessage()]
    assert gone and all(r.levelno <= logging.INFO and r.exc_info is None for r in gone)


async def test_the_playground_answers_only_this_machine(playground: Runtime) -> None:
    # The same handler, reached with a non-loopback peer address, is refused.
    from aiohttp.test_utils import make_mocked_request

    assert playground.playground is not None
    route = next(r for r in playground.playground.routes() if r.path == "/")  # type: ignore[attr-defined]
    request = make_mocked_request("GET", "/", transport=_Transport("192.0.2.7"))
    with pytest.raises(Exception) as refused:
        await route.handler(request)
    assert getattr(refused.value, "status", None) == 403


class _Transport:
    def __init__(self, host: str) -> None:
        self._host = host

    def get_extra_info(self, name: str, default: object = None) -> object:
        return (self._host, 40000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False
