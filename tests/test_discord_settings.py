"""Server settings, quotas and usage on Discord, at the wire: /draw-settings show, set and usage
arrive over the fake gateway as slash commands from members with or without Manage Server,
and what they change is checked where it lands (the store's audit, the next OpenAI request)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.runtime import Runtime, running
from bot.config import load_config
from tests.clock import ManualClock
from tests.conftest import draw, eventually, settle
from tests.fakes.discord_server import (
    GUILD_ID,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    USER_ID,
    FakeDiscord,
    wait_ready,
)
from tests.fakes.openai_server import FakeOpenAI

MANAGER_ID = 1501
OTHER_MANAGER_ID = 1502
MANAGER_PERMISSIONS = MEMBER_PERMISSIONS | MANAGE_GUILD
WORKSPACE = str(GUILD_ID)
EPHEMERAL = 64


async def answer(fake: FakeDiscord, payload: dict[str, Any]) -> str:
    """Dispatch an interaction; return the text of its ephemeral message callback."""
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await eventually(
        lambda: next((c for c in fake.callbacks if c["token"] == payload["token"]), None)
    )
    assert callback["type"] == 4, callback  # a message at once, not a deferral
    assert callback["data"]["flags"] & EPHEMERAL, callback
    return str(callback["data"]["content"])


async def set_setting(
    fake: FakeDiscord,
    field: str,
    value: str,
    *,
    permissions: int = MANAGER_PERMISSIONS,
    member: int = MANAGER_ID,
) -> str:
    """`/draw-settings set field:<field> value:<value>`; return easel's ephemeral answer."""
    payload = fake.command(
        "draw-settings", "set", permissions=permissions, member=member, field=field, value=value
    )
    return await answer(fake, payload)


async def test_show_lists_the_settings_to_an_ordinary_member(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
) -> None:
    text = await answer(discord_fake, discord_fake.command("draw-settings", "show"))
    assert "**Default size:** auto" in text
    assert "**Daily limit per person:** no limit" in text
    assert "**Allowed qualities:** auto, low, medium, high" in text


async def test_a_manager_sets_the_default_size_which_is_audited_and_drawn_with(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
) -> None:
    text = await set_setting(discord_fake, "size", "landscape")
    assert "Default size is now landscape" in text

    audit = await easel_discord.store.settings.audit("discord", WORKSPACE)
    assert [(a["user_id"], a["field"], a["old"], a["new"]) for a in audit] == [
        (str(MANAGER_ID), "size", "auto", "1536x1024")
    ]
    shown = await answer(discord_fake, discord_fake.command("draw-settings", "show"))
    assert "**Default size:** landscape" in shown

    await draw(discord_fake, easel_discord, "a wide valley")  # by an ordinary member
    assert openai_fake.requests[0]["tools"][0]["size"] == "1536x1024"


async def test_two_managers_setting_two_fields_keep_both(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
) -> None:
    assert "is now 5" in await set_setting(discord_fake, "daily_limit", "5")
    assert "is now high" in await set_setting(
        discord_fake, "quality", "high", member=OTHER_MANAGER_ID
    )
    shown = await answer(discord_fake, discord_fake.command("draw-settings", "show"))
    assert "**Daily limit per person:** 5" in shown and "**Default quality:** high" in shown
    audit = await easel_discord.store.settings.audit("discord", WORKSPACE)
    assert sorted((a["user_id"], a["field"], a["old"], a["new"]) for a in audit) == [
        (str(MANAGER_ID), "daily_limit", None, 5),
        (str(OTHER_MANAGER_ID), "quality", "auto", "high"),
    ]


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("partial_images", "7", "Previews: must be from 0 to 3"),
        ("compression", "50", "Compression: compression applies only to jpeg and webp"),  # png
        ("allowed_qualities", "low medium", "auto is not among the allowed qualities"),
        ("size", "panorama", "Default size: 'panorama' is not a size: write auto, square"),
    ],
)
async def test_an_invalid_value_from_a_manager_is_not_changed_and_says_why(
    field: str,
    value: str,
    words: str,
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
) -> None:
    text = await set_setting(discord_fake, field, value)
    assert text.startswith("Not changed:"), text
    assert words in text, text
    assert await easel_discord.store.settings.audit("discord", WORKSPACE) == []


