"""More drawings at once than Slack's Tier 3 lets one workspace edit (chat.update metered by
the fake as Slack meters it): every final reaches its thread and its message, previews are
dropped rather than queued, and 429s stay rare."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from adapters.runtime import Runtime
from tests.conftest import SlackSender, settle
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import Call, FakeSlack
from tests.slack import block_text, image_refs, root_message

DRAWINGS = 10
BURST = 4
PER_MINUTE = 300  # five edits a second: the test's minutes are short


@pytest.fixture
def env(env: dict[str, str]) -> dict[str, str]:
    """easel's edit budget as large as the fake's Tier 3 bucket (tests that shrink Slack's
    bucket below it show easel learning from the 429s)."""
    return {
        **env,
        "EASEL_SLACK_EDIT_BURST": str(BURST),
        "EASEL_SLACK_EDITS_PER_MINUTE": str(PER_MINUTE),
    }


def roots(slack_fake: FakeSlack) -> list[dict[str, Any]]:
    return [
        m
        for m in slack_fake.messages.values()
        if m.get("user") == "UBOT" and not m.get("thread_ts") and not m.get("files")
    ]


def text_of(call: Call) -> str:
    return block_text(call.args.get("blocks") or [])


async def draw_at_once(slack: SlackSender, openai_fake: FakeOpenAI, n: int) -> None:
    openai_fake.push(*[Script(delay=0.05) for _ in range(n)])
    answers = await asyncio.gather(*(slack.command(f"drawing {i}") for i in range(n)))
    assert all(a.status_code == 200 for a in answers)


def assert_every_final_delivered_and_shown(
    slack_fake: FakeSlack, openai_fake: FakeOpenAI, n: int
) -> None:
    messages = roots(slack_fake)
    assert len(messages) == n
    finals = {
        f.thread_ts: f
        for f in slack_fake.files.values()
        if f.data in openai_fake.images_sent.values()
    }
    assert set(finals) == {m["ts"] for m in messages}, "a final file is missing"
    for m in messages:
        assert image_refs(m["blocks"]) == [finals[m["ts"]].id]
        shown = [c for c in slack_fake.calls_to("chat.update") if c.args.get("ts") == m["ts"]]
        last = [c for c in shown if c.status == 200][-1]
        assert "Reply in this thread" in text_of(last), "no edit may land after the final's"


async def test_a_burst_beyond_tier3_shows_every_final_and_drops_previews_it_cannot_afford(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    slack_fake.limit_chat_update(burst=BURST, per_minute=PER_MINUTE)
    await draw_at_once(slack, openai_fake, DRAWINGS)
    await settle(easel, within=60)

    assert_every_final_delivered_and_shown(slack_fake, openai_fake, DRAWINGS)
    updates = slack_fake.calls_to("chat.update")
    assert [c.status for c in updates].count(429) <= 1, "no 429 storm"
    previews = [c for c in updates if c.status == 200 and "preview" in text_of(c)]
    offered = len(openai_fake.partials_sent)
    assert offered == 2 * DRAWINGS
    assert len(previews) < offered, "previews were dropped, not queued"
    # A frame without an edit to spare is dropped before it is uploaded: every preview file
    # in the threads was shown, and is gone now that the final replaced it.
    files = [f for f in slack_fake.files.values() if f.name.startswith("preview-")]
    assert len(files) == len(previews)
    assert all(f.deleted for f in files)
    assert slack_fake.violations == []


async def test_a_smaller_bucket_at_slack_teaches_easel_without_a_storm(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    # Slack allows half the burst easel expects (another app instance sharing it, say).
    slack_fake.limit_chat_update(burst=BURST // 2, per_minute=PER_MINUTE)
    await draw_at_once(slack, openai_fake, DRAWINGS)
    await settle(easel, within=60)

    assert_every_final_delivered_and_shown(slack_fake, openai_fake, DRAWINGS)
    statuses = [c.status for c in slack_fake.calls_to("chat.update")]
    assert 1 <= statuses.count(429) <= 3, statuses
    # A preview edit that met a 429 is dropped, never sent again.
    for m in roots(slack_fake):
        lines = [
            text_of(c)
            for c in slack_fake.calls_to("chat.update")
            if c.args.get("ts") == m["ts"] and "preview" in text_of(c)
        ]
        assert len(lines) == len(set(lines))


async def test_a_rate_limited_preview_is_dropped_and_the_final_waits_out_retry_after(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(delay=0.2))  # the previews come well before the final
    slack_fake.rate_limit("chat.update", times=1, retry_after=1)
    await slack.command("a kite")
    await settle(easel)

    updates = slack_fake.calls_to("chat.update")
    assert updates[0].status == 429
    assert "preview 1 of" in text_of(updates[0])
    # Not slept on and sent again inside the call (slack_sdk's 429 handler would):
    assert sum("preview 1 of" in text_of(c) for c in updates) == 1
    assert "Reply in this thread" in block_text(root_message(slack_fake)["blocks"])
    previews = [f for f in slack_fake.files.values() if f.name.startswith("preview-")]
    assert all(f.deleted for f in previews)
