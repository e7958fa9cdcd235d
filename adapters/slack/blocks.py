"""Block Kit for the one message a drawing turn edits: progress, preview, final, failure."""

from __future__ import annotations

import secrets
from typing import Any

from bot.models import Action

SECTION_LIMIT = 3000
ALT_TEXT_LIMIT = 2000


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _asked(user_id: str, prompt: str) -> dict[str, Any]:
    head = f"<@{user_id}> asked:\n>"
    body = escape(prompt).replace("\n", "\n>")
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _clip(head + body, SECTION_LIMIT)},
    }


def _context(line: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(line, 3000)}]}


def image_block(
    *, prompt: str, file_id: str | None = None, url: str | None = None
) -> dict[str, Any]:
    """An image block with a fresh block_id: Slack caches an image by its block_id."""
    block: dict[str, Any] = {
        "type": "image",
        "block_id": f"img-{secrets.token_hex(6)}",
        "alt_text": _clip(prompt, ALT_TEXT_LIMIT),
    }
    if file_id is not None:
        block["slack_file"] = {"id": file_id}
    else:
        block["image_url"] = url
    return block


def progress(*, user_id: str, prompt: str, line: str) -> list[dict[str, Any]]:
    return [_asked(user_id, prompt), _context(line)]


RETRY_ACTION = "easel_retry"


def retry(turn_id: int) -> dict[str, Any]:
    """The Retry button of an interrupted turn; its value is the turn's id in the ledger."""
    return {
        "type": "actions",
        "block_id": f"retry-{turn_id}",
        "elements": [
            {
                "type": "button",
                "action_id": RETRY_ACTION,
                "text": {"type": "plain_text", "text": "Retry"},
                "value": str(turn_id),
            }
        ],
    }


ACTION_IDS = {action: f"easel_{action.value}" for action in Action}
# Deleting cannot be undone: Slack asks first, in its own dialog.
DELETE_CONFIRM = {
    "title": {"type": "plain_text", "text": "Delete this drawing?"},
    "text": {
        "type": "plain_text",
        "text": "Its message and its image are removed from this thread for everyone.",
    },
    "confirm": {"type": "plain_text", "text": "Delete"},
    "deny": {"type": "plain_text", "text": "Keep it"},
    "style": "danger",
}


def _button(action: Action, turn_id: int) -> dict[str, Any]:
    button: dict[str, Any] = {
        "type": "button",
        "action_id": ACTION_IDS[action],
        "text": {"type": "plain_text", "text": action.label},
        "value": str(turn_id),
    }
    if action is Action.DELETE:
        button["style"] = "danger"
        button["confirm"] = DELETE_CONFIRM
    return button


def buttons(turn_id: int) -> dict[str, Any]:
    """The buttons under a finished drawing; each one's value is its turn's id in the ledger,
    all a press needs (after a restart, on any replica)."""
    return {
        "type": "actions",
        "block_id": f"buttons-{turn_id}",
        "elements": [_button(action, turn_id) for action in Action],
    }


def with_image(
    *, user_id: str, prompt: str, image: dict[str, Any], line: str, turn_id: int | None = None
) -> list[dict[str, Any]]:
    shown = [_asked(user_id, prompt), image, _context(line)]
    return shown if turn_id is None else [*shown, buttons(turn_id)]


def fallback_text(prompt: str, line: str) -> str:
    """The notification and screen-reader text that accompanies the blocks, escaped like the
    blocks: a prompt that says <!channel> must not notify the channel."""
    return _clip(f"{line}: {escape(prompt)}", 3000)
