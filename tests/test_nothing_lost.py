"""Nothing paid for is lost or doubled, whatever Slack, Discord or the senders do: the cases
that once lost or broke a drawing, each at the wire."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from adapters.runtime import Runtime, running
from bot.config import load_config
from bot.models import ThreadKey
from tests.conftest import CHANNEL, TEAM, SlackSender, draw, eventually, settle
from tests.fakes.discord_server import FakeDiscord, wait_ready
from tests.fakes.faults import LOST, RESET, status
from tests.fakes.openai_server import FakeOpenAI, Script, make_png
from tests.fakes.slack_server import FakeSlack
from tests.process import BotProcess
from tests.slack import block_text, root_message, root_text

QUICK = {"EASEL_DELIVERY_MAX_PAUSE": "0.05", "EASEL_CHAT_TIMEOUT": "1"}
DONE = "Reply in this thread to edit the image."


@pytest.fixture
async def easel(env: dict[str, str]) -> AsyncIterator[Runtime]:
    async with running(load_config({**env, **QUICK})) as runtime:
        yield runtime


@pytest.fixture
async def slack(easel: Runtime) -> AsyncIterator[SlackSender]:
    sender = SlackSender(port=easel.port)
    yield sender
    await sender.aclose()


def finals(slack_fake: FakeSlack) -> list[Any]:
    """Final images in a thread (completed uploads named from the image call)."""
    return [f for f in slack_fake.files.values() if f.completed and f.name.startswith("easel-")]


def shown(slack_fake: FakeSlack) -> str:
    return root_text(slack_fake)


async def statuses(easel: Runtime, slack_fake: FakeSlack) -> list[str]:
    key = ThreadKey("slack", TEAM, CHANNEL, root_message(slack_fake)["ts"])
    return [t["status"] for t in await easel.store.ledger.turns(key)]


async def test_a_slack_outage_answering_text_keeps_the_image_until_slack_is_back(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    """503 with `upstream connect error …` as its body, as a load balancer answers."""
    openai_fake.push(Script(partials=0))
    slack_fake.faults.set("files.completeUploadExternal", status(503, body="text"), times=3)
    await slack.command("a kettle on a stove")
    await settle(easel)
    assert len(finals(slack_fake)) == 1 and DONE in shown(slack_fake)
    updates = [block_text(c.args.get("blocks") or []) for c in slack_fake.calls_to("chat.update")]
    assert any("finished, delivering" in text for text in updates)
    assert await statuses(easel, slack_fake) == ["delivered"]


async def test_a_reset_on_the_final_message_edit_delivers_once_and_advances_the_chain(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=0), Script(partials=0))
    slack_fake.faults.set("chat.update", RESET, times=2)  # the file is already in the thread
    await slack.command("a kettle on a stove")
    await settle(easel)
    assert DONE in shown(slack_fake) and len(finals(slack_fake)) == 1
    assert await statuses(easel, slack_fake) == ["delivered"]
    root = root_message(slack_fake)
    await slack.event(slack.reply_event(thread_ts=root["ts"], text="now at night"))
    await settle(easel)
    assert openai_fake.requests[1]["previous_response_id"] == openai_fake.known_response_ids[0]


async def test_an_upload_whose_answer_was_lost_is_found_in_the_thread_not_uploaded_again(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=0))
    slack_fake.faults.set("files.completeUploadExternal", LOST)  # done, but easel never hears
    await slack.command("a kettle on a stove")
    await settle(easel)
    assert len(finals(slack_fake)) == 1, "the retry looked in the thread first"
    assert slack_fake.calls_to("conversations.replies")
    assert len(slack_fake.calls_to("files.completeUploadExternal")) == 1
    assert DONE in shown(slack_fake)


async def test_a_5xx_on_the_final_edit_is_tried_again_and_the_preview_goes_only_after(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=1, delay=0.3))
    await slack.command("a kettle on a stove")
    await eventually(lambda: "preview 1" in shown(slack_fake))
    [preview] = [f for f in slack_fake.files.values() if f.name.startswith("preview-")]
    slack_fake.faults.set("chat.update", status(503, body="html"), times=3)
    await settle(easel)
    failed = [c for c in slack_fake.calls_to("chat.update") if c.status == 503]
    assert len(failed) == 3
    assert all(c.at < (preview.deleted_at or float("inf")) for c in failed), (
        "the preview stayed while the message still showed it"
    )
    assert preview.deleted and DONE in shown(slack_fake) and len(finals(slack_fake)) == 1


async def test_a_5xx_on_the_placeholder_is_tried_again_for_a_few_seconds(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=0))
    slack_fake.faults.set("chat.postMessage", status(503, body="empty"), times=2)
    await slack.command("a kettle on a stove", response_url=slack_fake.response_url())
    await settle(easel)
    assert DONE in shown(slack_fake) and slack_fake.responses == []


async def test_slack_down_at_the_placeholder_says_nothing_was_drawn(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    slack_fake.faults.set("chat.postMessage", status(503, body="html"), times=None)
    await slack.command("a kettle on a stove", response_url=slack_fake.response_url())
    await eventually(lambda: slack_fake.responses, within=15)
    [said] = slack_fake.responses
    assert "Slack is not answering right now, so nothing was drawn" in said["text"]
    assert "image was drawn" not in said["text"]
    assert openai_fake.requests == [] and finals(slack_fake) == []


async def test_a_reset_while_fetching_an_attachment_fails_the_turn_with_its_name(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=0))
    await slack.command("a kettle")
    await settle(easel)
    root = root_message(slack_fake)
    photo = slack_fake.add_file(make_png((32, 32), 3, 0), "photo.png", CHANNEL)
    slack_fake.faults.set("download", RESET, times=None)  # aiohttp retries one GET itself
    await slack.event(slack.reply_event(thread_ts=root["ts"], text="like this", files=[photo]))
    await settle(easel)
    in_thread = [m for m in slack_fake.messages.values() if m.get("thread_ts") == root["ts"]]
    answer = in_thread[-1]
    assert "easel could not download photo.png from Slack" in block_text(answer["blocks"])
    assert await statuses(easel, slack_fake) == ["delivered", "failed"]
    assert len(openai_fake.requests) == 1


async def test_a_repeated_reply_never_lets_the_next_one_draw_from_the_same_image(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    """Reply A; Slack sends A again (X-Slack-Retry-Num: 1); reply B while A draws."""
    openai_fake.push(Script(partials=0), Script(partials=0, delay=0.3), Script(partials=0))
    await slack.command("a kettle")
    await settle(easel)
    ts = root_message(slack_fake)["ts"]
    a = slack.reply_event(thread_ts=ts, text="make it blue")
    await slack.event(a, event_id="EvA")
    await eventually(lambda: len(openai_fake.requests) == 2)
    await slack.event(
        a, event_id="EvA", **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )
    await slack.event(slack.reply_event(thread_ts=ts, text="add a hat"), event_id="EvB")
    await settle(easel)
    assert [r.get("previous_response_id") for r in openai_fake.requests] == [
        None,
        *openai_fake.known_response_ids[:2],
    ]
    assert await statuses(easel, slack_fake) == ["delivered", "delivered", "delivered"]


async def test_after_a_kill_with_the_file_in_the_thread_the_restart_only_edits_the_message(
    env: dict[str, str], tmp_path: Path, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    bot_env = {**env, **QUICK, "EASEL_LOG_LEVEL": "INFO"}
    openai_fake.push(Script(partials=0))
    slack_fake.faults.set("chat.update", status(503), times=None)
    async with BotProcess(bot_env, log_path=tmp_path / "bot.log") as bot:
        sender = SlackSender(port=bot.port)
        await sender.command("a kettle on a stove")
        await eventually(
            lambda: finals(slack_fake) and len(slack_fake.calls_to("chat.update")) >= 2
        )
        bot.kill()
        await bot.wait()
        with sqlite3.connect(bot_env["EASEL_DB"]) as db:
            assert db.execute("SELECT status, file_ref FROM turns").fetchall() == [
                ("delivering", finals(slack_fake)[0].id)
            ]
        slack_fake.faults.clear()
        await bot.start()
        await eventually(lambda: DONE in shown(slack_fake))
        assert len(finals(slack_fake)) == 1, "the restart did not upload the image again"
        await sender.aclose()
        bot.terminate()
        assert await bot.wait() == 0


# -- Discord ------------------------------------------------------------------------------


async def test_discord_a_lost_answer_on_the_final_edit_never_doubles_the_file(
    discord_env: dict[str, str], discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    async with running(load_config({**discord_env, **QUICK})) as runtime:
        await wait_ready(discord_fake)
        await eventually(lambda: runtime.discord is not None and runtime.discord.connected())
        openai_fake.push(Script(partials=0))
        with_file = lambda request: request.content_type.startswith("multipart/")  # noqa: E731
        discord_fake.faults.set("edit_original", LOST, times=1, where=with_file)
        mid = await draw(discord_fake, runtime, "a lighthouse")
        edits = [c for c in discord_fake.calls if c.method == "PATCH" and c.files]
        assert len(edits) == 1, "the final was looked for on its message, not sent again"
        message = discord_fake.messages[mid]
        assert next(a["filename"] for a in message["attachments"]).startswith("easel-")


async def test_a_prompt_that_says_channel_never_notifies_the_channel(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=0))
    await slack.command("<!channel> <!here> a banner that says <@U2>")
    await settle(easel)
    texts = [c.args.get("text", "") for c in slack_fake.calls if c.method.startswith("chat.")]
    assert texts and all("<!" not in text and "<@U2>" not in text for text in texts)
    assert all("&lt;!channel&gt;" in text for text in texts)
