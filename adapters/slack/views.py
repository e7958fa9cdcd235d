"""Settings on Slack: the App Home tab, the admins' settings modal, and `/draw usage`.

Everyone sees the current settings and their own usage on the Home tab; admins also get an
"Edit settings" button. Whether someone is an admin is asked of Slack (`users.info`) each
time it matters, and again when the modal is submitted: hiding the button is not the check.
An admin of another organisation (met in a Slack Connect channel) is not an admin here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.failures import Caller, PlatformError
from adapters.reports import settings_lines, usage_text
from adapters.slack import failures
from bot.workspace.fields import FIELDS, Field
from bot.workspace.quotas import UsageReport
from bot.workspace.settings import WorkspaceSettings
from bot.workspace.sizes import CUSTOM, EXAMPLE, size_name

log = logging.getLogger(__name__)

EDIT_ACTION = "easel_edit_settings"
MODAL_ID = "easel_settings"
ONLY_ADMINS = "Only workspace admins and owners can change easel's settings."


COULD_NOT_CHECK = (
    "Slack could not be asked just now whether you are an admin, so nothing was changed. "
    "Try again in a moment."
)
# The admin check runs before a form is acknowledged, which Slack waits 3 seconds for.
ADMIN_CHECK_SECONDS = 2.0
METADATA_LIMIT = 3000  # characters of a view's private_metadata
_ROLES = ("is_admin", "is_owner", "is_primary_owner")


class Admin(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"  # Slack could not be asked


async def admin_check(
    client: AsyncWebClient, *, user_id: str, team: str, extra: frozenset[str]
) -> Admin:
    """An admin or owner of `team` (a member of it, not of another organisation), or a user
    listed in EASEL_SLACK_ADMINS; UNKNOWN when Slack could not say."""
    if user_id in extra:
        return Admin.YES
    call = Caller(failures.classify, timeout=ADMIN_CHECK_SECONDS)
    try:
        response = await call(lambda: client.users_info(user=user_id), what="users.info")
        user = failures.field(response, "user")
    except PlatformError as exc:
        log.warning("could not ask Slack whether %s is an admin of %s: %s", user_id, team, exc)
        return Admin.UNKNOWN
    if not isinstance(user, Mapping):
        log.warning("Slack's users.info for %s carried no user record", user_id)
        return Admin.UNKNOWN
    if user.get("team_id") != team:
        return Admin.NO  # from another organisation: its roles are not roles here
    return Admin.YES if any(user.get(role) is True for role in _ROLES) else Admin.NO


WHO_CHANGES = {
    Admin.NO: "Workspace admins can change these.",
    Admin.UNKNOWN: "Workspace admins can change these. Slack could not be asked just now "
    "whether you are one: open this tab again to check again.",
}


def _text(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def home_view(
    settings: WorkspaceSettings,
    report: UsageReport,
    *,
    admin: Admin,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The Home tab; `warnings` (the models in use that need an admin) are for admins only."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Draw with easel"}},
        _text(
            "Type `/draw a gray tabby cat hugging an otter` in any channel easel is in. Reply "
            "in the drawing's thread to edit it; attach images to use them in the edit. Choose "
            "a size or quality with `/draw --size landscape --quality high <prompt>` (a size "
            f"is a shape, or WIDTHxHEIGHT such as `--size {EXAMPLE}` within the allowed sizes "
            "below); `/draw usage` shows your usage."
        ),
        {"type": "divider"},
        _text(usage_text(report, admin=admin is Admin.YES, bold="*")),
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Settings"}},
    ]
    if admin is Admin.YES and warnings:
        blocks.append(_text(warnings_text(warnings) + "\nChange it with *Edit settings* below."))
    blocks.append(_text(settings_lines(settings, bold="*")))
    if admin is Admin.YES:
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
                "elements": [{"type": "mrkdwn", "text": WHO_CHANGES[admin]}],
            }
        )
    return {"type": "home", "blocks": blocks}


def warnings_text(warnings: Sequence[str]) -> str:
    return "\n".join(f":warning: {line}" for line in warnings)


def _option(value: str) -> dict[str, Any]:
    label = "custom, up to the largest size" if value == CUSTOM else size_name(value)
    return {"text": {"type": "plain_text", "text": label}, "value": value}


def _element(field: Field, settings: WorkspaceSettings) -> dict[str, Any]:
    value = getattr(settings, field.name)
    if field.kind == "choice" or field.kind == "bool":
        choices = field.choices if field.kind == "choice" else ("on", "off")
        if field.optional:
            choices = ("none", *choices)
        current = field.show(value) if field.kind == "bool" else (value or "none")
        options = [_option(c) for c in choices]
        element: dict[str, Any] = {"type": "static_select", "options": options}
        if current in choices:
            element["initial_option"] = options[choices.index(current)]
        return element
    if field.kind == "choices":
        options = [_option(c) for c in field.choices]
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
    """One input per field; each block's id is the field's name, for inline errors. The
    values it opens with travel in `private_metadata`, so a save changes only what its
    sender changed."""
    blocks: list[dict[str, Any]] = []
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
    opened = {b["block_id"]: _initial_text(b["element"]) for b in blocks}
    return {
        "type": "modal",
        "callback_id": MODAL_ID,
        "title": {"type": "plain_text", "text": "easel settings"},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
        "private_metadata": _metadata(opened),
    }


def notice_modal(text: str) -> dict[str, Any]:
    """A modal that only says something."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "easel settings"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [_text(text)],
    }


def _metadata(texts: dict[str, str]) -> str:
    """`texts` as compact JSON within Slack's limit; the longest values give way first (a
    field missing there is compared with the stored value instead)."""
    texts = dict(texts)
    while texts:
        encoded = json.dumps(texts, separators=(",", ":"))
        if len(encoded) <= METADATA_LIMIT:
            return encoded
        del texts[max(texts, key=lambda name: len(texts[name]))]
    return ""


def opened_texts(view: Mapping[str, Any]) -> dict[str, str] | None:
    """What the form showed when it was opened (field -> text), if it says."""
    try:
        data = json.loads(str(view.get("private_metadata") or ""))
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict):
        return None
    return {str(k): v for k, v in data.items() if isinstance(v, str)}


def _initial_text(element: Mapping[str, Any]) -> str:
    """The text a form element submits when no one touches it."""
    return _element_text(
        element["type"],
        option=element.get("initial_option"),
        options=element.get("initial_options"),
        conversations=element.get("initial_conversations"),
        value=element.get("initial_value"),
    )


def _element_text(kind: str, *, option: Any, options: Any, conversations: Any, value: Any) -> str:
    """One field as the text a person would type for it (what Field.parse reads)."""
    if kind == "static_select":
        return str((option or {}).get("value") or "none")
    if kind == "multi_static_select":
        return " ".join(str(o.get("value")) for o in options or [])
    if kind == "multi_conversations_select":
        return " ".join(conversations or []) or "all"
    return str(value or "none")


def submitted_texts(view: Mapping[str, Any]) -> dict[str, str]:
    """The modal's values as the text a person would type for each field."""
    texts: dict[str, str] = {}
    for name, actions in (view.get("state") or {}).get("values", {}).items():
        state = actions.get("value") or {}
        if state.get("type") in _KINDS:
            texts[name] = _element_text(
                state["type"],
                option=state.get("selected_option"),
                options=state.get("selected_options"),
                conversations=state.get("selected_conversations"),
                value=state.get("value"),
            )
    return texts


_KINDS = ("static_select", "multi_static_select", "multi_conversations_select", "plain_text_input")
