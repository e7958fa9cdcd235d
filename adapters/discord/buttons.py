"""The buttons easel puts on its messages: Retry on an interrupted drawing; Redo, Vary,
Bigger, Edit and Delete on a finished one.

Each is a DynamicItem: its custom id carries what it acts on, so a press is understood by
any process that holds the server's shard, also one started after the button was shown,
with no view kept in memory.
"""

from __future__ import annotations

import re
from typing import Any

import discord

from bot.models import Action

RETRY_ID = "easel:retry:{turn}"
ACTION_ID = "easel:act:{action}:{turn}"
_ACTIONS = "|".join(re.escape(action.value) for action in Action)
_STYLES = {Action.DELETE: discord.ButtonStyle.danger}


class TurnButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=rf"easel:(?:retry|act:(?P<action>{_ACTIONS})):(?P<turn>[0-9]+)",
):
    """A button that acts on turn `turn_id`: Retry (`action` None) under an interrupted turn,
    or one of the buttons under a finished drawing (bot.models.Action)."""

    def __init__(self, action: Action | None, turn_id: int) -> None:
        if action is None:
            label, style = "Retry", discord.ButtonStyle.primary
            custom_id = RETRY_ID.format(turn=turn_id)
        else:
            label, style = action.label, _STYLES.get(action, discord.ButtonStyle.secondary)
            custom_id = ACTION_ID.format(action=action.value, turn=turn_id)
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id))
        self.action = action
        self.turn_id = turn_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> TurnButton:
        action = match["action"]
        return cls(Action(action) if action else None, int(match["turn"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        # Handled by the client, which has the service at hand: `on_easel_retry`, and
        # `on_easel_press` for the others (adapters.discord.presses).
        if self.action is None:
            interaction.client.dispatch("easel_retry", interaction, self.turn_id)
        else:
            interaction.client.dispatch("easel_press", interaction, self.action, self.turn_id)


def retry_view(turn_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(TurnButton(None, turn_id))
    return view


def actions_view(turn_id: int) -> discord.ui.View:
    """The five buttons of a finished drawing, in one row, in Action's order."""
    view = discord.ui.View(timeout=None)
    for action in Action:
        view.add_item(TurnButton(action, turn_id))
    return view
