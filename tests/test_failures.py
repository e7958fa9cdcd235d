"""One classifier per platform: every fault shape the fakes can play, through the real client
libraries, comes out as LATER (try again), REFUSED (for good), or a bug raised as it was."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from discord.http import HTTPClient, Route

from adapters.discord.failures import classify as classify_discord
from adapters.failures import Caller, Kind, PlatformError
from adapters.slack.failures import classify as classify_slack
from adapters.slack.failures import field
from tests.fakes.discord_server import CHANNEL_ID, FakeDiscord
from tests.fakes.faults import (
    DISCONNECT,
    HANG,
    RESET,
    TRUNCATE,
    Fault,
    answer,
    rate_limited,
    status,
)
from tests.fakes.slack_server import FakeSlack

SHAPES: dict[str, Fault] = {
    "503-json": status(503),
    "503-html": status(503, body="html"),
    "503-text": status(503, body="text"),
    "503-empty": status(503, body="empty"),
    "500-json": status(500),
    "429-retry-after": rate_limited(2),
    "429-bare": rate_limited(None),
    "reset": RESET,
    "disconnect": DISCONNECT,
    "hang": HANG,
    "truncate": TRUNCATE,
}
QUICK = 0.5  # seconds a call may stay silent in these tests


@pytest.mark.parametrize("shape", sorted(SHAPES))
async def test_every_slack_outage_shape_is_later(slack_fake: FakeSlack, shape: str) -> None:
    slack_fake.faults.set("chat.postMessage", SHAPES[shape], times=None)
    client = slack_fake.client(retry_handlers=[])
    call = Caller(classify_slack, timeout=QUICK)
    with pytest.raises(PlatformError) as caught:
        await call(lambda: client.chat_postMessage(channel="C1", text="hi"), what="post")
    assert caught.value.kind is Kind.LATER
    assert caught.value.reason.startswith("post: ")


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (answer(200, {"ok": False, "error": "channel_not_found"}), "channel_not_found"),
        (answer(200, {"ok": False, "error": "internal_error"}), "internal_error"),
        (status(404, body="html"), "HTTP 404"),
        (status(400, body="text"), "HTTP 400"),
    ],
)
async def test_slack_refusals_are_refused_and_say_what_slack_said(
    slack_fake: FakeSlack, fault: Fault, reason: str
) -> None:
    slack_fake.faults.set("chat.update", fault)
    client = slack_fake.client(retry_handlers=[])
    call = Caller(classify_slack, timeout=QUICK)
    with pytest.raises(PlatformError) as caught:
        await call(lambda: client.chat_update(channel="C1", ts="1.0", text="x"), what="update")
    expected = Kind.LATER if reason == "internal_error" else Kind.REFUSED
    assert (caught.value.kind, caught.value.reason) == (expected, f"update: {reason}")


async def test_a_slack_upload_refused_in_words_is_classified_by_its_status(
    slack_fake: FakeSlack,
) -> None:
    client = slack_fake.client(retry_handlers=[])
    call = Caller(classify_slack, timeout=QUICK)
    for code, kind in ((503, Kind.LATER), (413, Kind.REFUSED)):
        slack_fake.faults.set("upload", status(code, body="text"))
        with pytest.raises(PlatformError) as caught:
            await call(
                lambda: client.files_upload_v2(
                    file=b"png", filename="a.png", channel="C1", thread_ts="1.0"
                ),
                what="upload",
            )
        assert caught.value.kind is kind


async def test_a_bug_is_not_a_platform_failure(slack_fake: FakeSlack) -> None:
    call = Caller(classify_slack, timeout=QUICK)

    async def broken() -> None:
        raise TypeError("easel's own mistake")

    with pytest.raises(TypeError):
        await call(broken, what="a bug")


async def test_a_slack_answer_is_read_only_where_it_has_the_field(slack_fake: FakeSlack) -> None:
    client = slack_fake.client(retry_handlers=[])
    response = await client.chat_postMessage(channel="C1", text="hi")
    assert isinstance(field(response, "ts"), str)
    with pytest.raises(PlatformError, match="no 'file'") as caught:
        field(response, "file")
    assert caught.value.kind is Kind.REFUSED


@pytest.fixture
async def discord_http(
    discord_fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[HTTPClient]:
    monkeypatch.setattr(Route, "BASE", discord_fake.api_url)
    http = HTTPClient(asyncio.get_running_loop())
    await http.static_login(discord_fake.token)
    yield http
    await http.close()


DISCORD_SHAPES = {k: v for k, v in SHAPES.items() if k not in ("500-json", "429-retry-after")}


@pytest.mark.parametrize("shape", sorted(DISCORD_SHAPES))
async def test_every_discord_outage_shape_is_later(
    discord_fake: FakeDiscord, discord_http: HTTPClient, shape: str
) -> None:
    """500/502/504 and well-formed 429s discord.py waits out itself (its own test, in
    test_fake_faults); what reaches easel is classified here."""
    discord_fake.faults.set("message_create", DISCORD_SHAPES[shape], times=None)
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=CHANNEL_ID)
    call = Caller(classify_discord, timeout=QUICK)
    with pytest.raises(PlatformError) as caught:
        await call(lambda: discord_http.request(route, json={"content": "hi"}), what="post")
    assert caught.value.kind is Kind.LATER


async def test_a_discord_refusal_is_refused(
    discord_fake: FakeDiscord, discord_http: HTTPClient
) -> None:
    discord_fake.faults.set(
        "message_edit", answer(404, {"message": "Unknown Message", "code": 10008})
    )
    route = Route(
        "PATCH", "/channels/{channel_id}/messages/{message_id}", channel_id=CHANNEL_ID, message_id=1
    )
    call = Caller(classify_discord, timeout=QUICK)
    with pytest.raises(PlatformError) as caught:
        await call(lambda: discord_http.request(route, json={"content": "x"}), what="edit")
    assert caught.value.kind is Kind.REFUSED and "10008" in caught.value.reason
