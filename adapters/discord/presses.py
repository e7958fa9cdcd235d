"""Presses of the buttons under a finished drawing on Discord, and Edit's form.

Every press is answered within Discord's 3 seconds: Edit with its form (once the drawing is
known to be there), the others with a deferral before anything slow. A press the core
refuses is answered with its words, for the presser alone. A press that draws is a new
message in the drawing's thread, as a reply there would be.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import discord

from adapters.discord.editors import NO_MENTIONS, ThreadEditor
from adapters.discord.files import KeptAttachment
from adapters.discord.forms import edit_form, form_turn, typed
from adapters.failures import PlatformError
from bot.errors import EaselError
from bot.models import Action, DrawRequest
from bot.ports import Surface
from bot.turns.presses import Press

if TYPE_CHECKING:
    from adapters.discord.client import EaselDiscord

log = logging.getLogger(__name__)

WENT_WRONG = "Something went wrong with that button; nothing was changed."


def press_of(
    interaction: discord.Interaction, action: Action, turn_id: int, *, text: str | None = None
) -> Press:
    """The core's Press for `interaction`. Admins are members with Manage Server, as for
    /draw-settings."""
    return Press(
        action,
        turn_id,
        platform="discord",
        workspace=str(interaction.guild_id),
        user_id=str(interaction.user.id),
        interaction=str(interaction.id),
        admin=interaction.permissions.manage_guild,
        text=text,
        max_upload_bytes=interaction.filesize_limit or None,
    )


class DiscordPresses:
    def __init__(self, client: EaselDiscord) -> None:
        self._client = client

    async def pressed(self, interaction: discord.Interaction, action: Action, turn_id: int) -> None:
        """A press of one of a finished drawing's buttons (adapters.discord.buttons)."""
        press = press_of(interaction, action, turn_id)
        if action is Action.EDIT:
            await self._answer(interaction, press, lambda: self._open_form(interaction, press))
        else:
            await self._answer(interaction, press, lambda: self._act(interaction, press))

    async def submitted(self, interaction: discord.Interaction) -> None:
        """A submission of Edit's form; any other form is not easel's."""
        data: Mapping[str, Any] | None = interaction.data
        turn_id = form_turn(data)
        if turn_id is None:
            return
        press = press_of(interaction, Action.EDIT, turn_id, text=typed(data))
        await self._answer(interaction, press, lambda: self._act(interaction, press))

    async def _open_form(self, interaction: discord.Interaction, press: Press) -> None:
        await self._client.deps.turns.presses.drawing(press)  # refused in words before the form
        form = edit_form(press.turn_id)
        await self._client.deps.call(lambda: interaction.response.send_modal(form), what="form")

    async def _act(self, interaction: discord.Interaction, press: Press) -> None:
        """Defer, then act. A deferral Discord did not take (a lost answer, or a second
        delivery of a press already answered) does not stop the press: the core claims each
        press once, so a press that was acted on is not acted on again."""
        try:
            await self._client.deps.call(lambda: interaction.response.defer(), what="defer")
        except PlatformError as exc:
            log.warning("could not defer %s: %s", _what(press), exc.reason)
        await self._client.deps.turns.press(press, self._surface_for)

    async def _answer(
        self,
        interaction: discord.Interaction,
        press: Press,
        act: Callable[[], Awaitable[None]],
    ) -> None:
        """Run `act`; a refusal is told to the presser in its words, a bug in general ones
        (and logged with its stack)."""
        what = _what(press)
        try:
            await act()
        except EaselError as exc:
            log.info("refused %s: %s (%s)", what, exc.code, exc.user_message)
            await self._tell(interaction, exc.user_message)
        except PlatformError as exc:
            log.warning("could not answer %s: %s", what, exc.reason)
        except Exception:
            log.exception("pressing %s failed", what)
            await self._tell(interaction, WENT_WRONG)

    async def _tell(self, interaction: discord.Interaction, text: str) -> None:
        """Words for the presser alone: the answer, or a follow-up once it was deferred."""

        async def send() -> None:
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
            else:
                await interaction.response.send_message(
                    text, ephemeral=True, allowed_mentions=NO_MENTIONS
                )

        try:
            await self._client.deps.call(send, what="tell")
        except PlatformError as exc:
            log.warning("could not tell %s: %s", interaction.user.id, exc.reason)

    def _surface_for(self, request: DrawRequest, inputs: Sequence[Mapping[str, Any]]) -> Surface:
        """A press's turn: a new message in the drawing's thread, drawing from `inputs` (the
        stored attachments Redo fetches again)."""
        assert request.thread is not None  # a press draws in its drawing's thread
        editor = ThreadEditor(
            client=self._client, guild=request.workspace, thread=int(request.thread)
        )
        return self._client.surface(
            request,
            editor=editor,
            attached=[KeptAttachment(**a) for a in inputs],
            opens_thread=False,
        )


def _what(press: Press) -> str:
    """A press, for the log."""
    return (
        f"{press.action} on turn {press.turn_id} by {press.user_id} in {press.workspace}"
        f" (interaction {press.interaction})"
    )
