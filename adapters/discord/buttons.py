"""The Retry button of an interrupted drawing."""

from __future__ import annotations

import re
from typing import Any

import discord

RETRY_ID = "easel:retry:{turn}"


class RetryButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"easel:retry:(?P<turn>[0-9]+)"
):
    """The Retry button of an interrupted turn. Dynamic: it works for turns interrupted before
    this process started, with no view kept in memory."""

    def __init__(self, turn_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Retry",
                style=discord.ButtonStyle.primary,
                custom_id=RETRY_ID.format(turn=turn_id),
            )
        )
        self.turn_id = turn_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> RetryButton:
        return cls(int(match["turn"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        # Handled by the client's `on_easel_retry`, which has the service at hand.
        interaction.client.dispatch("easel_retry", interaction, self.turn_id)


def retry_view(turn_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(RetryButton(turn_id))
    return view
