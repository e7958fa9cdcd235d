"""`/draw` on Discord's command tree: a new drawing in the interaction's response."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from adapters.discord.editors import InteractionEditor
from adapters.discord.settings import send_usage
from adapters.discord.surface import DEFAULT_FILESIZE_LIMIT
from adapters.failures import PlatformError
from bot.errors import EaselError, StoreUnavailable
from bot.models import DrawRequest
from bot.workspace.admission import Admission, is_usage

if TYPE_CHECKING:
    from adapters.discord.client import EaselDiscord

log = logging.getLogger(__name__)

SizeCompleter = Callable[[discord.Interaction, str], Coroutine[Any, Any, list[Choice[str]]]]

QUALITIES = [Choice(name=n, value=n) for n in ("low", "medium", "high")]


def draw_command(client: EaselDiscord) -> app_commands.Command[Any, Any, None]:
    @app_commands.command(name="draw", description="Draw a picture from your words")
    @app_commands.describe(
        prompt="What to draw (or: usage)",
        image="An image to start from or edit",
        size="square, portrait, landscape, or WIDTHxHEIGHT such as 1536x864",
        quality="Higher takes longer",
    )
    @app_commands.choices(quality=QUALITIES)
    @app_commands.autocomplete(size=_sizes(client))
    @app_commands.guild_only()
    async def draw(
        interaction: discord.Interaction,
        prompt: str,
        image: discord.Attachment | None = None,
        size: str | None = None,
        quality: Choice[str] | None = None,
    ) -> None:
        if is_usage(prompt):
            await send_usage(interaction, client.deps)
            return
        request = DrawRequest(
            platform="discord",
            workspace=str(interaction.guild_id),
            channel=str(interaction.channel_id),
            user_id=str(interaction.user.id),
            prompt=prompt,
            dedupe_key=f"discord:interaction:{interaction.id}",
            size=size or None,
            quality=quality.value if quality else None,
            max_upload_bytes=interaction.filesize_limit or DEFAULT_FILESIZE_LIMIT,
            attachment_count=1 if image else 0,
        )
        try:
            if image is not None:
                client.deps.files.check(image)  # before anything is posted or stored
            admission = await client.deps.turns.accept(request)
        except EaselError as exc:
            log.info("refused /draw from %s: %s", interaction.user.id, exc.code)
            await interaction.response.send_message(exc.user_message, ephemeral=True)
            return
        if admission is not None:
            await _start(client, interaction, admission, image)

    return draw


def _sizes(client: EaselDiscord) -> SizeCompleter:
    """The sizes the server allows, offered as a person types (what they typed first, when
    it is a size); the typed text is checked again by admission when the command runs."""

    async def complete(interaction: discord.Interaction, current: str) -> list[Choice[str]]:
        try:
            settings = await client.deps.workspaces.settings("discord", str(interaction.guild_id))
        except StoreUnavailable:
            log.warning("no size suggestions for %s: the database is not answering", current)
            return []
        found = settings.sizes.suggestions(current)
        return [Choice(name=label, value=value) for label, value in found]

    return complete


async def _start(
    client: EaselDiscord,
    interaction: discord.Interaction,
    admission: Admission,
    image: discord.Attachment | None,
) -> None:
    """Defer at once (Discord waits 3 s), then draw in the deferred response."""
    turns = client.deps.turns
    try:
        await client.deps.call(lambda: interaction.response.defer(thinking=True), what="defer")
    except PlatformError as exc:
        await turns.release(admission)
        log.warning("could not answer /draw from %s: %s", interaction.user.id, exc.reason)
        return
    except BaseException:
        await turns.release(admission)
        raise
    editor = InteractionEditor(
        interaction=interaction,
        client=client,
        guild=admission.request.workspace,
        clock=client.deps.clock.monotonic,
    )
    attached = [image] if image else []
    surface = client.surface(admission.request, editor=editor, attached=attached, opens_thread=True)
    turns.submit(admission, surface)