async def test_a_quality_outside_the_allowed_ones_is_refused_before_anything_is_paid_for(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
) -> None:
    # The default quality (auto) must be among the allowed ones, so it is moved first.
    assert "Default quality is now medium" in await set_setting(discord_fake, "quality", "medium")
    assert "Allowed qualities is now low, medium" in await set_setting(
        discord_fake, "allowed_qualities", "low medium"
    )

    text = await answer(discord_fake, discord_fake.interaction("a crisp poster", quality="high"))
    assert "That quality is not allowed here" in text
    assert "Allowed qualities: low, medium." in text
    await settle(easel_discord)
    assert openai_fake.requests == []

    await draw(discord_fake, easel_discord, "a soft poster", quality="low")
    await draw(discord_fake, easel_discord, "a plain poster")
    qualities = [r["tools"][0]["quality"] for r in openai_fake.requests]
    assert qualities == ["low", "medium"]


@pytest.fixture
async def at_night(
    discord_env: dict,
    discord_fake: FakeDiscord,
) -> AsyncIterator[tuple[Runtime, ManualClock]]:
    """easel on a clock an hour before a UTC midnight (and the end of a month)."""
    clock = ManualClock(datetime(2026, 11, 30, 23, 0, tzinfo=UTC))
    async with running(load_config(discord_env), clock=clock) as runtime:
        await wait_ready(discord_fake)
        await eventually(lambda: runtime.discord is not None and runtime.discord.connected())
        yield runtime, clock


async def test_the_daily_limit_refuses_the_second_drawing_until_utc_midnight(
    at_night: tuple[Runtime, ManualClock],
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
) -> None:
    runtime, clock = at_night
    assert "Daily limit per person is now 1" in await set_setting(discord_fake, "daily_limit", "1")
    mid = await draw(discord_fake, runtime, "the first of the day")
    assert discord_fake.messages[mid]["attachments"][0]["filename"].startswith("easel-")

    text = await answer(discord_fake, discord_fake.interaction("one more"))
    assert "You have used today's 1 drawing." in text
    assert "resets at midnight UTC, in 1 h 0 min" in text
    await settle(runtime)
    assert len(openai_fake.requests) == 1

    clock.set(datetime(2026, 12, 1, 0, 1, tzinfo=UTC))  # a new UTC day
    mid = await draw(discord_fake, runtime, "the first of the next day")
    assert discord_fake.messages[mid]["attachments"][0]["filename"].startswith("easel-")
    assert len(openai_fake.requests) == 2
    assert sum(1 for c in discord_fake.callbacks if c["type"] == 5) == 2  # both deferred


async def test_usage_shows_members_their_own_and_managers_the_spend(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
) -> None:
    await draw(discord_fake, easel_discord, "a counted drawing")
    assert len(openai_fake.requests) == 1

    mine = await answer(discord_fake, discord_fake.interaction("usage"))
    assert "**Your drawings:** 1 today" in mine
    assert "1 this month" in mine
    assert "Workspace this month" not in mine and "prices as of" not in mine
    same = await answer(discord_fake, discord_fake.command("draw-settings", "usage"))
    assert same == mine

    as_manager = discord_fake.interaction("usage")
    as_manager["member"]["permissions"] = str(MANAGER_PERMISSIONS)
    spend = await answer(discord_fake, as_manager)
    assert "**Your drawings:** 1 today" in spend  # the same person, now with Manage Server
    assert "**Workspace this month:** 1 drawing," in spend
    assert "prices as of" in spend
    assert f"<@{USER_ID}>: 1 drawing," in spend

    other = discord_fake.command(
        "draw-settings", "usage", permissions=MANAGER_PERMISSIONS, member=MANAGER_ID
    )
    theirs = await answer(discord_fake, other)
    assert "**Your drawings:** 0 today" in theirs  # the manager drew nothing themself
    assert "**Workspace this month:** 1 drawing," in theirs and "prices as of" in theirs

    await settle(easel_discord)
    assert len(openai_fake.requests) == 1  # asking for usage draws nothing
