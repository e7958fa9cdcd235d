"""/draw-settings on Discord: `show` for everyone, `set` for members with Manage Server,
`usage` for everyone (`/draw usage` does the same). Refusals are ephemeral."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from adapters.discord.deps import DiscordDeps
from adapters.reports import settings_lines, shown, usage_text
from bot.workspace.fields import FIELDS, label
from bot.workspace.settings import SettingsInvalid

log = logging.getLogger(__name__)

ONLY_MANAGERS = "Only members with the Manage Server permission can change easel's settings."
FIELD_CHOICES = [Choice(name=f.label, value=f.name) for f in FIELDS.values()]


async def send_usage(interaction: discord.Interaction, deps: DiscordDeps) -> None:
    report = await deps.workspaces.usage(
        "discord", str(interaction.guild_id), str(interaction.user.id)
    )
    admin = interaction.permissions.manage_guild
    await interaction.response.send_message(
        usage_text(report, admin=admin, bold="**"),
        ephemeral=True,
        allowed_mentions=discord.AllowedMentions.none(),
    )


class SettingsCommands(app_commands.Group):
    """easel's settings for this server."""

    def __init__(self, deps: DiscordDeps) -> None:
        super().__init__(
            name="draw-settings", description="easel's settings for this server", guild_only=True
        )
        self._deps = deps

    @app_commands.command(name="show", description="Show easel's settings for this server")
    async def show(self, interaction: discord.Interaction) -> None:
        settings = await self._deps.workspaces.settings("discord", str(interaction.guild_id))
        await interaction.response.send_message(
            settings_lines(settings, bold="**"),
            ephemeral=True,
            allowed_mentions=discord.AllowedMentions.none(),
        )

    @app_commands.command(name="set", description="Change one of easel's settings")
    @app_commands.describe(field="The setting to change", value="The new value (none to clear)")
    @app_commands.choices(field=FIELD_CHOICES)
    @app_commands.checks.has_permissions(manage_guild=True)
    async def set_(self, interaction: discord.Interaction, field: Choice[str], value: str) -> None:
        guild, user = str(interaction.guild_id), str(interaction.user.id)
        try:
            settings = await self._deps.workspaces.change_settings(
                "discord", guild, user_id=user, texts={field.value: value}
            )
        except SettingsInvalid as exc:
            reasons = "; ".join(f"{label(k)}: {v}" for k, v in exc.problems.items())
            await interaction.response.send_message(f"Not changed: {reasons}.", ephemeral=True)
            return
        await interaction.response.send_message(
            f"{label(field.value)} is now {shown(FIELDS[field.value], settings)}.", ephemeral=True
        )

    @app_commands.command(name="usage", description="Your drawings; for managers, the spend")
    async def usage(self, interaction: discord.Interaction) -> None:
        await send_usage(interaction, self._deps)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.MissingPermissions):
            log.warning(
                "refused /draw-settings from %s in %s: no Manage Server",
                interaction.user.id,
                interaction.guild_id,
            )
            await interaction.response.send_message(ONLY_MANAGERS, ephemeral=True)
            return
        log.error("unhandled error in /draw-settings", exc_info=error)
        if not interaction.response.is_done():
            await interaction.response.send_message(
                "Something went wrong; nothing was changed.", ephemeral=True
            )
