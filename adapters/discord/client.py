"""The discord.py client: /draw on its CommandTree, replies in easel's threads as turns."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from adapters.discord.buttons import RetryButton
from adapters.discord.files import DiscordFiles, KeptAttachment
from adapters.discord.settings import SettingsCommands, send_usage
from adapters.discord.surface import (
    DEFAULT_FILESIZE_LIMIT,
    NO_MENTIONS,
    InteractionSurface,
    StoredMessageSurface,
    ThreadReplySurface,
)
from bot.admission import clean_prompt, is_retry
from bot.clock import Clock, SystemClock
from bot.errors import BadInput
from bot.models import DrawRequest, StoredTurn, ThreadKey
from bot.ports import Store
from bot.service import DrawService

log = logging.getLogger(__name__)

SIZES = [Choice(name=n, value=n) for n in ("square", "portrait", "landscape")]
QUALITIES = [Choice(name=n, value=n) for n in ("low", "medium", "high")]
INTENT_NEEDED = (
    "easel cannot read replies here: its bot needs the Message Content intent. Whoever runs "
    "easel can turn it on in the Discord Developer Portal (Bot → Privileged Gateway Intents) "
    "and restart easel. Until then, start a new drawing with /draw."
)


@dataclass(frozen=True, slots=True)
class DiscordDeps:
    service: DrawService
    store: Store
    files: DiscordFiles
    preview_interval: float = 1.0
    clock: Clock = field(default_factory=SystemClock)


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

    @property
    def deps(self) -> DiscordDeps:
        assert self._deps is not None, "a client that only syncs commands handles no events"
        return self._deps

    async def setup_hook(self) -> None:
        self.tree.add_command(draw_command(self))
        self.tree.add_command(SettingsCommands(self))
        self.add_dynamic_items(RetryButton)

    def reopen(
        self, turn: StoredTurn, *, request: DrawRequest | None = None
    ) -> StoredMessageSurface:
        """A surface on a stored turn's message: to deliver it, say it was interrupted, or
        draw `request` (its retry) in it."""
        return StoredMessageSurface(
            key=turn.key,
            message=turn.message,
            client=self,
            request=request or turn.retried_by(turn.user_id),
            files=self.deps.files,
            attached=[KeptAttachment(**a) for a in turn.inputs],
            preview_interval=self.deps.preview_interval,
        )

    async def retry(self, turn_id: int, *, guild: str, user: str) -> str | None:
        """Draw an interrupted turn again in its own message; the refusal's words, if any."""
        try:
            admission, turn = await self.deps.service.retry(
                turn_id, platform="discord", workspace=guild, user_id=user
            )
        except BadInput as exc:
            log.info("refused a retry of turn %d by %s: %s", turn_id, user, exc.code)
            return exc.user_message
        self.deps.service.submit(admission, self.reopen(turn, request=admission.request))
        return None

    async def on_easel_retry(self, interaction: discord.Interaction, turn_id: int) -> None:
        """A press of an interrupted turn's Retry button (see RetryButton)."""
        refused = await self.retry(
            turn_id, guild=str(interaction.guild_id), user=str(interaction.user.id)
        )
        if refused is not None:
            await interaction.response.send_message(refused, ephemeral=True)
        else:
            await interaction.response.defer()  # the drawing edits the button's own message

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot or self.user is None or message.author.id == self.user.id:
            return
        guild_id = _guild_id(message)
        if guild_id is None or message.type not in _REPLY_TYPES:
            return
        thread = message.channel.id
        key = ThreadKey("discord", str(guild_id), str(thread), str(thread))
        if not await self.deps.store.is_thread(key):
            return  # only threads that easel opened
        if not self.read_replies:
            if thread not in self._told_about_intent:
                self._told_about_intent.add(thread)
                await message.channel.send(INTENT_NEEDED)
            return
        if is_retry(message.content) and not message.attachments:
            interrupted = await self.deps.store.last_interrupted(key)
            if interrupted is not None:
                refused = await self.retry(
                    interrupted.id, guild=str(guild_id), user=str(message.author.id)
                )
                if refused is not None:
                    await message.reply(refused, mention_author=False, allowed_mentions=NO_MENTIONS)
                return
        try:
            request = DrawRequest(
                platform="discord",
                workspace=str(guild_id),
                channel=str(thread),
                user_id=str(message.author.id),
                prompt=clean_prompt(message.content),  # as it is shown, stored and sent
                thread=str(thread),
                dedupe_key=f"discord:message:{message.id}",
                max_upload_bytes=message.guild.filesize_limit if message.guild else None,
            )
            self.deps.files.check_all(message.attachments)  # before anything is posted or stored
            surface = ThreadReplySurface(
                message=message,
                client=self,
                request=request,
                files=self.deps.files,
                attached=list(message.attachments),
                preview_interval=self.deps.preview_interval,
            )
            await self.deps.service.draw(request, surface)
        except BadInput as exc:
            log.info("refused a reply from %s in %s: %s", message.author.id, guild_id, exc.code)
            await message.reply(
                exc.user_message, mention_author=False, allowed_mentions=NO_MENTIONS
            )

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        # discord.py calls this inside its `except` block, so the stack is still at hand.
        log.error(
            "unhandled error in the Discord handler %s",
            event_method,
            exc_info=sys.exc_info(),
        )


_REPLY_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def _guild_id(message: discord.Message) -> int | None:
    if message.guild is not None:
        return message.guild.id
    guild_id = getattr(message.channel, "guild_id", None)
    return int(guild_id) if guild_id else None


def draw_command(client: EaselDiscord) -> app_commands.Command[Any, Any, None]:
    @app_commands.command(name="draw", description="Draw a picture from your words")
    @app_commands.describe(
        prompt="What to draw (or: usage)",
        image="An image to start from or edit",
        size="The picture's shape",
        quality="Higher takes longer",
    )
    @app_commands.choices(size=SIZES, quality=QUALITIES)
    @app_commands.guild_only()
    async def draw(
        interaction: discord.Interaction,
        prompt: str,
        image: discord.Attachment | None = None,
        size: Choice[str] | None = None,
        quality: Choice[str] | None = None,
    ) -> None:
        deps = client.deps
        if prompt.strip().lower() == "usage":
            await send_usage(interaction, deps)
            return
        try:
            request = DrawRequest(
                platform="discord",
                workspace=str(interaction.guild_id),
                channel=str(interaction.channel_id),
                user_id=str(interaction.user.id),
                prompt=clean_prompt(prompt),  # as it is shown, stored and sent
                dedupe_key=f"discord:interaction:{interaction.id}",
                size=size.value if size else None,
                quality=quality.value if quality else None,
                max_upload_bytes=interaction.filesize_limit or DEFAULT_FILESIZE_LIMIT,
            )
            if image is not None:
                deps.files.check(image)  # before anything is posted or stored
            admission = await deps.service.admit(request)
        except BadInput as exc:
            log.info("refused /draw from %s: %s", interaction.user.id, exc.code)
            await interaction.response.send_message(exc.user_message, ephemeral=True)
            return
        try:
            await interaction.response.defer(thinking=True)
        except BaseException:
            deps.service.release(admission)
            raise
        surface = InteractionSurface(
            interaction=interaction,
            clock=deps.clock.monotonic,
            client=client,
            request=request,
            files=deps.files,
            attached=[image] if image else [],
            preview_interval=deps.preview_interval,
        )
        deps.service.submit(admission, surface)

    return draw
