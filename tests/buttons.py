"""The buttons under easel's finished drawings on Slack, pressed as a person presses them:
the signed `block_actions` and `view_submission` payloads Slack sends, built from what the
fake Slack shows, and what easel answered."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2

from adapters.runtime import Runtime, running
from bot.config import load_config
from bot.models import Action
from tests.fakes.slack_server import FakeSlack
from tests.slack import (
    CHANNEL,
    TEAM,
    USER,
    SlackSender,
    button_press,
    root_message,
    submission,
)
from tests.waiting import eventually, settle

LABELS = ["Redo", "Vary", "Bigger", "Edit", "Delete"]


async def drawn_and_replied(easel: Runtime, slack: SlackSender, slack_fake: FakeSlack) -> str:
    """A drawing (turn 1) and one reply to it (turn 2), both finished; the thread."""
    await slack.command("a lighthouse at dusk")
    await settle(easel)
    thread = str(root_message(slack_fake)["ts"])
    await slack.event(slack.reply_event(thread_ts=thread, text="make it stormy"))
    await settle(easel)
    return thread


async def calm(easel: Runtime, slack_fake: FakeSlack, *, quiet: float = 0.3) -> None:
    """Wait until no turn runs and Slack has heard nothing from easel for `quiet` seconds: a
    press is answered before its listener acts, and what it does (words, a deletion, a form)
    may come a moment after."""
    while True:
        await settle(easel)
        seen = len(slack_fake.calls)
        await asyncio.sleep(quiet)
        if seen == len(slack_fake.calls) and easel.turns.idle:
            return


async def told(slack_fake: FakeSlack, count: int, user: str = USER) -> list[str]:
    """The words `user` was shown, once there are at least `count` of them."""
    await eventually(lambda: len(said_to(slack_fake, user)) >= count)
    return said_to(slack_fake, user)


def prompt_of(request: dict[str, Any]) -> str:
    """The words of a Responses request sent to OpenAI."""
    return str(request["input"][0]["content"][0]["text"])


def decoded(url: str) -> bytes:
    """The PNG in a `data:` URL sent to OpenAI."""
    prefix = "data:image/png;base64,"
    assert url.startswith(prefix), url[:40]
    return base64.b64decode(url[len(prefix) :])


def images_of(request: dict[str, Any]) -> list[bytes]:
    """The input images of a Responses request sent to OpenAI, in order."""
    parts = [p for p in request["input"][0]["content"] if p["type"] == "input_image"]
    return [decoded(p["image_url"]) for p in parts]


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The buttons of a message's actions blocks, in order."""
    return [
        element
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
    ]


def drawing(slack_fake: FakeSlack, turn_id: int) -> dict[str, Any]:
    """easel's message whose buttons act on turn `turn_id`."""
    found = [
        m
        for m in slack_fake.messages.values()
        if m["user"] == "UBOT" and any(b.get("value") == str(turn_id) for b in buttons(m))
    ]
    assert len(found) == 1, (turn_id, found)
    return found[0]


def thread_messages(slack_fake: FakeSlack, thread: str) -> list[dict[str, Any]]:
    """easel's messages in a thread (not the files it shared), oldest first."""
    return sorted(
        (
            m
            for m in slack_fake.messages.values()
            if m["user"] == "UBOT" and m.get("thread_ts") == thread and not m.get("files")
        ),
        key=lambda m: float(m["ts"]),
    )


def said_to(slack_fake: FakeSlack, user: str = USER) -> list[str]:
    """The ephemeral words `user` was shown, oldest first."""
    return [e["text"] for e in slack_fake.ephemerals if e["user"] == user]


async def press(
    slack: SlackSender,
    slack_fake: FakeSlack,
    turn_id: int,
    action: Action,
    *,
    user: str = USER,
    team: str = TEAM,
    action_ts: str | None = None,
) -> httpx2.Response:
    """`user` presses `action` on the message of turn `turn_id`, as Slack sends it."""
    message = drawing(slack_fake, turn_id)
    button = button_of(message, action)
    return await press_on(slack, message, button, user=user, team=team, action_ts=action_ts)


async def press_on(
    slack: SlackSender, message: dict[str, Any], button: dict[str, Any], **who: Any
) -> httpx2.Response:
    """A press of `button` on `message` (any button, any value: forgers write both); `who`
    as `pressed_on` takes it."""
    response = await slack.interactive(pressed_on(message, button, **who))
    assert response.status_code == 200, response.text
    return response


def pressed_on(
    message: dict[str, Any],
    button: dict[str, Any],
    *,
    user: str = USER,
    team: str = TEAM,
    action_ts: str | None = None,
) -> dict[str, Any]:
    """The `block_actions` payload Slack sends when `user` presses `button` on `message`."""
    container = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": message.get("channel", CHANNEL),
        "is_ephemeral": False,
    }
    if message.get("thread_ts"):
        container["thread_ts"] = message["thread_ts"]
    return button_press(
        button["action_id"],
        user=user,
        team=team,
        value=button.get("value"),
        action_ts=action_ts,
        container=container,
        channel={"id": container["channel_id"], "name": "general"},
        message={
            "type": "message",
            **{k: message.get(k) for k in ("user", "text", "ts", "blocks")},
        },
        response_url="",
    )


def button_of(message: dict[str, Any], action: Action) -> dict[str, Any]:
    """The button of `message` that presses `action`."""
    return next(b for b in buttons(message) if b["action_id"] == f"easel_{action.value}")


async def open_edit(
    slack: SlackSender, easel: Runtime, slack_fake: FakeSlack, turn_id: int, *, user: str = USER
) -> dict[str, Any]:
    """`user` presses Edit on turn `turn_id`'s drawing; the form Slack opened (with its id)."""
    opened = len(slack_fake.modals)
    await press(slack, slack_fake, turn_id, Action.EDIT, user=user)
    await eventually(lambda: len(slack_fake.modals) > opened)
    await settle(easel)
    return {**slack_fake.modals[-1], "id": f"VM{len(slack_fake.modals):09d}"}


async def submit_edit(
    slack: SlackSender,
    form: dict[str, Any],
    text: str | None,
    *,
    user: str = USER,
    team: str = TEAM,
) -> httpx2.Response:
    """`user` submits the Edit form `form` with `text` typed in its box."""
    return await slack.interactive(edit_submission(form, text, user=user, team=team))


def edit_submission(
    form: dict[str, Any], text: str | None, *, user: str = USER, team: str = TEAM
) -> dict[str, Any]:
    """The `view_submission` payload of the Edit form `form` with `text` typed in its box."""
    [box] = [b for b in form["blocks"] if b["type"] == "input"]
    action_id = box["element"]["action_id"]
    state = {"values": {box["block_id"]: {action_id: {"type": "plain_text_input", "value": text}}}}
    view = {**form, "state": state, "hash": f"{time.time():.0f}.abc"}
    return submission(view, user=user, team=team)


@asynccontextmanager
async def easel_of(
    env: dict[str, str], fake: FakeSlack
) -> AsyncIterator[tuple[Runtime, SlackSender]]:
    """Another workspace's easel (the one `fake` serves), on the same database, and a sender
    of that workspace's requests."""
    async with running(load_config({**env, "SLACK_API_URL": fake.api_url})) as easel:
        sender = SlackSender(port=easel.port)
        sender.signed.team = fake.team_id
        try:
            yield easel, sender
        finally:
            await sender.aclose()
