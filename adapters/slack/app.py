"""Bolt listeners: translate Slack payloads into DrawRequests and hand them to the service."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.files import SlackDownloader
from adapters.slack.home import home_view
from adapters.slack.public import PreviewHost
from adapters.slack.surface import Notify, SlackSurface
from bot.errors import BadInput
from bot.models import DrawRequest, ImageOptions, ThreadKey
from bot.ports import Store
from bot.service import DrawService, clean_prompt

log = logging.getLogger(__name__)

REPLY_SUBTYPES = (None, "file_share", "thread_broadcast")


@dataclass(frozen=True, slots=True)
class SlackDeps:
    client: AsyncWebClient
    service: DrawService
    store: Store
    downloader: SlackDownloader
    defaults: ImageOptions
    preview_host: PreviewHost | None = None
    preview_interval: float = 1.2

    def surface(
        self, request: DrawRequest, *, attached: Sequence[dict[str, Any]] = (), notify: Notify
    ) -> SlackSurface:
        return SlackSurface(
            client=self.client,
            request=request,
            downloader=self.downloader,
            attached=attached,
            preview_host=self.preview_host,
            preview_interval=self.preview_interval,
            notify=notify,
        )


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


def build_app(*, deps: SlackDeps, signing_secret: str | None) -> AsyncApp:
    """The Bolt app. With a signing secret every HTTP request is verified (HTTP mode)."""
    app = AsyncApp(
        client=deps.client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
    )

    @app.command("/draw")
    async def draw(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        try:
            clean_prompt(command.get("text") or "")
        except BadInput as exc:
            await ack(text=exc.user_message)
            return
        await ack()
        request = DrawRequest(
            platform="slack",
            workspace=command["team_id"],
            channel=command["channel_id"],
            user_id=command["user_id"],
            prompt=command["text"],
        )

        async def notify(text: str) -> None:
            await respond(text=text, response_type="ephemeral", replace_original=False)

        deps.service.submit(request, deps.surface(request, notify=notify))

    @app.event("message")
    async def reply(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if not is_human_reply(event):
            return
        team = body.get("team_id") or event.get("team") or ""
        channel, thread, user = event["channel"], event["thread_ts"], event["user"]
        if not await deps.store.is_thread(ThreadKey("slack", team, channel, thread)):
            return
        request = DrawRequest(
            platform="slack",
            workspace=team,
            channel=channel,
            user_id=user,
            prompt=event.get("text") or "",
            thread=thread,
            dedupe_key=f"slack:{team}:{channel}:{event['ts']}",
        )

        async def notify(text: str) -> None:
            await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread, text=text)

        try:
            deps.service.submit(
                request, deps.surface(request, attached=event.get("files") or [], notify=notify)
            )
        except BadInput as exc:
            await notify(exc.user_message)

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab") == "home":
            await client.views_publish(user_id=event["user"], view=home_view(deps.defaults))

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a Slack listener (%s)", body.get("type"), exc_info=error)

    return app
