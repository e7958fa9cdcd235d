"""What easel listens to, what it ignores, and how it treats what people attach."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.runtime import Runtime
from tests.conftest import CHANNEL, USER, SlackSender, settle
from tests.fakes.openai_server import FakeOpenAI, make_png
from tests.fakes.slack_server import FakeSlack
from tests.test_slack_draw import block_text, root_message


async def start_drawing(easel: Runtime, slack: SlackSender, slack_fake: FakeSlack) -> str:
    await slack.command("a lighthouse")
    await settle(easel)
    return str(root_message(slack_fake)["ts"])


IGNORED = {
    "bot-message": {"bot_id": "B2", "subtype": "bot_message"},
    "edit": {"subtype": "message_changed", "hidden": True},
    "deletion": {"subtype": "message_deleted", "hidden": True},
    "channel-join": {"subtype": "channel_join"},
}


@pytest.mark.parametrize("kind", list(IGNORED))
async def test_only_new_human_replies_start_a_turn(
    kind: str,
    easel: Runtime,
    slack: SlackSender,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
) -> None:
    ts = await start_drawing(easel, slack, slack_fake)
    await slack.event(slack.reply_event(thread_ts=ts, text="make it red", **IGNORED[kind]))
    await settle(easel)
    assert len(openai_fake.requests) == 1


async def test_threads_easel_did_not_start_are_ignored(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    await start_drawing(easel, slack, slack_fake)
    await slack.event(slack.reply_event(thread_ts="1699999999.000001", text="draw me a cat"))
    # A top-level message (no thread) is not a reply either.
    top = slack.reply_event(thread_ts="x", text="draw me a dog")
    del top["thread_ts"]
    await slack.event(top)
    await settle(easel)
    assert len(openai_fake.requests) == 1


async def test_a_reply_with_no_words_gets_a_private_hint(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    ts = await start_drawing(easel, slack, slack_fake)
    await slack.event(slack.reply_event(thread_ts=ts, text="  "))
    await settle(easel)
    assert len(openai_fake.requests) == 1
    assert len(slack_fake.ephemerals) == 1
    hint = slack_fake.ephemerals[0]
    assert (hint["user"], hint["thread_ts"]) == (USER, ts)
    assert "Tell easel what to draw" in hint["text"]


def attached_file(slack_fake: FakeSlack, data: bytes, name: str, **changes: Any) -> dict[str, Any]:
    shared = slack_fake.add_file(data, name, CHANNEL)
    shared.update(changes)
    return shared


async def reply_with(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, ts: str, files: list[dict[str, Any]]
) -> str:
    """Reply with `files`; return what the reply's placeholder message ended up saying."""
    await slack.event(slack.reply_event(thread_ts=ts, text="use this", files=files))
    await settle(easel)
    replies = [
        m
        for m in slack_fake.messages.values()
        if m.get("thread_ts") == ts and m.get("user") == "UBOT" and not m.get("files")
    ]
    assert len(replies) == 1
    return block_text(replies[0]["blocks"])


async def test_a_file_that_is_not_an_image_is_named_and_refused(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    ts = await start_drawing(easel, slack, slack_fake)
    notes = attached_file(slack_fake, b"just some notes\n", "notes.txt")
    shown = await reply_with(easel, slack, slack_fake, ts, [notes])
    assert "notes.txt is not an image" in shown
    assert len(openai_fake.requests) == 1
    assert notes["id"] not in slack_fake.downloads


async def test_a_text_file_named_png_is_caught_by_decoding(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    ts = await start_drawing(easel, slack, slack_fake)
    fake_png = attached_file(slack_fake, b"not really a png", "cat.png", mimetype="image/png")
    shown = await reply_with(easel, slack, slack_fake, ts, [fake_png])
    assert "cat.png is not an image easel can read" in shown
    assert len(openai_fake.requests) == 1


async def test_an_oversized_image_is_refused_before_download(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    ts = await start_drawing(easel, slack, slack_fake)
    big = attached_file(slack_fake, make_png((8, 8), seed=1, blur=0), "huge.png", size=60 * 2**20)
    shown = await reply_with(easel, slack, slack_fake, ts, [big])
    assert "huge.png is 60 MB" in shown
    assert big["id"] not in slack_fake.downloads


async def test_a_file_outside_slack_is_never_fetched(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    ts = await start_drawing(easel, slack, slack_fake)
    png = make_png((8, 8), seed=2, blur=0)
    outside = attached_file(
        slack_fake,
        png,
        "elsewhere.png",
        url_private_download="https://files.example.org/elsewhere.png",
        url_private="https://files.example.org/elsewhere.png",
    )
    shown = await reply_with(easel, slack, slack_fake, ts, [outside])
    assert "elsewhere.png is not stored on Slack" in shown
    assert len(openai_fake.requests) == 1


async def test_app_home_shows_how_to_draw(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack
) -> None:
    await slack.event({"type": "app_home_opened", "user": USER, "channel": "D1", "tab": "home"})
    await settle(easel)
    view = slack_fake.views[USER]
    assert view["type"] == "home"
    text = str(view["blocks"])
    assert "/draw" in text and "gpt-image-2" in text
