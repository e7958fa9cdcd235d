"""Settings on Slack: the App Home tab, the admins' settings modal, and `/draw usage`.

Everyone sees the current settings and their own usage on the Home tab; admins also get an
"Edit settings" button. Whether someone is an admin is asked of Slack (`users.info`) each
time it matters, and again when the modal is submitted: hiding the button is not the check.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.reports import settings_lines, usage_text
from bot.workspace.fields import FIELDS, Field
from bot.workspace.options import SHAPES
from bot.workspace.quotas import UsageReport
from bot.workspace.settings import WorkspaceSettings

log = logging.getLogger(__name__)

EDIT_ACTION = "easel_edit_settings"
MODAL_ID = "easel_settings"
ONLY_ADMINS = "Only workspace admins and owners can change easel's settings."


async def is_admin(client: AsyncWebClient, user_id: str, *, extra: frozenset[str]) -> bool:
    """A workspace admin or owner, or a user listed in EASEL_SLACK_ADMINS."""
    if user_id in extra:
        return True
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as exc:
        log.warning("users.info for %s failed: %s", user_id, exc.response.get("error"))
        return False
    user = response.get("user") or {}
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


def _text(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def home_view(settings: WorkspaceSettings, report: UsageReport, *, admin: bool) -> dict[str, Any]:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Draw with easel"}},
        _text(
            "Type `/draw a gray tabby cat hugging an otter` in any channel easel is in. Reply "
            "in the drawing's thread to edit it; attach images to use them in the edit. Choose "
            "a shape or quality with `/draw --size landscape --quality high <prompt>`; "
            "`/draw usage` shows your usage."
        ),
        {"type": "divider"},
        _text(usage_text(report, admin=admin, bold="*")),
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Settings"}},
        _text(settings_lines(settings, bold="*")),
    ]
    if admin:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": EDIT_ACTION,
                        "text": {"type": "plain_text", "text": "Edit settings"},
                        "style": "primary",
                    }
                ],
            }
        )
    else:
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": "Workspace admins can change these."}],
            }
        )
    return {"type": "home", "blocks": blocks}


def _option(value: str, label: str | None = None) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": label or value}, "value": value}


def _element(field: Field, settings: WorkspaceSettings) -> dict[str, Any]:
    value = getattr(settings, field.name)
    if field.kind == "choice" or field.kind == "bool":
        choices = field.choices if field.kind == "choice" else ("on", "off")
        if field.optional:
            choices = ("none", *choices)
        current = field.show(value) if field.kind == "bool" else (value or "none")
        options = [_option(c, SHAPES.get(c, c)) for c in choices]
        element: dict[str, Any] = {"type": "static_select", "options": options}
        if current in choices:
            element["initial_option"] = options[choices.index(current)]
        return element
    if field.kind == "choices":
        options = [_option(c, SHAPES.get(c, c)) for c in field.choices]
        chosen = [o for o in options if o["value"] in value]
        element = {"type": "multi_static_select", "options": options}
        if chosen:
            element["initial_options"] = chosen
        return element
    if field.kind == "channels":
        element = {"type": "multi_conversations_select"}
        if value:
            element["initial_conversations"] = list(value)
        return element
    element = {"type": "plain_text_input"}
    if value is not None:
        element["initial_value"] = field.show(value).lstrip("$").replace(",", "")
    return element


def settings_modal(settings: WorkspaceSettings) -> dict[str, Any]:
    """One input per field; each block's id is the field's name, for inline errors."""
    blocks = []
    for field in FIELDS.values():
        blocks.append(
            {
                "type": "input",
                "block_id": field.name,
                "optional": field.optional or field.kind in ("channels",),
                "label": {"type": "plain_text", "text": field.label},
                "hint": {"type": "plain_text", "text": field.help},
                "element": {"action_id": "value", **_element(field, settings)},
            }
        )
    return {
        "type": "modal",
        "callback_id": MODAL_ID,
        "title": {"type": "plain_text", "text": "easel settings"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def submitted_texts(view: dict[str, Any]) -> dict[str, str]:
    """The modal's values as the text a person would type for each field."""
    texts: dict[str, str] = {}
    for name, actions in (view.get("state") or {}).get("values", {}).items():
        state = actions.get("value") or {}
        kind = state.get("type")
        if kind == "static_select":
            texts[name] = (state.get("selected_option") or {}).get("value") or "none"
        elif kind == "multi_static_select":
            texts[name] = " ".join(o["value"] for o in state.get("selected_options") or [])
        elif kind == "multi_conversations_select":
            texts[name] = " ".join(state.get("selected_conversations") or []) or "all"
        elif kind == "plain_text_input":
            texts[name] = state.get("value") or "none"
    return texts
