"""The discord.py client: /draw on its CommandTree, replies in easel's threads as turns."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import Any

import discord
from discord import app_commands

from adapters.discord.buttons import TurnButton
from adapters.discord.commands import draw_command
from adapters.discord.deps import DiscordDeps
from adapters.discord.editors import NO_MENTIONS, ReplyEditor, StoredEditor
from adapters.discord.files import AttachmentLike, KeptAttachment
from adapters.discord.presses import DiscordPresses
from adapters.discord.settings import SettingsCommands
from adapters.discord.surface import DiscordSurface, Editor
from bot.errors import EaselError
from bot.models import Action, DrawRequest, StoredTurn

log = logging.getLogger(__name__)

INTENT_NEEDED = (
    "easel cannot read replies here: its bot needs the Message Content intent. Whoever runs "
    "easel can turn it on in the Discord Developer Portal (Bot → Privileged Gateway Intents) "
    "and restart easel. Until then, start a new drawing with /draw."
)
_REPLY_TYPES = (discord.MessageType.default, discord.MessageType.reply)


class EaselDiscord(discord.Client):
    """One client per process; everything it needs is given to it."""

    def __init__(self, *, deps: DiscordDeps | None, read_replies: bool, **options: Any) -> None:
        intents = discord.Intents.default()
        intents.message_content = read_replies
        super().__init__(intents=intents, **options)
        self._deps = deps  # None only when the client just syncs commands
        self.read_replies = read_replies
        self.tree = app_commands.CommandTree(self)
        self._told_about_intent: set[int] = set()
        self._presses = DiscordPresses(self)
        if deps is not None:
            deps.turns.reopen_with("discord", self.reopen)

    @property
    def deps(self) -> DiscordDeps:
        assert self._deps is not None, "a client that only syncs commands handles no events"
        return self._deps

    async def setup_hook(self) -> None:
        self.tree.add_command(draw_command(self))
        self.tree.add_command(SettingsCommands(lambda: self.deps))
        self.add_dynamic_items(TurnButton)

    def surface(
        self,
        request: DrawRequest,
        *,
        editor: Editor,
        attached: Sequence[AttachmentLike],
        opens_thread: bool,
    ) -> DiscordSurface:
        return DiscordSurface(
            editor=editor,
            client=self,
            call=self.deps.call,
            request=request,
            files=self.deps.files,
            attached=attached,
            preview_interval=self.deps.preview_interval,
            opens_thread=opens_thread,
        )

    def reopen(self, turn: StoredTurn, *, request: DrawRequest | None = None) -> DiscordSurface:
        """A surface on a stored turn's message: to deliver it, say it was interrupted, or
        draw `request` (its retry) in it. Every edit goes through the channel."""
        editor = StoredEditor(
            client=self,
            guild=turn.key.workspace,
            channel_id=int(turn.message["channel"]),
            message_id=int(turn.message["message"]),
            thread=int(turn.key.thread),
        )
        return self.surface(
            request or turn.retried_by(turn.user_id),
            editor=editor,
            attached=[KeptAttachment(**a) for a in turn.inputs],
            opens_thread=bool(turn.message.get("opens_thread")),
        )

    async def on_easel_retry(self, interaction: discord.Interaction, turn_id: int) -> None:
        """A press of an interrupted turn's Retry button (see TurnButton)."""
        where, who = str(interaction.guild_id), str(interaction.user.id)
        try:
            await self.deps.turns.retry(turn_id, platform="discord", workspace=where, user_id=who)
        except EaselError as exc:
            log.info("refused a retry of turn %d by %s: %s", turn_id, who, exc.code)
            await interaction.response.send_message(exc.user_message, ephemeral=True)
            return
        await interaction.response.defer()  # the drawing edits the button's own message

    async def on_easel_press(
        self, interaction: discord.Interaction, action: Action, turn_id: int
    ) -> None:
        """A press of a finished drawing's button (see TurnButton)."""
        await self._presses.pressed(interaction, action, turn_id)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            await self._presses.submitted(interaction)  # Edit's form (adapters.discord.forms)

    async def on_message(self, message: discord.Message) -> None:
        request = self._reply_request(message)
        if request is None or not await self.deps.turns.knows(request):
            return  # only people's messages in threads that easel opened
        if not self.read_replies:
            await self._tell_about_intent(message.channel)
            return
        attached = list(message.attachments)
        try:
            self.deps.files.check_all(attached)  # before anything is posted or stored
            await self.deps.turns.draw(
                request,
                lambda admitted: self.surface(
                    admitted,
                    editor=ReplyEditor(source=message),
                    attached=attached,
                    opens_thread=False,
                ),
            )
        except EaselError as exc:
            log.info(
                "refused a reply from %s in %s: %s", message.author.id, request.workspace, exc.code
            )
            await message.reply(
                exc.user_message, mention_author=False, allowed_mentions=NO_MENTIONS
            )

    def _reply_request(self, message: discord.Message) -> DrawRequest | None:
        """A person's message in a server thread, as a reply turn (None for anything else)."""
        guild_id = _guild_id(message)
        if message.author.bot or self.user is None or message.author.id == self.user.id:
            return None
        if guild_id is None or message.type not in _REPLY_TYPES:
            return None
        thread = str(message.channel.id)
        return DrawRequest(
            platform="discord",
            workspace=str(guild_id),
            channel=thread,
            user_id=str(message.author.id),
            prompt=message.content,
            thread=thread,
            dedupe_key=f"discord:message:{message.id}",
            max_upload_bytes=message.guild.filesize_limit if message.guild else None,
            attachment_count=len(message.attachments),
        )

    async def _tell_about_intent(self, thread: discord.abc.Messageable) -> None:
        channel_id = getattr(thread, "id", 0)
        if channel_id not in self._told_about_intent:
            self._told_about_intent.add(channel_id)
            await thread.send(INTENT_NEEDED)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        # discord.py calls this inside its `except` block, so the stack is still at hand.
        log.error(
            "unhandled error in the Discord handler %s",
            event_method,
            exc_info=sys.exc_info(),
        )


class ShardedEaselDiscord(EaselDiscord, discord.AutoShardedClient):
    """The same client over several gateway connections: the shards `shard_ids` of
    `shard_count`, given as options; discord.py routes each server to its shard."""


def _guild_id(message: discord.Message) -> int | None:
    if message.guild is not None:
        return message.guild.id
    guild_id = getattr(message.channel, "guild_id", None)
    return int(guild_id) if guild_id else None
