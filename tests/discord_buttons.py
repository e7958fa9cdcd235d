"""The buttons under a finished drawing on Discord, read and pressed at the wire."""

from __future__ import annotations

from typing import Any

from adapters.runtime import Runtime
from bot.models import Action
from tests.fakes.discord_interactions import MEMBER_PERMISSIONS
from tests.fakes.discord_server import USER_ID, FakeDiscord
from tests.waiting import eventually, settle

DEFERRED_UPDATE = 6  # an answer that shows nothing: the press's work follows
MODAL = 9


def buttons(message: dict[str, Any]) -> list[tuple[str, str]]:
    """(label, custom id) of every button on a message, in order."""
    return [
        (c["label"], c["custom_id"])
        for row in message.get("components") or []
        for c in row["components"]
        if c["type"] == 2
    ]


def finished(turn_id: int) -> list[tuple[str, str]]:
    """The buttons a finished drawing of turn `turn_id` carries."""
    return [(a.label, f"easel:act:{a.value}:{turn_id}") for a in Action]


def custom_id(action: Action, turn_id: int) -> str:
    return f"easel:act:{action.value}:{turn_id}"


def carrying(fake: FakeDiscord, channel: int, turn_id: int) -> int:
    """A message of easel's in `channel` with the buttons of turn `turn_id`, whatever easel
    knows of that turn (as after its database was replaced); its id."""
    row = [
        {"type": 2, "style": 2, "label": a.label, "custom_id": custom_id(a, turn_id)}
        for a in Action
    ]
    components = [{"type": 1, "components": row}]
    return int(fake.bot_message(channel, {"content": "a drawing", "components": components})["id"])


async def press(
    fake: FakeDiscord,
    message_id: int,
    action: Action,
    turn_id: int,
    *,
    member: int = USER_ID,
    permissions: int = MEMBER_PERMISSIONS,
    guild: int | None = None,
) -> dict[str, Any]:
    """Press `action`'s button on a message; return the press once easel has answered it."""
    payload = fake.press(
        message_id,
        custom_id(action, turn_id),
        member=member,
        permissions=permissions,
        guild=guild,
    )
    await fake.dispatch("INTERACTION_CREATE", payload)
    await answered(fake, payload)
    return payload


async def answered(fake: FakeDiscord, payload: dict[str, Any]) -> dict[str, Any]:
    """The answer easel made to an interaction, once made."""
    return await eventually(
        lambda: next((c for c in fake.callbacks if c["id"] == int(payload["id"])), None)
    )


async def told(fake: FakeDiscord, payload: dict[str, Any]) -> str:
    """The words easel told the presser alone (as the answer or a follow-up)."""
    [words] = await eventually(lambda: fake.told(payload["token"]))
    return words


async def press_and_settle(
    fake: FakeDiscord, runtime: Runtime, message_id: int, action: Action, turn_id: int
) -> dict[str, Any]:
    """Press a button that draws; return the press once its drawing has ended."""
    payload = await press(fake, message_id, action, turn_id)
    await settle(runtime)
    return payload


async def edit(
    fake: FakeDiscord, runtime: Runtime, message_id: int, turn_id: int, text: str
) -> dict[str, Any]:
    """Press Edit, type `text` into its form and submit it; return the submission once its
    drawing has ended."""
    pressed = await press(fake, message_id, Action.EDIT, turn_id)
    submission = fake.submit_modal(pressed, {"prompt": text})
    await fake.dispatch("INTERACTION_CREATE", submission)
    await answered(fake, submission)
    await settle(runtime)
    return submission
