"""What easel listens to, what it ignores, and how it treats what people attach."""

from __future__ import annotations

import pytest

from adapters.runtime import Runtime
from tests.conftest import USER, SlackSender, settle
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack
from tests.slack import root_message


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


async def test_app_home_shows_how_to_draw(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack
) -> None:
    await slack.event({"type": "app_home_opened", "user": USER, "channel": "D1", "tab": "home"})
    await settle(easel)
    view = slack_fake.views[USER]
    assert view["type"] == "home"
    text = str(view["blocks"])
    assert "/draw" in text and "gpt-image-2" in text
