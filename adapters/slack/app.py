"""Bolt listeners: translate Slack payloads into DrawRequests and hand them to the service."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from adapters.reports import usage_text
from adapters.slack.blocks import RETRY_ACTION
from adapters.slack.files import SlackDownloader
from adapters.slack.public import PreviewHost
from adapters.slack.settings import (
    EDIT_ACTION,
    MODAL_ID,
    ONLY_ADMINS,
    home_view,
    is_admin,
    settings_modal,
    submitted_texts,
)
from adapters.slack.surface import Notify, SlackSurface
from bot.admission import clean_prompt, is_retry
from bot.errors import BadInput
from bot.models import DrawRequest, StoredTurn, ThreadKey
from bot.ports import Store
from bot.service import DrawService
from bot.settings import SettingsInvalid

log = logging.getLogger(__name__)

REPLY_SUBTYPES = (None, "file_share", "thread_broadcast")


@dataclass(frozen=True, slots=True)
class SlackDeps:
    client: AsyncWebClient
    service: DrawService
    store: Store
    downloader: SlackDownloader
    preview_host: PreviewHost | None = None
    preview_interval: float = 1.2
    admins: frozenset[str] = frozenset()  # EASEL_SLACK_ADMINS

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

    def reopen(self, turn: StoredTurn, *, request: DrawRequest | None = None) -> SlackSurface:
        """A surface on a stored turn's message: to deliver it, say it was interrupted, or
        draw `request` (its retry) in it."""
        drawn = request or turn.retried_by(turn.user_id)
        key = turn.key

        async def notify(text: str) -> None:
            await self.client.chat_postEphemeral(
                channel=key.channel, user=drawn.user_id, thread_ts=key.thread, text=text
            )

        return SlackSurface(
            client=self.client,
            request=drawn,
            downloader=self.downloader,
            attached=[dict(f) for f in turn.inputs],
            preview_host=self.preview_host,
            preview_interval=self.preview_interval,
            notify=notify,
            message=turn.message,
        )

    async def retry(self, turn_id: int, *, team: str, user: str, notify: Notify) -> None:
        """Draw an interrupted turn again in its own message, asked by `user`."""
        try:
            admission, turn = await self.service.retry(
                turn_id, platform="slack", workspace=team, user_id=user
            )
        except BadInput as exc:
            log.info("refused a retry of turn %d by %s: %s", turn_id, user, exc.code)
            await notify(exc.user_message)
            return
        self.service.submit(admission, self.reopen(turn, request=admission.request))


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


_FLAGS = {"--size": "size", "--quality": "quality"}


def parse_draw_text(text: str) -> tuple[str, str | None, str | None]:
    """`--size landscape --quality high a prompt` -> (prompt, size, quality).

    Flags come first; the rest is the prompt, word for word."""
    chosen: dict[str, str] = {}
    rest = text.lstrip()
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        name = _FLAGS.get(flag.split("=", 1)[0].lower())
        if name is None:
            raise BadInput(f"{flag} is not an option. Options: --size <shape>, --quality <q>.")
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


def _team(body: dict[str, Any]) -> str:
    team = body.get("team") or {}
    return str(team.get("id") or body.get("user", {}).get("team_id") or "")


def build_app(*, deps: SlackDeps, signing_secret: str | None) -> AsyncApp:
    """The Bolt app. With a signing secret every HTTP request is verified (HTTP mode)."""
    app = AsyncApp(
        client=deps.client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
    )

    @app.command("/draw")
    async def draw(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        text = command_text(command)
        team, user = command["team_id"], command["user_id"]
        if text.strip().lower() == "usage":
            await ack()
            admin = await is_admin(client, user, extra=deps.admins)
            report = await deps.service.usage("slack", team, user)
            await respond(text=usage_text(report, admin=admin, bold="*"), response_type="ephemeral")
            return
        try:
            prompt, size, quality = parse_draw_text(text)
            request = DrawRequest(
                platform="slack",
                workspace=team,
                channel=command["channel_id"],
                user_id=user,
                prompt=clean_prompt(prompt),  # as it is shown, stored and sent
                size=size,
                quality=quality,
            )
            admission = await deps.service.admit(request)
        except BadInput as exc:
            log.info("refused /draw from %s in %s: %s", user, team, exc.code)
            await ack(text=exc.user_message)
            return
        await ack()

        async def notify(text: str) -> None:
            await respond(text=text, response_type="ephemeral", replace_original=False)

        deps.service.submit(admission, deps.surface(request, notify=notify))

    @app.event("message")
    async def reply(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if not is_human_reply(event):
            return
        team = body.get("team_id") or event.get("team") or ""
        channel, thread, user = event["channel"], event["thread_ts"], event["user"]
        key = ThreadKey("slack", team, channel, thread)
        if not await deps.store.is_thread(key):
            return

        async def notify(text: str) -> None:
            await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread, text=text)

        if is_retry(event.get("text")) and not event.get("files"):
            interrupted = await deps.store.last_interrupted(key)
            if interrupted is not None:
                await deps.retry(interrupted.id, team=team, user=user, notify=notify)
                return
        files = event.get("files") or []
        try:
            request = DrawRequest(
                platform="slack",
                workspace=team,
                channel=channel,
                user_id=user,
                prompt=clean_prompt(event.get("text") or ""),  # as it is shown, stored and sent
                thread=thread,
                dedupe_key=f"slack:{team}:{channel}:{event['ts']}",
            )
            deps.downloader.check_all(files)  # before anything is posted or stored
            await deps.service.draw(request, deps.surface(request, attached=files, notify=notify))
        except BadInput as exc:
            await notify(exc.user_message)

    @app.action(RETRY_ACTION)
    async def retry(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        team, user = _team(body), body["user"]["id"]
        container = body.get("container") or {}
        channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
        value = str((body.get("actions") or [{}])[0].get("value") or "")

        async def notify(text: str) -> None:
            if channel:
                await client.chat_postEphemeral(channel=channel, user=user, text=text)

        if not value.isdigit():
            log.warning("a Retry press from %s in %s carried no turn id", user, team)
            return
        await deps.retry(int(value), team=team, user=user, notify=notify)

    async def publish_home(client: AsyncWebClient, team: str, user: str) -> None:
        admin = await is_admin(client, user, extra=deps.admins)
        settings = await deps.service.settings("slack", team)
        report = await deps.service.usage("slack", team, user, settings=settings)
        await client.views_publish(user_id=user, view=home_view(settings, report, admin=admin))

    @app.event("app_home_opened")
    async def home(event: dict[str, Any], body: dict[str, Any], client: AsyncWebClient) -> None:
        if event.get("tab") == "home":
            await publish_home(client, body.get("team_id") or "", event["user"])

    @app.action(EDIT_ACTION)
    async def edit_settings(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        team, user = _team(body), body["user"]["id"]
        if not await is_admin(client, user, extra=deps.admins):
            log.warning("settings button pressed by non-admin %s in %s", user, team)
            return
        settings = await deps.service.settings("slack", team)
        await client.views_open(trigger_id=body["trigger_id"], view=settings_modal(settings))

    @app.view(MODAL_ID)
    async def save_settings(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        team, user = _team(body), body["user"]["id"]
        texts = submitted_texts(body["view"])
        # Checked here, on submission: a crafted payload gets no further than a hidden button.
        if not await is_admin(client, user, extra=deps.admins):
            log.warning("refused a settings submission from non-admin %s in %s", user, team)
            first = next(iter(texts), "enabled")
            await ack(response_action="errors", errors={first: ONLY_ADMINS})
            return
        try:
            await deps.service.change_settings("slack", team, user_id=user, texts=texts)
        except SettingsInvalid as exc:
            await ack(response_action="errors", errors=exc.problems)
            return
        await ack()
        await publish_home(client, team, user)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("unhandled error in a Slack listener (%s)", body.get("type"), exc_info=error)

    return app
