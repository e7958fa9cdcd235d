"""Block Kit's rules for actions blocks and their buttons, as Slack checks them: a message
that breaks one is refused with `invalid_blocks` (https://api.slack.com/reference/block-kit)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

MAX_ELEMENTS = 25
_LIMITS = {"action_id": 255, "value": 2000, "url": 3000}
_CONFIRM_LIMITS = {"title": 100, "text": 300, "confirm": 30, "deny": 30}
_STYLES = ("primary", "danger")


def _text(obj: Any, limit: int, ptr: str, *, plain: bool = True) -> list[str]:
    kinds = ("plain_text",) if plain else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict) or obj.get("type") not in kinds:
        return [f"must be a {' or '.join(kinds)} text object [json-pointer:{ptr}]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"missing required field: text [json-pointer:{ptr}/text]"]
    if len(text) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{ptr}/text]"]
    return []


def _confirm(confirm: Any, ptr: str) -> list[str]:
    if not isinstance(confirm, dict):
        return [f"must be an object [json-pointer:{ptr}]"]
    errors: list[str] = []
    for name, limit in _CONFIRM_LIMITS.items():
        errors += _text(confirm.get(name), limit, f"{ptr}/{name}", plain=name != "text")
    if confirm.get("style") not in (None, *_STYLES):
        errors.append(f"must be one of {_STYLES} [json-pointer:{ptr}/style]")
    return errors


def _button(button: dict[str, Any], ptr: str) -> list[str]:
    errors = _text(button.get("text"), 75, f"{ptr}/text")
    for name, limit in _LIMITS.items():
        value = button.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            errors.append(f"must be a string of at most {limit} [json-pointer:{ptr}/{name}]")
    if button.get("style") not in (None, *_STYLES):
        errors.append(f"must be one of {_STYLES} [json-pointer:{ptr}/style]")
    if "confirm" in button:
        errors += _confirm(button["confirm"], f"{ptr}/confirm")
    return errors


def typed_items(
    items: list[Any], ptr: str, id_key: str, errors: list[str]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each item that is an object with a type, with its JSON pointer; `errors` gains Slack's
    words for the others and for an `id_key` used twice."""
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"{ptr}/{i}"
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            errors.append(f"must provide an object with a type [json-pointer:{where}]")
            continue
        ident = item.get(id_key)
        if isinstance(ident, str):
            if ident in seen:
                errors.append(f"duplicate {id_key} [json-pointer:{where}/{id_key}]")
            seen.add(ident)
        yield where, item


def check_actions(block: dict[str, Any], ptr: str) -> list[str]:
    """The `invalid_blocks` errors of one actions block (buttons checked in full)."""
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements:
        return [f"must provide at least one element [json-pointer:{ptr}/elements]"]
    errors: list[str] = []
    if len(elements) > MAX_ELEMENTS:
        errors.append(f"no more than {MAX_ELEMENTS} items allowed [json-pointer:{ptr}/elements]")
    for where, element in typed_items(elements, f"{ptr}/elements", "action_id", errors):
        if element["type"] == "button":
            errors += _button(element, where)
    return errors
