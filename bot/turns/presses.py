"""The buttons under a finished drawing: Redo, Vary, Bigger, Edit and Delete.

A press that draws is a new turn in the drawing's thread, admitted like a reply (enabled,
quotas, the thread's reply policy) and queued behind the thread's earlier turns. Each press is
claimed once (a retried interaction draws once), and a button whose drawing is still queued or
drawing answers "already drawing" (a double click draws once), while the same button pressed
after its drawing ended draws again, on purpose. Everything a press needs is in the ledger,
so the buttons work after a restart and on any replica.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bot import errors
from bot.models import Action, DrawRequest, StoredTurn
from bot.ports import Claims, Drawings, Ledger, Reopen, Surface
from bot.turns.inputs import BIGGER_PROMPT, GONE, VARY_PROMPT
from bot.turns.status import TurnStatus
from bot.workspace.admission import Admission, AdmissionDesk
from bot.workspace.workspaces import Workspaces

log = logging.getLogger(__name__)

DELETED = "That drawing was deleted."
NOT_YET = "That drawing is still on its way. Try again in a moment."
ALREADY = {
    Action.REDO: "That drawing is already being drawn again. Its new message is in the thread.",
    Action.VARY: "A variation of that drawing is already being drawn. It is in the thread.",
    Action.BIGGER: "A bigger version of that drawing is already being drawn. It is in the thread.",
}
# A press claimed by a replica that stopped before writing its turn no longer holds its
# button after this many seconds.
STALE_PRESS = 600.0

PressSurfaceFor = Callable[[DrawRequest, Sequence[Mapping[str, Any]]], Surface]
"""Builds the surface of a press's new turn in the drawing's thread, from its admitted request
and the stored attachments it draws from again (Redo's)."""


@dataclass(frozen=True, slots=True)
class Press:
    """One press of a button on a finished drawing (turn `turn_id`)."""

    action: Action
    turn_id: int
    platform: str
    workspace: str
    user_id: str
    interaction: str  # the platform's id of this press: claimed once
    admin: bool = False  # the presser administers the workspace (may Delete any drawing)
    text: str | None = None  # what was typed in Edit's form
    max_upload_bytes: int | None = None


def who_may_delete(turn: StoredTurn) -> str:
    return (
        f"Only <@{turn.user_id}>, who asked for this drawing, or an admin of this workspace "
        "can delete it."
    )


class Presses:
    def __init__(
        self,
        *,
        ledger: Ledger,
        drawings: Drawings,
        claims: Claims,
        desk: AdmissionDesk,
        workspaces: Workspaces,
        reopen: Mapping[str, Reopen],
        submit: Callable[[Admission, Surface], object],
    ) -> None:
        self._ledger = ledger
        self._drawings = drawings
        self._claims = claims
        self._desk = desk
        self._workspaces = workspaces
        self._reopen = reopen
        self._submit = submit

    async def drawing(self, press: Press) -> StoredTurn:
        """The drawing a press acts on; BadInput, in words, when it cannot be acted on (gone,
        deleted, from another workspace, not delivered yet, or, for Edit's form, not theirs to
        draw in). Edit asks before its form."""
        turn = await self._ledger.get(press.turn_id)
        if turn is None or (turn.key.platform, turn.key.workspace) != (
            press.platform,
            press.workspace,
        ):
            raise errors.BadInput(GONE)
        if turn.deleted and press.action is not Action.DELETE:
            raise errors.BadInput(DELETED)
        if turn.status is TurnStatus.DELIVERING:
            raise errors.BadInput(NOT_YET)
        if turn.status is not TurnStatus.DELIVERED:
            raise errors.BadInput(GONE)
        if press.action is Action.EDIT and press.text is None:  # before its form opens
            k = turn.key
            here = DrawRequest(k.platform, k.workspace, k.channel, press.user_id, "", k.thread)
            await self._desk.may_draw_here(here)
        return turn

    async def press(self, press: Press, surface_for: PressSurfaceFor) -> None:
        """Act on a press; BadInput (with words for the presser alone) when it is refused.
        Nothing happens for a press seen before."""
        turn = await self.drawing(press)
        if press.action is Action.DELETE:
            await self._delete(turn, press)
            return
        admission = await self._desk.admit(await self._request(turn, press))
        try:
            if not await self._claims.claim(f"press:{press.platform}:{press.interaction}"):
                log.info("ignoring a repeated press %s", press.interaction)
                await self._desk.release(admission)
                return
            await self._claim_button(turn, press.action)
        except BaseException:
            await self._desk.release(admission)
            raise
        log.info("%s pressed on turn %d by %s", press.action, turn.id, press.user_id)
        inputs = turn.inputs if press.action is Action.REDO else ()
        self._submit(admission, surface_for(admission.request, inputs))

    async def _claim_button(self, turn: StoredTurn, action: Action) -> None:
        """One drawing per button at a time, on every replica: the press that claims the
        button's next drawing draws; the others are told it is already drawing."""
        if action not in ALREADY:
            return
        running, ended = await self._drawings.pressed(turn.id, action)
        key = f"{action}:{turn.key.platform}:{turn.id}:{ended}"
        if running or not await self._claims.claim(key, stale_after=STALE_PRESS):
            raise errors.BadInput(ALREADY[action])

    async def _request(self, turn: StoredTurn, press: Press) -> DrawRequest:
        k = turn.key
        request = DrawRequest(
            platform=k.platform,
            workspace=k.workspace,
            channel=k.channel,
            user_id=press.user_id,
            prompt=turn.prompt,
            thread=k.thread,
            max_upload_bytes=press.max_upload_bytes or turn.max_upload_bytes,
            attachment_count=len(turn.inputs),
            action=press.action,
            origin=turn.id,
        )
        match press.action:
            case Action.REDO:
                return replace(request, size=turn.options.size, quality=turn.options.quality)
            case Action.VARY:
                return replace(request, prompt=VARY_PROMPT, size=turn.image_size or turn.size)
            case Action.BIGGER:
                return replace(request, prompt=BIGGER_PROMPT, size=await self._bigger(turn))
            case Action.EDIT:
                if not press.text or not press.text.strip():
                    raise errors.BadInput("Type what to change in the drawing.")
                return replace(request, prompt=press.text, attachment_count=0)
        raise AssertionError(f"{press.action} does not draw")

    async def _bigger(self, turn: StoredTurn) -> str:
        k = turn.key
        sizes = (await self._workspaces.settings(k.platform, k.workspace)).sizes
        drawn = turn.image_size or turn.options.size
        bigger = sizes.bigger(drawn)
        if bigger is None:
            raise errors.NotAllowed(
                f"That drawing is {drawn}, already as large as this workspace allows "
                f"({sizes.describe()})."
            )
        return bigger

    async def _delete(self, turn: StoredTurn, press: Press) -> None:
        if press.user_id != turn.user_id and not press.admin:
            raise errors.NotAllowed(who_may_delete(turn))
        if not turn.deleted and not await self._drawings.delete(turn.id, by=press.user_id):
            raise errors.BadInput(DELETED)  # deleted by another press meanwhile
        log.info("turn %d deleted by %s", turn.id, press.user_id)
        # Pressed again after the platform failed to remove it: remove it again.
        await self._reopen[turn.key.platform](turn).erase(turn.file_ref)
