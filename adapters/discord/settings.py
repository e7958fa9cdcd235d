"""/draw-settings on Discord: `show` for everyone, `set` for members with Manage Server,
`usage` for everyone (`/draw usage` does the same). Refusals are ephemeral."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord
from discord import app_commands
from discord.app_commands import Choice

from adapters.discord.deps import DiscordDeps
from adapters.reports import settings_lines, shown, usage_text
from bot.workspace.fields import FIELDS, label
from bot.workspace.settings import SettingsInvalid, WorkspaceSettings
from bot.workspace.verdicts import MODEL_FIELDS

log = logging.getLogger(__name__)

ONLY_MANAGERS = "Only members with the Manage Server permission can change easel's settings."
FIELD_CHOICES = [Choice(name=f.label, value=f.name) for f in FIELDS.values()]
CHANGE_IT = "Change it with `/draw-settings set`."


def warned(text: str, warnings: list[str]) -> str:
    """`text` with the models' warnings (for members with Manage Server) before it."""
    if not warnings:
        return text
    lines = "\n".join(f"⚠️ {line}" for line in warnings)
    return f"{lines}\n{CHANGE_IT}\n\n{text}"


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

    def __init__(self, deps: Callable[[], DiscordDeps]) -> None:
        super().__init__(
            name="draw-settings", description="easel's settings for this server", guild_only=True
        )
        self._deps_of = deps  # asked for when a command runs: `easel sync-commands` has none

    def _deps(self) -> DiscordDeps:
        return self._deps_of()

    @app_commands.command(name="show", description="Show easel's settings for this server")
    async def show(self, interaction: discord.Interaction) -> None:
        workspaces = self._deps().workspaces
        settings = await workspaces.settings("discord", str(interaction.guild_id))
        manager = interaction.permissions.manage_guild
        warnings = workspaces.model_warnings(settings) if manager else []
        await interaction.response.send_message(
            warned(settings_lines(settings, bold="**"), warnings),
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
            settings = await self._deps().workspaces.change_settings(
                "discord", guild, user_id=user, texts={field.value: value}
            )
        except SettingsInvalid as exc:
            reasons = "; ".join(f"{label(k)}: {v}" for k, v in exc.problems.items())
            await interaction.response.send_message(f"Not changed: {reasons}.", ephemeral=True)
            return
        said = self._changed(field.value, settings)
        await interaction.response.send_message(said, ephemeral=True)

    def _changed(self, name: str, settings: WorkspaceSettings) -> str:
        said = f"{label(name)} is now {shown(FIELDS[name], settings)}."
        if name not in MODEL_FIELDS:
            return said
        warnings = self._deps().workspaces.model_warnings(settings)
        return said + "".join(f"\n⚠️ {line}" for line in warnings)

    @app_commands.command(name="usage", description="Your drawings; for managers, the spend")
    async def usage(self, interaction: discord.Interaction) -> None:
        await send_usage(interaction, self._deps())

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
