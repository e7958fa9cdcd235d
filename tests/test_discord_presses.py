"""Who may press the buttons under a finished drawing on Discord, at the wire: Delete for the
person who asked or a member with Manage Server; presses admitted like replies (enabled,
quotas, who may edit); presses on a deleted drawing, a gone turn or from another server told
why, for the presser alone, and logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from adapters.discord.surface import NOT_DELETED_YET
from adapters.runtime import Runtime
from bot.models import Action, ThreadKey
from bot.turns.inputs import GONE
from bot.turns.presses import DELETED
from tests.conftest import draw, settle
from tests.discord_buttons import (
    DEFERRED_UPDATE,
    answered,
    buttons,
    carrying,
    custom_id,
    finished,
    press,
    told,
)
from tests.fakes.discord_interactions import APP_ID, EPHEMERAL
from tests.fakes.discord_server import GUILD_ID, USER_ID, FakeDiscord
from tests.fakes.faults import status
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.test_discord_buttons import SQUARE, reply, thread_key
from tests.test_discord_settings import MANAGER_ID, MANAGER_PERMISSIONS, set_setting

OTHER_MEMBER = 1601
OTHER_GUILD = 1399
ONLY_THE_ASKER = (
    f"Only <@{USER_ID}>, who asked for this drawing, or an admin of this workspace can delete it."
)


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """What the presses' handler logs."""
    caplog.set_level(logging.INFO, logger="adapters.discord.presses")
    return caplog


def deletes(fake: FakeDiscord) -> list[str]:
    """The paths of the messages easel asked Discord to delete, in order."""
    return [c.path for c in fake.rest("DELETE", "/channels/")]


async def stored(runtime: Runtime, key: ThreadKey) -> list[dict[str, Any]]:
    return await runtime.store.ledger.turns(key)


async def today(runtime: Runtime) -> int:
    report = await runtime.workspaces.usage("discord", str(GUILD_ID), str(USER_ID))
    return report.today


