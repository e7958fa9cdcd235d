"""Bolt listeners for drawing: each translates a Slack payload and hands it to the service.

`register()` puts them, the settings listeners (adapters.slack.home) and the buttons under a
finished drawing (adapters.slack.presses) on the app, with a
middleware that gives every listener the adapter's dependencies as `context["easel"]`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond

from adapters.reports import usage_text
from adapters.slack import home, presses
from adapters.slack.blocks import RETRY_ACTION
from adapters.slack.deps import SlackDeps, deps_of
from adapters.slack.payloads import (
    command_key,
    command_text,
    is_human_reply,
    parse_draw_text,
    pressed,
    workspace_of,
)
from adapters.slack.views import Admin, admin_check
from bot.errors import EaselError, StoreUnavailable
from bot.models import DrawRequest
from bot.workspace.admission import is_usage

log = logging.getLogger(__name__)


async def draw_command(
    ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    deps, text = deps_of(context), command_text(command)
    team, user = workspace_of(context), command["user_id"]
    if is_usage(text):
        await ack()
        try:
            report = await deps.workspaces.usage("slack", team, user)
        except EaselError as exc:
            await respond(text=exc.user_message, response_type="ephemeral")
            return
        admin = await admin_check(deps.client, user_id=user, team=team, extra=deps.admins)
        words = usage_text(report, admin=admin is Admin.YES, bold="*")
        await respond(text=words, response_type="ephemeral")
        return
    try:
        prompt, size, quality = parse_draw_text(text)
        request = DrawRequest(
            platform="slack",
            workspace=team,
            channel=command["channel_id"],
            user_id=user,
            prompt=prompt,
            size=size,
            quality=quality,
            dedupe_key=command_key(command, team=team),
        )
        admission = await deps.turns.accept(request)
    except EaselError as exc:
        log.info("refused /draw from %s in %s: %s", user, team, exc.code)
        await ack(text=exc.user_message)
        return
    await ack()
    if admission is not None:

        async def notify(words: str) -> None:
            await respond(text=words, response_type="ephemeral", replace_original=False)

        deps.turns.submit(admission, deps.surface_for(notify=notify)(admission.request))


async def thread_reply(event: dict[str, Any], context: AsyncBoltContext) -> None:
    if not is_human_reply(event):
        return
    deps, files = deps_of(context), event.get("files") or []
    team, channel, thread = workspace_of(context), event["channel"], event["thread_ts"]
    request = DrawRequest(
        platform="slack",
        workspace=team,
        channel=channel,
        user_id=event["user"],
        prompt=event.get("text") or "",
        thread=thread,
        dedupe_key=f"slack:{team}:{channel}:{event['ts']}",
        attachment_count=len(files),
    )
    notify = deps.notifier(channel=channel, user=request.user_id, thread=thread)
    try:
        known = await deps.turns.knows(request)
    except StoreUnavailable as exc:
        # Which threads are easel's is in the database; Slack says who started this one.
        log.warning("a reply in %s/%s found no database: %s", channel, thread, exc.detail)
        if event.get("parent_user_id") == context.bot_user_id:
            await notify(exc.user_message)
        return
    if not known:
        return
    try:
        deps.downloader.check_all(files)  # before anything is posted or stored
        await deps.turns.draw(request, deps.surface_for(attached=files, notify=notify))
    except EaselError as exc:
        await notify(exc.user_message)


async def retry_pressed(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    await ack()
    deps, team, user = deps_of(context), workspace_of(context), body["user"]["id"]
    channel, value = pressed(body)
    if not value.isdigit():
        log.warning("a Retry press from %s in %s carried no turn id", user, team)
        return
    try:
        await deps.turns.retry(int(value), platform="slack", workspace=team, user_id=user)
    except EaselError as exc:
        log.info("refused a retry of turn %s by %s: %s", value, user, exc.code)
        await deps.notifier(channel=channel, user=user)(exc.user_message)


async def on_error(error: Exception, body: dict[str, Any]) -> None:
    log.error("unhandled error in a Slack listener (%s)", body.get("type"), exc_info=error)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """Every listener on `app`, each given `deps` through the context."""

    async def provide(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context["easel"] = deps
        await next()

    app.use(provide)
    app.command("/draw")(draw_command)
    app.event("message")(thread_reply)
    app.action(RETRY_ACTION)(retry_pressed)
    home.register(app)
    presses.register(app)
    app.error(on_error)
