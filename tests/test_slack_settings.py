"""Workspace settings, quotas and spend on Slack, at the wire: the App Home tab, the admins'
modal (signed interactivity payloads through Bolt), /draw options and /draw usage."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.runtime import Runtime, running
from adapters.slack.views import EDIT_ACTION, MODAL_ID
from bot.config import load_config
from tests.clock import ManualClock
from tests.conftest import CHANNEL, TEAM, USER, SlackSender, settle
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.slack import ADMIN, OTHER, open_modal, root_message, submit

SECOND = "UADMIN2"


@pytest.fixture
def admins(slack_fake: FakeSlack) -> None:
    slack_fake.users[ADMIN] = {"is_admin": True}
    slack_fake.users[SECOND] = {"is_owner": True}


async def test_home_shows_settings_and_usage_to_all_and_the_edit_button_to_admins(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, admins: None
) -> None:
    for user in (USER, ADMIN):
        await slack.event({"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"})
    await settle(easel)
    person, admin = slack_fake.views[USER], slack_fake.views[ADMIN]
    for view in (person, admin):
        text = json.dumps(view["blocks"])
        assert "Default size" in text and "Daily limit per person" in text
        assert "Your drawings:* 0 today" in text
    assert EDIT_ACTION not in json.dumps(person["blocks"])
    assert EDIT_ACTION in json.dumps(admin["blocks"])
    assert "prices as of" in json.dumps(admin["blocks"])


async def test_an_admin_saves_the_modal_and_the_next_drawing_uses_it(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, openai_fake: FakeOpenAI, admins: None
) -> None:
    modal = await open_modal(slack, easel, slack_fake)
    assert modal["callback_id"] == MODAL_ID
    response = await submit(
        slack,
        ADMIN,
        modal,
        size="1536x1024",
        quality="high",
        output_format="webp",
        compression="80",
        image_model="gpt-image-1",
    )
    assert response.status_code == 200 and not response.content  # closed: no errors
    await settle(easel)

    audit = await easel.store.settings.audit("slack", TEAM)
    assert {(a["user_id"], a["field"], a["old"], a["new"]) for a in audit} == {
        (ADMIN, "size", "auto", "1536x1024"),
        (ADMIN, "quality", "auto", "high"),
        (ADMIN, "output_format", "png", "webp"),
        (ADMIN, "compression", None, 80),
        (ADMIN, "image_model", "gpt-image-2", "gpt-image-1"),
    }
    home = json.dumps(slack_fake.views[ADMIN]["blocks"])
    assert (
        "*Default size:* landscape" in home and "*Output format:* webp" in home
    )  # the Home tab was published again with the new values

    await slack.command("a lighthouse")
    await settle(easel)
    tool = openai_fake.requests[0]["tools"][0]
    assert (tool["size"], tool["quality"], tool["output_format"]) == ("1536x1024", "high", "webp")
    assert (tool["output_compression"], tool["model"]) == (80, "gpt-image-1")


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"compression": "50"}, "compression", "only to jpeg and webp"),
        ({"size": "1536x1024", "allowed_sizes": ["1024x1024"]}, "size", "not among the allowed"),
        ({"output_format": "jpeg", "background": "transparent"}, "background", "png or webp"),
        ({"daily_limit": "lots"}, "daily_limit", "whole number"),
        ({"monthly_cap_usd": "-5"}, "monthly_cap_usd", "US dollars"),
    ],
)
async def test_invalid_settings_come_back_inline_on_their_field(
    easel: Runtime,
    slack: SlackSender,
    slack_fake: FakeSlack,
    admins: None,
    changes: dict[str, Any],
    field: str,
    words: str,
) -> None:
    modal = await open_modal(slack, easel, slack_fake)
    body = (await submit(slack, ADMIN, modal, **changes)).json()
    assert body["response_action"] == "errors"
    assert words in body["errors"][field], body
    assert await easel.store.settings.audit("slack", TEAM) == []


async def test_two_admins_forms_each_change_only_what_their_sender_changed(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, admins: None
) -> None:
    first = await open_modal(slack, easel, slack_fake)
    second = await open_modal(slack, easel, slack_fake, user=SECOND)
    assert not (await submit(slack, ADMIN, first, daily_limit="5")).content
    assert not (await submit(slack, SECOND, second, quality="high")).content

    settings = await easel.workspaces.settings("slack", TEAM)
    assert (settings.daily_limit, settings.quality) == (5, "high")
    audit = await easel.store.settings.audit("slack", TEAM)
    assert sorted((a["user_id"], a["field"], a["old"], a["new"]) for a in audit) == [
        (ADMIN, "daily_limit", None, 5),
        (SECOND, "quality", "auto", "high"),
    ]


async def test_a_field_another_admin_changed_meanwhile_is_refused_on_that_field(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, admins: None
) -> None:
    first = await open_modal(slack, easel, slack_fake)
    second = await open_modal(slack, easel, slack_fake, user=SECOND)
    assert not (await submit(slack, ADMIN, first, daily_limit="5")).content
    body = (await submit(slack, SECOND, second, daily_limit="7", quality="low")).json()
    assert body["response_action"] == "errors" and list(body["errors"]) == ["daily_limit"]
    assert "another admin changed this to 5" in body["errors"]["daily_limit"]
    settings = await easel.workspaces.settings("slack", TEAM)
    assert (settings.daily_limit, settings.quality) == (5, "auto")  # nothing of it saved
    assert [a["user_id"] for a in await easel.store.settings.audit("slack", TEAM)] == [ADMIN]

    # The same value typed by both is no conflict; the form opened afresh saves as usual.
    assert not (await submit(slack, SECOND, second, daily_limit="5", quality="low")).content
    again = await open_modal(slack, easel, slack_fake, user=SECOND)
    assert not (await submit(slack, SECOND, again, daily_limit="7")).content
    audit = await easel.store.settings.audit("slack", TEAM)
    assert sorted((a["user_id"], a["field"], a["new"]) for a in audit) == [
        (ADMIN, "daily_limit", 5),
        (SECOND, "daily_limit", 7),
        (SECOND, "quality", "low"),
    ]


async def test_draw_options_are_honoured_only_within_the_allowed_values(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI
) -> None:
    await easel.workspaces.change_settings(
        "slack", TEAM, user_id=ADMIN, texts={"allowed_sizes": "square portrait", "size": "square"}
    )
    refused = await slack.command("--size landscape a long beach")
    assert "Allowed sizes: square, portrait" in refused.text
    unknown = await slack.command("--colour blue a sky")
    assert "--colour is not an option" in unknown.text
    await settle(easel)
    assert openai_fake.requests == []

    await slack.command("--size portrait --quality low a tall tree")
    await settle(easel)
    tool = openai_fake.requests[0]["tools"][0]
    assert (tool["size"], tool["quality"]) == ("1024x1536", "low")
    assert openai_fake.requests[0]["input"][0]["content"][0]["text"] == "a tall tree"


async def test_channels_reply_policy_and_the_off_switch(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, openai_fake: FakeOpenAI
) -> None:
    settings = easel.workspaces.change_settings
    await settings("slack", TEAM, user_id=ADMIN, texts={"channels": "<#C9|art>"})
    refused = await slack.command("a heron")
    assert "not turned on in this channel" in refused.text
    await settings("slack", TEAM, user_id=ADMIN, texts={"channels": "all"})

    await settings("slack", TEAM, user_id=ADMIN, texts={"reply_policy": "starter"})
    await slack.command("a heron")
    await settle(easel)
    ts = root_message(slack_fake)["ts"]
    await slack.event(slack.reply_event(thread_ts=ts, text="make it blue", user=OTHER))
    await settle(easel)
    assert len(openai_fake.requests) == 1
    assert "Only the person who started this drawing" in slack_fake.ephemerals[-1]["text"]
    await slack.event(slack.reply_event(thread_ts=ts, text="make it blue"))  # the starter
    await settle(easel)
    assert len(openai_fake.requests) == 2

    await settings("slack", TEAM, user_id=ADMIN, texts={"enabled": "off"})
    off = await slack.command("one more")
    assert "turned off in this workspace" in off.text
    assert len(openai_fake.requests) == 2


@pytest.fixture
async def at_night(env: dict[str, str]) -> AsyncIterator[tuple[Runtime, SlackSender, ManualClock]]:
    clock = ManualClock(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    async with running(load_config(env), clock=clock) as easel:
        sender = SlackSender(port=easel.port)
        yield easel, sender, clock
        await sender.aclose()


async def test_the_daily_limit_counts_delivered_drawings_and_resets_at_utc_midnight(
    at_night: tuple[Runtime, SlackSender, ManualClock], openai_fake: FakeOpenAI
) -> None:
    easel, slack, clock = at_night
    await easel.workspaces.change_settings("slack", TEAM, user_id=ADMIN, texts={"daily_limit": "2"})
    openai_fake.push(Script(http_error=(500, "server_error", "boom")))
    await slack.command("fails, costs nothing")
    await settle(easel)
    for n in range(2):  # the last allowed drawing is the second delivered one
        assert not (await slack.command(f"drawing {n}")).content
        await settle(easel)
    assert len(openai_fake.requests) == 3

    refused = (await slack.command("a third")).text
    assert "today's 2 drawings" in refused and "midnight UTC, in 1 h 0 min" in refused
    await settle(easel)
    assert len(openai_fake.requests) == 3  # refused before OpenAI was called

    clock.set(datetime(2026, 12, 1, 0, 0, 30, tzinfo=UTC))
    assert not (await slack.command("a new day")).content
    await settle(easel)
    assert len(openai_fake.requests) == 4


async def test_the_monthly_cap_stops_drawing_until_the_next_month(
    at_night: tuple[Runtime, SlackSender, ManualClock], openai_fake: FakeOpenAI
) -> None:
    easel, slack, clock = at_night
    await easel.workspaces.change_settings(
        "slack", TEAM, user_id=ADMIN, texts={"monthly_cap_usd": "0.30", "quality": "high"}
    )
    await slack.command("a first")  # 1536x1024-priced high image: $0.20 + tokens
    await settle(easel)
    await slack.command("a second")  # still under $0.30 when admitted
    await settle(easel)
    refused = (await slack.command("a third")).text
    assert "monthly spend cap of $0.30" in refused and "resets on 1 December" in refused
    assert f"prices as of {easel.workspaces.quotas.prices.as_of}" in refused
    assert len(openai_fake.requests) == 2

    clock.set(datetime(2026, 12, 1, 0, 1, tzinfo=UTC))
    assert not (await slack.command("december")).content
    await settle(easel)
    assert len(openai_fake.requests) == 3


async def test_draw_usage_shows_people_their_own_and_admins_the_spend(
    easel: Runtime, slack: SlackSender, slack_fake: FakeSlack, admins: None
) -> None:
    await slack.command("a lighthouse")
    await settle(easel)
    turns = [
        t
        for t in await easel.store.ledger.turns(_thread_of(slack_fake))
        if t["status"] == "delivered"
    ]
    assert turns and turns[0]["cost_usd"] > 0  # the estimate was written with the turn

    await slack.command("usage", response_url=slack_fake.response_url("mine"))
    await slack.command("usage", user=ADMIN, response_url=slack_fake.response_url("admin"))
    await settle(easel)
    mine, admin = slack_fake.responses[-2]["text"], slack_fake.responses[-1]["text"]
    assert "Your drawings:* 1 today" in mine and "1 this month" in mine
    assert "By person" not in mine
    assert "Workspace this month:* 1 drawing," in admin
    assert f"<@{USER}>" in admin and f"<#{CHANNEL}>" in admin and "prices as of" in admin


def _thread_of(slack_fake: FakeSlack) -> Any:
    from bot.models import ThreadKey

    return ThreadKey("slack", TEAM, CHANNEL, root_message(slack_fake)["ts"])
