"""Bolt listeners for settings: the App Home tab, the admins' button and their form."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.deps import SlackDeps, deps_of
from adapters.slack.payloads import team_of
from adapters.slack.views import (
    EDIT_ACTION,
    MODAL_ID,
    ONLY_ADMINS,
    home_view,
    is_admin,
    settings_modal,
    submitted_texts,
)
from bot.workspace.settings import SettingsInvalid

log = logging.getLogger(__name__)


async def publish_home(deps: SlackDeps, client: AsyncWebClient, team: str, user: str) -> None:
    admin = await is_admin(client, user, extra=deps.admins)
    settings = await deps.workspaces.settings("slack", team)
    report = await deps.workspaces.usage("slack", team, user, settings=settings)
    await client.views_publish(user_id=user, view=home_view(settings, report, admin=admin))


async def home_opened(
    event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    if event.get("tab") == "home":
        await publish_home(deps_of(context), client, body.get("team_id") or "", event["user"])


async def edit_pressed(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    await ack()
    deps, team, user = deps_of(context), team_of(body), body["user"]["id"]
    if not await is_admin(client, user, extra=deps.admins):
        log.warning("settings button pressed by non-admin %s in %s", user, team)
        return
    settings = await deps.workspaces.settings("slack", team)
    await client.views_open(trigger_id=body["trigger_id"], view=settings_modal(settings))


async def settings_submitted(
    ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    deps, team, user = deps_of(context), team_of(body), body["user"]["id"]
    texts = submitted_texts(body["view"])
    # Checked here, on submission: a crafted payload gets no further than a hidden button.
    if not await is_admin(client, user, extra=deps.admins):
        log.warning("refused a settings submission from non-admin %s in %s", user, team)
        first = next(iter(texts), "enabled")
        await ack(response_action="errors", errors={first: ONLY_ADMINS})
        return
    try:
        await deps.workspaces.change_settings("slack", team, user_id=user, texts=texts)
    except SettingsInvalid as exc:
        await ack(response_action="errors", errors=exc.problems)
        return
    await ack()
    await publish_home(deps, client, team, user)


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(home_opened)
    app.action(EDIT_ACTION)(edit_pressed)
    app.view(MODAL_ID)(settings_submitted)
