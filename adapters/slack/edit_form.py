"""The Edit button's form: one box for what to change, whose words become the thread's next turn.

The form carries the drawing's turn id (and where the button was pressed, for words to the
presser) in its `private_metadata`; a submission is checked again as a press, for the
workspace the request is authenticated for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.slack.blocks import escape
from bot.models import StoredTurn

FORM_ID = "easel_edit"
PROMPT_BLOCK = "prompt"
PROMPT_ACTION = "value"
EMPTY = "Type what to change in the drawing."
GONE = "This form no longer knows its drawing. Press Edit on the drawing again."
INPUT_LIMIT = 3000  # characters a plain_text_input takes at most
_SHOWN_PROMPT = 280


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


@dataclass(frozen=True, slots=True)
class Opened:
    """What the form was opened for: the drawing's turn, and where its button was pressed."""

    turn_id: int
    channel: str | None
    thread: str | None


def modal(turn: StoredTurn, *, channel: str | None, thread: str | None) -> dict[str, Any]:
    prompt = turn.prompt if len(turn.prompt) <= _SHOWN_PROMPT else turn.prompt[:279] + "…"
    metadata = {"turn": turn.id, "channel": channel, "thread": thread}
    return {
        "type": "modal",
        "callback_id": FORM_ID,
        "title": _plain("Edit the drawing"),
        "submit": _plain("Draw"),
        "close": _plain("Cancel"),
        "private_metadata": json.dumps(metadata, separators=(",", ":")),
        "blocks": [
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"Drawn from: {escape(prompt)}"}],
            },
            {
                "type": "input",
                "block_id": PROMPT_BLOCK,
                "label": _plain("What should change?"),
                "hint": _plain("Your words continue the thread, like a reply in it."),
                "element": {
                    "type": "plain_text_input",
                    "action_id": PROMPT_ACTION,
                    "multiline": True,
                    "max_length": INPUT_LIMIT,
                    "placeholder": _plain("make the sky stormy and add a red kite"),
                },
            },
        ],
    }


def opened(view: Mapping[str, Any]) -> Opened | None:
    """What the submitted form was opened for, or None when its metadata says nothing usable."""
    try:
        data = json.loads(str(view.get("private_metadata") or ""))
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("turn"), int):
        return None
    where = [
        value if isinstance(value, str) else None
        for value in (data.get("channel"), data.get("thread"))
    ]
    return Opened(data["turn"], *where)


def typed(view: Mapping[str, Any]) -> str:
    """The text in the form's box ("" when there is none)."""
    values = (view.get("state") or {}).get("values") or {}
    state = (values.get(PROMPT_BLOCK) or {}).get(PROMPT_ACTION) or {}
    value = state.get("value") if isinstance(state, Mapping) else None
    return value if isinstance(value, str) else ""
