"""Requests to /slack/events that Slack did not send, or sent more than once, at the wire:
the signature is checked on the raw body before anything parses it, and a replayed /draw
draws once."""

from __future__ import annotations

import logging
import time

import httpx2
import pytest

from adapters.runtime import Runtime
from tests.conftest import SlackSender, settle
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack
from tests.slack import root_message

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
DEEP = "[" * 100_000 + "]" * 100_000


async def post(slack: SlackSender, body: str, headers: dict[str, str]) -> httpx2.Response:
    async with httpx2.AsyncClient(timeout=10) as http:
        return await http.post(slack.url, content=body.encode(), headers=headers)


def signed(slack: SlackSender, body: str, content_type: str, **kw: int) -> dict[str, str]:
    return slack.signed.headers(body, content_type, **kw)


def errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def refusals(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "adapters.slack.runner"]


@pytest.mark.parametrize("body", ["{not json", DEEP, '{"type": "url_verification"}'])
async def test_an_unsigned_body_is_refused_401_before_it_is_read(
    easel: Runtime, slack: SlackSender, caplog: pytest.LogCaptureFixture, body: str
) -> None:
    caplog.set_level(logging.INFO)
    response = await post(slack, body, {"Content-Type": JSON})
    assert response.status_code == 401
    assert errors(caplog) == []
    [line] = refusals(caplog)
    assert line.levelno == logging.WARNING and line.exc_info is None
    assert "not signed by Slack" in line.getMessage()


@pytest.mark.parametrize("how", ["bad-signature", "old-timestamp", "timestamp-not-a-number"])
async def test_a_forged_or_stale_signature_is_refused_401(
    easel: Runtime,
    slack: SlackSender,
    openai_fake: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
    how: str,
) -> None:
    caplog.set_level(logging.INFO)
    body = slack.signed.command("a cat")
    if how == "old-timestamp":  # signed correctly, six minutes ago
        headers = signed(slack, body, FORM, timestamp=int(time.time()) - 6 * 60)
    else:
        headers = signed(slack, body, FORM)
        if how == "bad-signature":
            headers["X-Slack-Signature"] = "v0=" + "0" * 64
        else:
            headers["X-Slack-Request-Timestamp"] = "soon"
    response = await post(slack, body, headers)
    assert response.status_code == 401
    await settle(easel)
    assert openai_fake.requests == []
    assert errors(caplog) == []
    assert [r.levelno for r in refusals(caplog)] == [logging.WARNING]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [("{not json", JSON), (DEEP, JSON), ("[1, 2]", JSON), ("payload=%7Bnot+json", FORM)],
)
async def test_a_signed_body_that_cannot_be_read_is_refused_400_quietly(
    easel: Runtime,
    slack: SlackSender,
    caplog: pytest.LogCaptureFixture,
    body: str,
    content_type: str,
) -> None:
    caplog.set_level(logging.INFO)
    response = await post(slack, body, signed(slack, body, content_type))
    assert response.status_code == 400
    assert errors(caplog) == []
    [line] = refusals(caplog)
    assert line.levelno == logging.WARNING and line.exc_info is None


async def test_a_signed_command_still_draws(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, openai_fake: FakeOpenAI
) -> None:
    response = await slack.command("a lighthouse")
    assert response.status_code == 200 and not response.content
    await settle(easel)
    assert len(openai_fake.requests) == 1
    assert root_message(slack_fake)["ts"]


async def test_a_replayed_draw_is_acked_quietly_and_drawn_once(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, openai_fake: FakeOpenAI
) -> None:
    body = slack.signed.command("a paid lighthouse")
    headers = signed(slack, body, FORM)  # the same bytes and headers each time, as replayed
    for _ in range(3):
        response = await post(slack, body, headers)
        assert response.status_code == 200 and not response.content
        await settle(easel)
    assert len(openai_fake.requests) == 1
    root_message(slack_fake)  # exactly one placeholder
    assert slack_fake.ephemerals == [] and slack_fake.responses == []


async def test_a_replay_of_a_command_without_a_trigger_id_is_drawn_once(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, openai_fake: FakeOpenAI
) -> None:
    body = slack.signed.command("a lighthouse at dusk").replace("&trigger_id=", "&no_trigger=")
    headers = signed(slack, body, FORM)
    for _ in range(2):
        assert (await post(slack, body, headers)).status_code == 200
        await settle(easel)
    assert len(openai_fake.requests) == 1
    root_message(slack_fake)
    second = slack.signed.command("a lighthouse at dusk").replace("&trigger_id=", "&no_trigger=")
    assert second != body  # the same words asked again are a new drawing
    assert (await post(slack, second, signed(slack, second, FORM))).status_code == 200
    await settle(easel)
    assert len(openai_fake.requests) == 2
