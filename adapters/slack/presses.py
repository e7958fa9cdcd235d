"""Bolt listeners for the buttons under a finished drawing, and for Edit's form.

Each press is acknowledged at once. Its button's value (the drawing's turn id) and the ledger
are all it needs, so the buttons work after a restart and on any replica; the workspace is
the one the request is authenticated for (`workspace_of`), never one a payload names. A press
that is refused is answered in words to the presser alone, where they pressed.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext

from adapters.failures import PlatformError
from adapters.slack import edit_form
from adapters.slack.blocks import ACTION_IDS
from adapters.slack.deps import SlackDeps, deps_of
from adapters.slack.payloads import press_key, pressed, pressed_in, workspace_of
from adapters.slack.views import Admin, admin_check
from bot import errors
from bot.models import Action
from bot.turns.inputs import GONE
from bot.turns.presses import Press
from bot.workspace.admission import clean_prompt

log = logging.getLogger(__name__)

ACTIONS = {action_id: action for action, action_id in ACTION_IDS.items()}
COULD_NOT_CHECK = (
    "Slack could not be asked just now whether you are an admin, so the drawing was not "
    "deleted. Try again in a moment."
)
FORM_NOT_OPENED = "Slack did not open the form just now. Press Edit again."


async def button_pressed(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    await ack()
    deps, team, user = deps_of(context), workspace_of(context), body["user"]["id"]
    channel, value = pressed(body)
    action = ACTIONS[str(body["actions"][0]["action_id"])]
    try:
        if not value.isdigit():
            raise errors.BadInput(GONE)
        press = Press(
            action,
            int(value),
            platform="slack",
            workspace=team,
            user_id=user,
            interaction=press_key(body, team=team),
        )
        if action is Action.EDIT:
            await open_form(deps, press, trigger=body.get("trigger_id"), where=body)
            return
        if action is Action.DELETE:
            press = replace(press, admin=await may_delete_any(deps, press))
        await deps.turns.press(press, deps.pressed_surface_for())
    except errors.EaselError as exc:
        log.info("refused %s on turn %s by %s in %s: %s", action, value, user, team, exc.code)
        await deps.notifier(channel=channel, user=user, thread=pressed_in(body))(exc.user_message)


async def may_delete_any(deps: SlackDeps, press: Press) -> bool:
    """Whether the presser may delete a drawing someone else asked for: an admin of this
    workspace (Slack is asked only when the drawing is not their own)."""
    turn = await deps.turns.presses.drawing(press)
    if turn.user_id == press.user_id:
        return False
    admin = await admin_check(
        deps.client, user_id=press.user_id, team=press.workspace, extra=deps.admins
    )
    if admin is Admin.UNKNOWN:
        raise errors.ChatUnavailable(COULD_NOT_CHECK)
    return admin is Admin.YES


async def open_form(deps: SlackDeps, press: Press, *, trigger: Any, where: dict[str, Any]) -> None:
    """Edit's form, for a drawing that can still be edited (the core says why not, in words)."""
    turn = await deps.turns.presses.drawing(press)
    channel, _ = pressed(where)
    view = edit_form.modal(turn, channel=channel, thread=pressed_in(where))
    try:
        await deps.call(
            lambda: deps.client.views_open(trigger_id=str(trigger or ""), view=view),
            what="views.open",
        )
    except PlatformError as exc:
        log.warning("could not open the edit form for %s: %s", press.user_id, exc.reason)
        raise errors.ChatUnavailable(FORM_NOT_OPENED, detail=exc.reason) from exc


def checked(view: dict[str, Any]) -> tuple[edit_form.Opened, str]:
    """The form's drawing and its typed words, cleaned as a prompt; BadInput with the words
    its box shows when they cannot be drawn."""
    form, text = edit_form.opened(view), edit_form.typed(view)
    if form is None:
        raise errors.BadInput(edit_form.GONE)
    if not text.strip():
        raise errors.BadInput(edit_form.EMPTY)
    return form, clean_prompt(text)


async def form_submitted(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    deps, team, user = deps_of(context), workspace_of(context), body["user"]["id"]
    view = body["view"]
    try:
        form, text = checked(view)
    except errors.BadInput as exc:
        await ack(response_action="errors", errors={edit_form.PROMPT_BLOCK: exc.user_message})
        return
    await ack()
    press = Press(
        Action.EDIT,
        form.turn_id,
        platform="slack",
        workspace=team,
        user_id=user,
        interaction=f"{team}:view:{view.get('id')}",
        text=text,
    )
    try:
        await deps.turns.press(press, deps.pressed_surface_for())
    except errors.EaselError as exc:
        log.info("refused an edit of turn %d by %s in %s: %s", form.turn_id, user, team, exc.code)
        notify = deps.notifier(channel=form.channel, user=user, thread=form.thread)
        await notify(exc.user_message)


def register(app: AsyncApp) -> None:
    for action_id in ACTIONS:
        app.action(action_id)(button_pressed)
    app.view(edit_form.FORM_ID)(form_submitted)