async def test_the_asker_deletes_a_drawing_its_file_goes_and_the_thread_goes_on_before_it(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    answer = await reply(discord_fake, easel_discord, thread, "at night")
    mid = int(answer["id"])

    pressed = await press(discord_fake, mid, Action.DELETE, 2)
    await settle(easel_discord)

    assert (await answered(discord_fake, pressed))["type"] == DEFERRED_UPDATE
    assert mid not in discord_fake.messages  # and with it the final file it carried
    assert deletes(discord_fake) == [f"/channels/{thread}/messages/{mid}"]
    assert discord_fake.told(pressed["token"]) == []
    turns = await stored(easel_discord, thread_key(thread))
    assert [(t["status"], t["deleted_by"]) for t in turns] == [
        ("delivered", None),
        ("delivered", str(USER_ID)),  # it was paid for: it stays delivered
    ]
    assert await today(easel_discord) == 2  # no refund
    assert thread in discord_fake.messages and thread in discord_fake.threads

    await reply(discord_fake, easel_discord, thread, "in the rain")
    # The thread goes on from the drawing before the deleted one.
    assert openai_fake.requests[2]["previous_response_id"] == openai_fake.known_response_ids[0]


async def test_another_member_is_told_who_may_delete_and_a_manager_may(
    easel_discord: Runtime, discord_fake: FakeDiscord, logged: pytest.LogCaptureFixture
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")

    refused = await press(discord_fake, thread, Action.DELETE, 1, member=OTHER_MEMBER)
    assert await told(discord_fake, refused) == ONLY_THE_ASKER
    assert (await answered(discord_fake, refused))["type"] == DEFERRED_UPDATE
    [said] = discord_fake.rest("POST", f"/webhooks/{APP_ID}/{refused['token']}")
    assert said.payload["flags"] & EPHEMERAL and said.payload["allowed_mentions"]["parse"] == []
    assert f"refused delete on turn 1 by {OTHER_MEMBER}" in logged.text
    assert buttons(discord_fake.messages[thread]) == finished(1)  # still there
    assert deletes(discord_fake) == []

    await press(
        discord_fake,
        thread,
        Action.DELETE,
        1,
        member=MANAGER_ID,
        permissions=MANAGER_PERMISSIONS,
    )
    await settle(easel_discord)
    assert thread not in discord_fake.messages
    [turn] = await stored(easel_discord, thread_key(thread))
    assert turn["deleted_by"] == str(MANAGER_ID)


async def test_presses_on_a_deleted_drawing_are_told_it_was_deleted(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    logged: pytest.LogCaptureFixture,
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    # Pressed in a client that still shows the message after it was deleted.
    late = [
        discord_fake.press(thread, f"easel:act:{action.value}:1")
        for action in (Action.REDO, Action.VARY, Action.BIGGER, Action.EDIT)
    ]
    await press(discord_fake, thread, Action.DELETE, 1)
    await settle(easel_discord)

    for payload in late:
        await discord_fake.dispatch("INTERACTION_CREATE", payload)
        assert await told(discord_fake, payload) == DELETED
    await settle(easel_discord)
    assert len(openai_fake.requests) == 1
    assert discord_fake.forms == {}  # Edit is refused before its form
    for action in ("redo", "vary", "bigger", "edit"):
        assert f"refused {action} on turn 1 by {USER_ID} in {GUILD_ID}" in logged.text


@pytest.mark.parametrize(
    ("discord_guilds", "guild", "turn_id"),
    [([GUILD_ID], GUILD_ID, 99), ([GUILD_ID, OTHER_GUILD], OTHER_GUILD, 1)],
    ids=["a turn easel does not know", "a drawing of another server"],
)
async def test_a_press_easel_cannot_act_on_is_told_it_is_gone(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    logged: pytest.LogCaptureFixture,
    guild: int,
    turn_id: int,
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    # easel's message with the buttons of turn `turn_id`, in a channel of `guild`.
    stray = carrying(
        discord_fake, thread if guild == GUILD_ID else discord_fake.channel_of(guild), turn_id
    )

    for action in Action:
        payload = await press(discord_fake, stray, action, turn_id)
        assert await told(discord_fake, payload) == GONE
        assert f"refused {action.value} on turn {turn_id} by {USER_ID} in {guild}" in logged.text
    await settle(easel_discord)
    assert len(openai_fake.requests) == 1
    assert thread in discord_fake.messages and stray in discord_fake.messages
    assert deletes(discord_fake) == []
    [turn] = await stored(easel_discord, thread_key(thread))
    assert turn["deleted_by"] is None


@pytest.mark.parametrize(
    ("field", "value", "member", "words"),
    [
        ("enabled", "off", USER_ID, "easel is turned off in this workspace by its admins."),
        (
            "daily_limit",
            "1",
            USER_ID,
            "You have used today's 1 drawing. The limit resets at midnight UTC",
        ),
        (
            "reply_policy",
            "starter",
            OTHER_MEMBER,
            "Only the person who started this drawing can edit it here.",
        ),
    ],
    ids=["turned off", "daily limit", "only the starter edits"],
)
async def test_a_press_that_draws_is_admitted_like_a_reply(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    field: str,
    value: str,
    member: int,
    words: str,
) -> None:
    openai_fake.push(Script(image_size=SQUARE))  # a size Vary can draw again
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    assert "is now" in await set_setting(discord_fake, field, value)

    for action in (Action.REDO, Action.VARY, Action.BIGGER):
        payload = await press(discord_fake, thread, action, 1, member=member)
        assert words in await told(discord_fake, payload)
    await settle(easel_discord)
    assert len(openai_fake.requests) == 1
    assert len(discord_fake.bot_messages_in(thread)) == 1  # the thread's hint alone


async def test_edit_says_who_may_not_draw_there_before_its_form_opens(
    easel_discord: Runtime, discord_fake: FakeDiscord
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    assert "is now" in await set_setting(discord_fake, "reply_policy", "starter")

    payload = await press(discord_fake, thread, Action.EDIT, 1, member=OTHER_MEMBER)
    assert "Only the person who started this drawing" in await told(discord_fake, payload)
    assert payload["token"] not in discord_fake.forms  # nobody types into a form for nothing
    starter = await press(discord_fake, thread, Action.EDIT, 1)
    assert starter["token"] in discord_fake.forms


async def test_a_press_draws_in_its_thread_whatever_the_channels_allowed_for_draw(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    assert "is now" in await set_setting(discord_fake, "channels", "<#4242>")

    payload = await press(discord_fake, thread, Action.REDO, 1, member=OTHER_MEMBER)
    await settle(easel_discord)

    assert discord_fake.told(payload["token"]) == []
    assert len(openai_fake.requests) == 2  # as a reply in the thread would
    assert buttons(discord_fake.bot_messages_in(thread)[-1]) == finished(2)


async def test_a_delete_discord_does_not_take_now_is_said_and_pressing_again_removes_it(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    discord_fake.faults.set("message_delete", status(503), times=None)

    refused = await press(discord_fake, thread, Action.DELETE, 1)
    assert await told(discord_fake, refused) == NOT_DELETED_YET
    assert thread in discord_fake.messages
    [turn] = await stored(easel_discord, thread_key(thread))
    assert turn["deleted_by"] == str(USER_ID)  # it counts as deleted: no button draws from it
    redo = await press(discord_fake, thread, Action.REDO, 1)
    assert await told(discord_fake, redo) == DELETED

    discord_fake.faults.clear()
    again = await press(discord_fake, thread, Action.DELETE, 1)
    await settle(easel_discord)
    assert thread not in discord_fake.messages
    assert discord_fake.told(again["token"]) == []
    assert len(openai_fake.requests) == 1


async def test_deleting_a_drawing_someone_removed_already_marks_it_deleted_in_silence(
    easel_discord: Runtime, discord_fake: FakeDiscord
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    payload = discord_fake.press(thread, custom_id(Action.DELETE, 1))
    del discord_fake.messages[thread]  # a moderator removed it first

    await discord_fake.dispatch("INTERACTION_CREATE", payload)
    await answered(discord_fake, payload)
    await settle(easel_discord)

    assert discord_fake.told(payload["token"]) == []
    assert [c.status for c in discord_fake.rest("DELETE", "/channels/")] == [404]
    [turn] = await stored(easel_discord, thread_key(thread))
    assert turn["deleted_by"] == str(USER_ID)
