"""What the Slack listeners share: the Web API client, the core's services, file handling,
and how a turn's surface is built (new, or reopened from the ledger)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from adapters.failures import Caller, PlatformError
from adapters.slack.budget import EditBudgets
from adapters.slack.files import SlackDownloader
from adapters.slack.public import PreviewHost
from adapters.slack.surface import Notify, SlackSurface
from bot.models import DrawRequest, StoredTurn
from bot.ports import SurfaceFor
from bot.turns.presses import PressSurfaceFor
from bot.turns.service import DrawService
from bot.workspace.workspaces import Workspaces

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SlackDeps:
    client: AsyncWebClient
    call: Caller
    turns: DrawService
    workspaces: Workspaces
    downloader: SlackDownloader
    preview_host: PreviewHost | None = None
    preview_interval: float = 1.2
    admins: frozenset[str] = frozenset()  # EASEL_SLACK_ADMINS
    edits: EditBudgets = field(default_factory=EditBudgets)  # chat.update, per workspace

    def __post_init__(self) -> None:
        self.turns.reopen_with("slack", self.reopen)

    def surface_for(self, *, attached: Sequence[dict[str, Any]] = (), notify: Notify) -> SurfaceFor:
        """A new turn's surface, built from its admitted request."""
        return lambda request: self._surface(request, attached=attached, notify=notify)

    def reopen(self, turn: StoredTurn, *, request: DrawRequest | None = None) -> SlackSurface:
        """A surface on a stored turn's message: to deliver it, say it was interrupted, or
        draw `request` (its retry) in it."""
        drawn = request or turn.retried_by(turn.user_id)
        key = turn.key
        notify = self.notifier(channel=key.channel, user=drawn.user_id, thread=key.thread)
        attached = [dict(f) for f in turn.inputs]
        return self._surface(drawn, attached=attached, notify=notify, message=turn.message)

    def pressed_surface_for(self) -> PressSurfaceFor:
        """A pressed button's turn's surface: a new message in the drawing's thread, drawing
        from the stored attachments it is given (Redo's) as a retry does."""

        def build(request: DrawRequest, inputs: Sequence[Mapping[str, Any]]) -> SlackSurface:
            r = request
            notify = self.notifier(channel=r.channel, user=r.user_id, thread=r.thread)
            return self._surface(r, attached=[dict(f) for f in inputs], notify=notify)

        return build

    def notifier(self, *, channel: str | None, user: str, thread: str | None = None) -> Notify:
        """Words for one person only (an ephemeral message), where they are. When Slack will
        not take them, that is logged: there is nowhere else to say it."""

        async def notify(text: str) -> None:
            if not channel:
                return
            try:
                await self.call(
                    lambda: self.client.chat_postEphemeral(
                        channel=channel, user=user, thread_ts=thread, text=text
                    ),
                    what="chat.postEphemeral",
                )
            except PlatformError as exc:
                log.warning("could not tell %s in %s: %s", user, channel, exc.reason)

        return notify

    def _surface(
        self,
        request: DrawRequest,
        *,
        attached: Sequence[dict[str, Any]],
        notify: Notify,
        message: Any = None,
    ) -> SlackSurface:
        return SlackSurface(
            client=self.client,
            call=self.call,
            request=request,
            budget=self.edits.of(request.workspace),
            downloader=self.downloader,
            attached=attached,
            preview_host=self.preview_host,
            preview_interval=self.preview_interval,
            notify=notify,
            message=message,
        )


def deps_of(context: AsyncBoltContext) -> SlackDeps:
    """The dependencies `adapters.slack.listeners.register` put in every listener's context."""
    deps: SlackDeps = context["easel"]
    return deps
