"""Edit's form: one paragraph whose text becomes the drawing thread's next turn.

The form is never kept in memory: its custom id carries the drawing's turn, and its
submission is read from the interaction by that id (EaselDiscord.on_interaction), so a form
opened before a restart is still understood after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

import discord

FORM_ID = "easel:edit:{turn}"
_FORM = re.compile(r"easel:edit:(?P<turn>[0-9]+)")
PROMPT_ID = "prompt"
TITLE = "Edit the drawing"
LABEL = "What to change"
HINT = "The drawing's next turn, as if you replied in its thread."
PLACEHOLDER = "make the sky stormy"
MAX_TEXT = 4000  # Discord's limit for a text input


def edit_form(turn_id: int) -> discord.ui.Modal:
    form = discord.ui.Modal(title=TITLE, custom_id=FORM_ID.format(turn=turn_id), timeout=None)
    prompt = discord.ui.TextInput[Any](
        style=discord.TextStyle.paragraph,
        custom_id=PROMPT_ID,
        placeholder=PLACEHOLDER,
        required=True,
        max_length=MAX_TEXT,
    )
    form.add_item(discord.ui.Label(text=LABEL, description=HINT, component=prompt))
    form.stop()  # not listened for in memory: see the module's docstring
    return form


def form_turn(data: Mapping[str, Any] | None) -> int | None:
    """The turn a submitted form edits; None when the submission is not Edit's form."""
    found = _FORM.fullmatch(str((data or {}).get("custom_id", "")))
    return int(found["turn"]) if found else None


def typed(data: Mapping[str, Any] | None) -> str:
    """What was typed into the form's prompt ("" when it is missing)."""
    for component in _walk((data or {}).get("components") or []):
        if component.get("custom_id") == PROMPT_ID:
            return str(component.get("value") or "")
    return ""


def _walk(components: list[Any]) -> Iterator[Mapping[str, Any]]:
    """Every component of a submission: inside action rows (`components`) and labels
    (`component`) alike."""
    for component in components:
        if not isinstance(component, Mapping):
            continue
        yield component
        yield from _walk(list(component.get("components") or []))
        inner = component.get("component")
        if isinstance(inner, Mapping):
            yield from _walk([inner])
