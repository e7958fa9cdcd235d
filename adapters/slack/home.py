"""Bolt listeners for settings: the App Home tab, the admins' button and their form.

Every one acts on the workspace the request is authenticated for (`workspace_of`), and asks
Slack whether the person is an admin of it. Showing a view is best effort: when Slack does
not take it, a warning is logged and the next open tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from adapters.failures import Caller, PlatformError
from adapters.slack.deps import SlackDeps, deps_of
from adapters.slack.failures import classify
from adapters.slack.payloads import workspace_of
from adapters.slack.views import (
    COULD_NOT_CHECK,
    EDIT_ACTION,
    MODAL_ID,
    ONLY_ADMINS,
    Admin,
    admin_check,
    home_view,
    notice_modal,
    opened_texts,
    settings_modal,
    submitted_texts,
    warnings_text,
)
from bot.workspace.settings import SettingsInvalid, WorkspaceSettings
from bot.workspace.sizes import STABLE, is_experimental

log = logging.getLogger(__name__)

SAVED = "Saved.\n"


async def show(call: Callable[[], Awaitable[Any]], *, what: str, user: str, team: str) -> None:
    """Show a view (views.publish, views.open); when Slack does not take it, say so once."""
    try:
        await Caller(classify)(call, what=what)
    except PlatformError as exc:
        log.warning("could not show %s to %s in %s: %s", what, user, team, exc)


async def publish_home(deps: SlackDeps, *, team: str, user: str) -> None:
    admin = await admin_check(deps.client, user_id=user, team=team, extra=deps.admins)
    settings = await deps.workspaces.settings("slack", team)
    report = await deps.workspaces.usage("slack", team, user, settings=settings)
    warnings = deps.workspaces.model_warnings(settings) if admin is Admin.YES else []
    view = home_view(settings, report, admin=admin, warnings=warnings)
    publish = deps.client.views_publish
    await show(lambda: publish(user_id=user, view=view), what="views.publish", user=user, team=team)


async def home_opened(event: dict[str, Any], context: AsyncBoltContext) -> None:
    if event.get("tab") == "home":
        await publish_home(deps_of(context), team=workspace_of(context), user=event["user"])


async def edit_pressed(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    await ack()
    deps, team, user = deps_of(context), workspace_of(context), body["user"]["id"]
    admin = await admin_check(deps.client, user_id=user, team=team, extra=deps.admins)
    if admin is Admin.NO:
        log.warning("settings button pressed by non-admin %s in %s", user, team)
        return
    if admin is Admin.YES:
        view = settings_modal(await deps.workspaces.settings("slack", team))
    else:
        view = notice_modal(COULD_NOT_CHECK)
    trigger, open_view = body["trigger_id"], deps.client.views_open
    await show(
        lambda: open_view(trigger_id=trigger, view=view), what="views.open", user=user, team=team
    )


async def settings_submitted(
    ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext
) -> None:
    deps, team, user = deps_of(context), workspace_of(context), body["user"]["id"]
    texts, opened = submitted_texts(body["view"]), opened_texts(body["view"])
    # Checked here, on submission: a crafted payload gets no further than a hidden button.
    admin = await admin_check(deps.client, user_id=user, team=team, extra=deps.admins)
    if admin is not Admin.YES:
        log.warning("refused a settings submission from %s in %s (admin: %s)", user, team, admin)
        words = ONLY_ADMINS if admin is Admin.NO else COULD_NOT_CHECK
        await ack(response_action="errors", errors={next(iter(texts), "enabled"): words})
        return
    try:
        settings = await deps.workspaces.change_settings(
            "slack", team, user_id=user, texts=texts, opened=opened
        )
    except SettingsInvalid as exc:
        await ack(response_action="errors", errors=exc.problems)
        return
    warnings = deps.workspaces.model_warnings(settings) + size_notes(settings, texts, opened)
    if warnings:  # saved, and worth a word
        await ack(response_action="update", view=notice_modal(SAVED + warnings_text(warnings)))
    else:
        await ack()
    await publish_home(deps, team=team, user=user)


def size_notes(
    settings: WorkspaceSettings, texts: dict[str, str], opened: dict[str, str] | None
) -> list[str]:
    """A word when the form raised the largest size into what OpenAI calls experimental."""
    sent = texts.get("largest_size")
    if sent is None or (opened or {}).get("largest_size") == sent:
        return []
    if not is_experimental(settings.largest_size):
        return []
    return [
        f"Custom sizes up to {settings.largest_size} are allowed now; OpenAI calls sizes "
        f"above {STABLE} experimental."
    ]


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(home_opened)
    app.action(EDIT_ACTION)(edit_pressed)
    app.view(MODAL_ID)(settings_submitted)
