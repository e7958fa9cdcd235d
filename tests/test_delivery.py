"""Delivery while a platform or the image service is down: a finished image is tried again
until the platform takes it (saying "finished, delivering…" meanwhile), a preview never is,
and a drawing the image service never finished costs nothing."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator

import pytest

from adapters.runtime import Runtime, running
from bot.config import load_config
from bot.models import ThreadKey
from bot.turns.delivery import pauses
from tests.conftest import CHANNEL, TEAM, USER, SlackSender, draw, eventually, settle
from tests.discord_buttons import buttons, finished
from tests.fakes.discord_server import GUILD_ID, FakeDiscord, wait_ready
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.slack import block_text, root_message

PATIENT = {"EASEL_DELIVERY_MAX_PAUSE": "0.05"}


@pytest.fixture
async def easel(env: dict[str, str]) -> AsyncIterator[Runtime]:
    async with running(load_config({**env, **PATIENT})) as runtime:
        yield runtime


@pytest.fixture
async def slack(easel: Runtime) -> AsyncIterator[SlackSender]:
    sender = SlackSender(port=easel.port)
    yield sender
    await sender.aclose()


def shown_lines(slack_fake: FakeSlack) -> list[str]:
    return [block_text(c.args.get("blocks") or []) for c in slack_fake.calls_to("chat.update")]


async def test_slack_503s_on_the_final_upload_are_waited_out(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=0))
    slack_fake.unavailable("upload", 3)
    await slack.command("a kettle on a stove")
    await settle(easel)
    uploads = slack_fake.calls_to("upload")
    assert [c.status for c in uploads] == [503, 503, 503, 200]
    assert any("finished, delivering" in line for line in shown_lines(slack_fake))
    root = root_message(slack_fake)
    assert "Reply in this thread" in block_text(root["blocks"])
    finals = [f for f in slack_fake.files.values() if f.completed]
    assert len(finals) == 1
    turns = await easel.store.ledger.turns(ThreadKey("slack", TEAM, CHANNEL, root["ts"]))
    assert [t["status"] for t in turns] == ["delivered"]
    assert (await easel.store.ledger.outbox.held()) == []


async def test_a_preview_slack_refuses_is_never_tried_again(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=2, delay=0.4))
    slack_fake.unavailable("upload", 1)  # the first upload is the first preview's
    await slack.command("a snail on a leaf")
    await settle(easel)
    names = [c.args.get("filename") for c in slack_fake.calls_to("files.getUploadURLExternal")]
    assert names[0] == "preview-1.jpeg"
    assert names.count("preview-1.jpeg") == 1  # refused once, never asked again
    assert "preview-2.jpeg" in names
    assert "Reply in this thread" in block_text(root_message(slack_fake)["blocks"])


async def test_an_openai_outage_past_the_sdks_retries_fails_clearly_and_costs_nothing(
    env: dict[str, str], openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    busy = Script(http_error=(503, None, "The server is overloaded."), retry_after=0)
    openai_fake.push(busy, busy, busy)
    config = load_config({**env, "EASEL_OPENAI_MAX_RETRIES": "2"})
    async with running(config) as easel:
        slack = SlackSender(port=easel.port)
        await slack.command("a busy beehive")
        await settle(easel)
        await slack.aclose()
        root = root_message(slack_fake)
        turns = await easel.store.ledger.turns(ThreadKey("slack", TEAM, CHANNEL, root["ts"]))
        report = await easel.workspaces.usage("slack", TEAM, USER)
    assert len(openai_fake.requests) == 3  # the first try and the SDK's two retries
    assert "busy" in block_text(root["blocks"])
    assert [(t["status"], t["cost_usd"]) for t in turns] == [("failed", None)]
    assert (report.today, report.month_spend.drawings, report.month_spend.usd) == (0, 0, 0)


async def test_a_discord_503_on_a_replys_final_edit_is_waited_out(
    discord_env: dict[str, str],
    openai_fake: FakeOpenAI,
    discord_fake: FakeDiscord,
) -> None:
    """Edits with the bot token (a reply's message) meet a 503 as it is: discord.py retries
    5xx on interaction webhooks only, so easel's own patience is what delivers here."""
    openai_fake.push(Script(partials=0), Script(partials=0, delay=0.5))
    async with running(load_config({**discord_env, **PATIENT})) as easel:
        await wait_ready(discord_fake)
        thread = await draw(discord_fake, easel, "a windmill at dusk")
        reply = discord_fake.person_message(thread, "now in a storm")
        await discord_fake.dispatch("MESSAGE_CREATE", reply)
        edits = f"/channels/{thread}/messages/"
        await eventually(lambda: discord_fake.bot_messages_in(thread))
        discord_fake.unavailable("PATCH", edits, 1)
        await settle(easel)
        answer = discord_fake.bot_messages_in(thread)[-1]
        patches = discord_fake.rest("PATCH", edits)
        assert [c.status for c in patches].count(503) == 1
        assert patches[-1].status == 200
        shown = [c.payload.get("content") or "" for c in patches if c.status == 200]
        assert any("finished, delivering" in text for text in shown)
        assert [a["filename"][:6] for a in answer["attachments"]] == ["easel-"]
        assert "Reply again to keep editing." in answer["content"]
        key = ThreadKey("discord", str(GUILD_ID), str(thread), str(thread))
        assert [t["status"] for t in await easel.store.ledger.turns(key)] == [
            "delivered",
            "delivered",
        ]
        assert (await easel.store.ledger.outbox.held()) == []


async def test_a_discord_reply_cut_off_by_shutdown_is_drawn_again_by_replying_retry(
    discord_env: dict[str, str],
    openai_fake: FakeOpenAI,
    discord_fake: FakeDiscord,
) -> None:
    openai_fake.push(Script(partials=0), Script(partials=1, hang_after_partials=True))
    config = load_config({**discord_env, "EASEL_SHUTDOWN_GRACE": "0"})
    async with running(config) as easel:
        await wait_ready(discord_fake)
        thread = await draw(discord_fake, easel, "a castle on a hill")
        await discord_fake.dispatch(
            "MESSAGE_CREATE", discord_fake.person_message(thread, "at night")
        )
        await eventually(lambda: len(openai_fake.requests) == 2)
    cut = discord_fake.bot_messages_in(thread)[-1]
    assert "restarted while drawing" in cut["content"]
    assert cut["components"][0]["components"][0]["custom_id"] == "easel:retry:2"

    openai_fake.push(Script(partials=0))
    identified = len(discord_fake.identified)
    async with running(config) as easel:
        await eventually(lambda: len(discord_fake.identified) > identified)
        await eventually(lambda: easel.discord is not None and easel.discord.connected())
        await discord_fake.dispatch("MESSAGE_CREATE", discord_fake.person_message(thread, "Retry"))
        await eventually(lambda: len(openai_fake.requests) == 3)
        await settle(easel)
        key = ThreadKey("discord", str(GUILD_ID), str(thread), str(thread))
        turns = await easel.store.ledger.turns(key)
    assert [t["status"] for t in turns] == ["delivered", "interrupted", "delivered"]
    assert openai_fake.requests[2]["previous_response_id"] == openai_fake.known_response_ids[0]
    assert "at night" in str(openai_fake.requests[2]["input"])
    answer = discord_fake.messages[int(cut["id"])]  # the same message, drawn again
    assert [a["filename"][:6] for a in answer["attachments"]] == ["easel-"]
    assert buttons(answer) == finished(3)  # Retry gone; the drawing's own buttons


def test_delivery_keeps_trying_past_ten_minutes_at_most_the_pause_apart() -> None:
    schedule = list(itertools.islice(pauses(60.0), 10_000))
    assert schedule[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert max(schedule) == 60.0
    assert len(schedule) == 10_000  # it never gives up on its own
    elapsed = list(itertools.accumulate(schedule))
    assert sum(1 for t in elapsed if t <= 600) < 20  # ten minutes pass within 20 attempts
