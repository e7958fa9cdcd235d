"""Every way a drawing can fail reads like a person wrote it, and leaves the thread as it was."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx2
import pytest

from adapters.runtime import Runtime, running
from bot.config import load_config
from bot.models import ThreadKey
from tests.conftest import CHANNEL, TEAM, SlackSender, settle
from tests.error_shapes import ERROR_SHAPES
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.slack import block_text, image_refs, root_message


async def draw_then_reply(
    slack: SlackSender, easel: Runtime, slack_fake: FakeSlack, text: str
) -> tuple[str, str]:
    """A good first drawing, then a reply; returns (thread ts, the reply's placeholder ts)."""
    await slack.command("a lighthouse")
    await settle(easel)
    ts = root_message(slack_fake)["ts"]
    await slack.event(slack.reply_event(thread_ts=ts, text=text))
    await settle(easel)
    placeholders = [
        m["ts"]
        for m in slack_fake.messages.values()
        if m.get("thread_ts") == ts and m.get("user") == "UBOT" and not m.get("files")
    ]
    assert len(placeholders) >= 1
    return ts, placeholders[0]


@pytest.mark.parametrize("shape", list(ERROR_SHAPES))
async def test_error_shapes_give_clear_words_and_keep_the_thread(
    shape: str,
    easel: Runtime,
    slack: SlackSender,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
) -> None:
    script, words = ERROR_SHAPES[shape]
    openai_fake.push(Script(), script)
    ts, reply_ts = await draw_then_reply(slack, easel, slack_fake, "make it stormy")

    shown = block_text(slack_fake.messages[(CHANNEL, reply_ts)]["blocks"])
    assert words in shown, shown
    assert ":warning:" in shown
    key = ThreadKey("slack", TEAM, CHANNEL, ts)
    state = await easel.store.threads.get(key)
    first = openai_fake.known_response_ids[0]
    assert state is not None and state.last_response_id == first
    turns = await easel.store.ledger.turns(key)
    assert [t["status"] for t in turns] == ["delivered", "failed"]

    # The next reply continues from the last good image.
    await slack.event(slack.reply_event(thread_ts=ts, text="try once more"))
    await settle(easel)
    assert openai_fake.requests[-1]["previous_response_id"] == first
    assert slack_fake.violations == []


async def test_429_then_success_is_retried_by_the_sdk(
    env: dict[str, str], openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(http_error=(429, "rate_limit_exceeded", "Slow down"), retry_after=0))
    async with running(load_config({**env, "EASEL_OPENAI_MAX_RETRIES": "2"})) as easel:
        slack = SlackSender(port=easel.port)
        await slack.command("a quiet harbour")
        await settle(easel)
        await slack.aclose()
    assert len(openai_fake.requests) == 2
    message = root_message(slack_fake)
    assert "Reply in this thread" in block_text(message["blocks"])


async def test_a_silent_stream_times_out_with_clear_words(
    env: dict[str, str], openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(hang_after_partials=True, partials=1, delay=0.05))
    async with running(load_config({**env, "EASEL_OPENAI_TIMEOUT": "1"})) as easel:
        slack = SlackSender(port=easel.port)
        await slack.command("a slow painting")
        await settle(easel)
        await slack.aclose()
    shown = block_text(root_message(slack_fake)["blocks"])
    assert "took too long" in shown
    # The preview that was shown is cleaned up when the turn fails.
    previews = [f for f in slack_fake.files.values() if f.name.startswith("preview")]
    assert all(f.deleted for f in previews)


async def test_slack_refusing_an_image_update_degrades_to_text(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(delay=0.25))
    slack_fake.fail("chat.update", "invalid_blocks", times=1)
    await slack.command("a paper boat")
    await settle(easel)
    message = root_message(slack_fake)
    updates = [c for c in slack_fake.calls_to("chat.update") if c.args["ts"] == message["ts"]]
    refused = updates[0]
    assert image_refs(refused.args["blocks"]), "the first update tried to show an image"
    text_only = updates[1]
    assert image_refs(text_only.args["blocks"]) == []
    assert "preview 1 of 2" in block_text(text_only.args["blocks"])
    # The drawing itself was not lost.
    final_png = next(iter(openai_fake.images_sent.values()))
    final = next(f for f in slack_fake.files.values() if f.data == final_png)
    assert image_refs(message["blocks"]) == [final.id]


async def test_slack_rate_limits_are_waited_out(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    slack_fake.rate_limit("chat.update", times=2, retry_after=0)
    await slack.command("a windmill")
    await settle(easel)
    statuses = [c.status for c in slack_fake.calls_to("chat.update")]
    assert statuses[:2] == [429, 429] and statuses[-1] == 200
    assert "Reply in this thread" in block_text(root_message(slack_fake)["blocks"])


async def test_not_in_channel_is_explained_privately(
    env: dict[str, str], openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    slack_fake.fail("chat.postMessage", "not_in_channel")
    async with running(load_config(env)) as easel:
        slack = SlackSender(port=easel.port)
        await slack.command("a fox", response_url=slack_fake.response_url())
        await settle(easel)
        await slack.aclose()
    assert openai_fake.requests == []
    assert len(slack_fake.responses) == 1
    response = slack_fake.responses[0]
    assert response["response_type"] == "ephemeral"
    assert "/invite @easel" in response["text"]


@pytest.fixture
async def raw_http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(timeout=5) as client:
        yield client


async def test_healthz_reports_the_store_and_slack(
    easel: Runtime, raw_http: httpx2.AsyncClient
) -> None:
    response = await raw_http.get(f"http://127.0.0.1:{easel.port}/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True, "ready": True, "store": True, "slack": True}


async def test_a_file_slack_never_reports_processed_still_delivers_the_drawing(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    slack_fake.fail("files.info", "file_not_found", times=1000)  # it will not say
    await slack.command("a harbour at night")
    await settle(easel)
    message = root_message(slack_fake)
    # The file is in the thread; the message points there in words instead of showing it.
    final_png = next(iter(openai_fake.images_sent.values()))
    final = next(f for f in slack_fake.files.values() if f.data == final_png)
    assert final.thread_ts == message["ts"] and not final.deleted
    assert image_refs(message["blocks"]) == []
    assert "the image is in the thread" in block_text(message["blocks"])
    state = await easel.store.threads.get(ThreadKey("slack", TEAM, CHANNEL, message["ts"]))
    assert state is not None and state.last_file_ref == final.id
