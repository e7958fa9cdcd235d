"""Reading Slack's payloads: who, where and what, as plain values."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from slack_bolt.async_app import AsyncBoltContext

from bot.errors import BadInput

REPLY_SUBTYPES = (None, "file_share", "thread_broadcast")
_FLAGS = {"--size": "size", "--quality": "quality"}


def is_human_reply(event: dict[str, Any]) -> bool:
    """A person's new message inside a thread (not a bot, an edit, a deletion or the root)."""
    thread_ts = event.get("thread_ts")
    return (
        event.get("subtype") in REPLY_SUBTYPES
        and not event.get("bot_id")
        and not event.get("hidden")
        and thread_ts is not None
        and thread_ts != event.get("ts")
        and bool(event.get("user"))
    )


def parse_draw_text(text: str) -> tuple[str, str | None, str | None]:
    """`--size landscape --quality high a prompt` -> (prompt, size, quality); a size is a
    shape or WIDTHxHEIGHT (`--size 1536x864`), checked by the core's admission.

    Flags come first; the rest is the prompt, word for word."""
    chosen: dict[str, str] = {}
    rest = text.lstrip()
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        name = _FLAGS.get(flag.split("=", 1)[0].lower())
        if name is None:
            raise BadInput(
                f"{flag} is not an option. Options: --size <shape or WIDTHxHEIGHT>, --quality <q>."
            )
        if "=" in flag:
            value = flag.split("=", 1)[1]
        else:
            value, _, rest = rest.lstrip().partition(" ")
        if not value:
            raise BadInput(f"{flag} needs a value, for example {flag} landscape.")
        chosen[name] = value.lower()
        rest = rest.lstrip()
    return rest, chosen.get("size"), chosen.get("quality")


def command_text(command: dict[str, Any]) -> str:
    """A slash command's text. Slack form-encodes it and Bolt decodes bytes that are not UTF-8
    as U+FFFD, which no one types: those are dropped, as control characters are."""
    return str(command.get("text") or "").replace("\ufffd", "")


def command_key(command: dict[str, Any], *, team: str) -> str:
    """A slash command's identity, to claim it once: a replay of the same signed request
    (Slack signatures stay valid for five minutes) carries the same `trigger_id`."""
    trigger = command.get("trigger_id")
    if not trigger:
        text = json.dumps(command, sort_keys=True, default=str)
        trigger = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return f"slack:command:{team}:{trigger}"


def workspace_of(context: AsyncBoltContext) -> str:
    """The workspace the request is authenticated for: Bolt's authorize result (auth.test of
    the bot token), never a field of the payload, which whoever signs it writes."""
    result = context.authorize_result
    team = result.team_id if result is not None else None
    if not team:
        raise LookupError("the request was authorized for no workspace")
    return str(team)


def pressed(body: dict[str, Any]) -> tuple[str | None, str]:
    """(channel, value) of a button press."""
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return channel, str((body.get("actions") or [{}])[0].get("value") or "")


def pressed_in(body: dict[str, Any]) -> str | None:
    """The thread of the message whose button was pressed (None for a thread's first message)."""
    return (body.get("container") or {}).get("thread_ts")


def press_key(body: dict[str, Any], *, team: str) -> str:
    """A button press's identity, to claim it once: Slack stamps each click (`action_ts`), and
    a replay of the same signed request carries the same stamp."""
    action = (body.get("actions") or [{}])[0]
    user = (body.get("user") or {}).get("id")
    stamp = action.get("action_ts") or body.get("trigger_id")
    if not stamp:
        text = json.dumps(body, sort_keys=True, default=str)
        stamp = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return f"{team}:{user}:{action.get('action_id')}:{stamp}"
