"""The playground's buttons at the wire: POST /api/press, as the page sends each click."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from adapters.runtime import Runtime
from adapters.web.posts import CHANNEL, WORKSPACE
from adapters.web.surface import WebSurface
from bot.models import DrawRequest
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.playground import Events, done, drawn, press


async def test_a_press_draws_the_next_turn_in_the_drawings_thread(
    http: httpx2.AsyncClient, events: Events, openai_fake: FakeOpenAI, playground: Runtime
) -> None:
    first = await drawn(http, events, "a paper crane")
    assert isinstance(first["turn"], int)
    answer = await press(http, "edit", first["turn"], text="fold it from gold paper")
    assert answer.status_code == 202, answer.text
    second = await events.until(lambda m: done(m) and m["id"] != first["id"])
    assert second["thread"] == first["thread"] and not second["opening"]
    body = openai_fake.requests[1]
    assert body["previous_response_id"] == openai_fake.known_response_ids[0]
    assert body["input"][0]["content"][0]["text"] == "fold it from gold paper"
    redo = await press(http, "redo", first["turn"], interaction="click-0002")
    assert redo.status_code == 202, redo.text
    await playground.turns.join()
    yours = [m["text"] for m in events.messages.values() if m["author"] == "you"]
    assert yours == ["/draw a paper crane", "fold it from gold paper", "Redo"]
    assert len(openai_fake.requests) == 3


async def test_the_same_click_twice_draws_once(
    http: httpx2.AsyncClient, events: Events, openai_fake: FakeOpenAI, playground: Runtime
) -> None:
    first = await drawn(http, events, "a single moon")
    openai_fake.push(Script(delay=0.3))
    answers = [await press(http, "redo", first["turn"], interaction="click-same") for _ in "ab"]
    assert [a.status_code for a in answers] == [202, 202], [a.text for a in answers]
    await playground.turns.join()
    assert len(openai_fake.requests) == 2
    assert [m["text"] for m in events.messages.values() if m["author"] == "you"] == [
        "/draw a single moon",
        "Redo",
    ]
    # Another click on the same button while its drawing is on its way: in words, not twice.
    openai_fake.push(Script(delay=0.5))
    third = await press(http, "redo", first["turn"], interaction="click-0003")
    assert third.status_code == 202, third.text
    again = await press(http, "redo", first["turn"], interaction="click-0004")
    assert again.status_code == 400 and "already being drawn" in again.json()["error"]
    await playground.turns.join()
    assert len(openai_fake.requests) == 3


async def test_delete_takes_the_drawing_off_every_page(
    http: httpx2.AsyncClient, events: Events, playground: Runtime
) -> None:
    first = await drawn(http, events, "a fern")
    assert (await http.get(first["image"])).status_code == 200
    answer = await press(http, "delete", first["turn"])
    assert answer.status_code == 202, answer.text
    gone = await events.until(lambda m: m["id"] == first["id"] and m["state"] == "deleted")
    assert gone["image"] is None
    assert (await http.get(first["image"])).status_code == 404
    assert playground.playground is not None
    left = playground.playground.hub.snapshot()
    assert [m["text"] for m in left] == ["/draw a fern"]  # the person's own message stays
    # The deleted drawing's buttons are gone with it.
    redo = await press(http, "redo", first["turn"], interaction="click-0009")
    assert redo.status_code == 404 and "cannot find that drawing" in redo.json()["error"]


async def test_only_the_one_who_asked_may_delete_a_drawing(
    http: httpx2.AsyncClient, events: Events, playground: Runtime
) -> None:
    assert playground.playground is not None
    hub = playground.playground.hub
    theirs = DrawRequest(
        platform="web",
        workspace=WORKSPACE,
        channel=CHANNEL,
        user_id="ada",
        prompt="an owl at noon",
        dedupe_key="web:ada-0001",
    )
    await playground.turns.draw(theirs, lambda admitted: WebSurface(hub=hub, request=admitted))
    owl = await events.until(lambda m: done(m) and m["text"] == "an owl at noon")
    answer = await press(http, "delete", owl["turn"])
    assert answer.status_code == 403, answer.text
    assert answer.json()["error"] == (
        "Only ada, who asked for this drawing, or an admin of this workspace can delete it."
    )
    assert (await http.get(owl["image"])).status_code == 200
    assert hub.drawing(owl["turn"]) is not None
    # The person's own drawing in the same channel is theirs to delete.
    mine = await drawn(http, events, "a heron at dusk")
    assert (await press(http, "delete", mine["turn"], interaction="click-0002")).status_code == 202


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"action": "paint"}, 400, "no such button"),
        ({"action": None}, 400, "no such button"),
        ({"turn": "1"}, 400, "cannot find that drawing"),
        ({"turn": True}, 400, "cannot find that drawing"),
        ({"turn": 0}, 400, "cannot find that drawing"),
        ({"turn": 987654}, 404, "cannot find that drawing"),
        ({"interaction": None}, 400, "reload the page"),
        ({"interaction": "short"}, 400, "reload the page"),
        ({"interaction": "a/../b" * 3}, 400, "reload the page"),
        ({"interaction": "x" * 65}, 400, "reload the page"),
        ({"action": "edit"}, 400, "Type what to change"),
        ({"action": "edit", "text": "   "}, 400, "Type what to change"),
        ({"action": "edit", "text": ["a list"]}, 400, "Type what to change"),
    ],
)
async def test_a_bad_press_is_answered_in_words(
    http: httpx2.AsyncClient,
    events: Events,
    openai_fake: FakeOpenAI,
    playground: Runtime,
    body: dict[str, Any],
    status: int,
    words: str,
) -> None:
    first = await drawn(http, events, "a kite")
    sent = {"action": "redo", "turn": first["turn"], "interaction": "click-0001", **body}
    answer = await http.post("/api/press", json=sent)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["error"]
    await playground.turns.join()
    assert len(openai_fake.requests) == 1


async def test_a_press_that_is_not_json_is_answered_in_words(
    http: httpx2.AsyncClient, events: Events
) -> None:
    for body in (b"not json", b"[1, 2]", b"\xff\xfe"):
        answer = await http.post("/api/press", content=body)
        assert answer.status_code == 400 and "did not understand" in answer.json()["error"]
