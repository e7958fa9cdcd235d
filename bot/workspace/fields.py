"""The workspace settings' fields: how a person names each one, how typed text is read, how a
value is shown and how it is stored (JSON)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.models import ImageOptions
from bot.workspace.options import BACKGROUNDS, FIDELITIES, FORMATS, MODERATIONS, QUALITIES
from bot.workspace.sizes import (
    ALLOWED_SIZES,
    LARGEST,
    SIZE_ALIASES,
    STABLE,
    custom_size_problem,
    dimensions,
    parse_size,
    size_name,
)

REPLY_POLICIES = ("anyone", "starter")
_NONE_WORDS = ("none", "off", "no", "unlimited", "all", "")
_TRUE_WORDS = ("on", "yes", "true", "enabled", "1")
_FALSE_WORDS = ("off", "no", "false", "disabled", "0")
_LIVE = ImageOptions()  # live models to name as examples (checked with OpenAI at start)


@dataclass(frozen=True, slots=True)
class Field:
    """One setting: how a person names it, how its text is read, how it is shown and stored."""

    name: str
    label: str
    help: str
    kind: str  # choice | choices | size | largest | text | int | money | bool | channels
    choices: tuple[str, ...] = ()
    optional: bool = False  # "none" clears it
    low: int | None = None
    high: int | None = None

    def parse(self, text: str) -> Any:
        """The value a person typed; ValueError with words that say what is allowed."""
        text = text.strip()
        if self.optional and text.lower() in _NONE_WORDS:
            return () if self.kind in ("choices", "channels") else None
        return _PARSERS[self.kind](self, text)

    def show(self, value: Any) -> str:
        if value is None or value == ():
            if self.name == "compression":
                return "default"
            return {"channels": "all channels", "money": "no cap", "int": "no limit"}.get(
                self.kind, "not set"
            )
        if self.kind == "bool":
            return "on" if value else "off"
        if self.kind == "money":
            return f"${value:,.2f}"
        if self.kind in ("channels", "choices"):
            return ", ".join(value)
        if self.kind in ("size", "largest"):
            return size_name(value)
        return str(value)

    def load(self, raw: Any) -> Any:
        """A value as stored (JSON), back as the settings' own type."""
        if raw is None:
            return None
        if self.kind in ("choices", "channels"):
            return tuple(str(v) for v in raw)
        return {"int": int, "money": float, "bool": bool}.get(self.kind, str)(raw)


def _choice(field: Field, text: str) -> str:
    value = SIZE_ALIASES.get(text.lower(), text.lower())
    if value not in field.choices:
        raise ValueError(f"must be one of {', '.join(field.choices)}")
    return value


def _words(text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(p for p in re.split(r"[\s,]+", text) if p))


def _choices(field: Field, text: str) -> tuple[str, ...]:
    items = tuple(dict.fromkeys(SIZE_ALIASES.get(p.lower(), p.lower()) for p in _words(text)))
    if not items or any(p not in field.choices for p in items):
        raise ValueError(f"must be some of {', '.join(map(size_name, field.choices))}")
    return items


def _size(field: Field, text: str) -> str:
    """auto, a shape or WIDTHxHEIGHT; the image model's rules are checked with the settings."""
    return parse_size(text)


def _largest(field: Field, text: str) -> str:
    """WIDTHxHEIGHT within the rules of every model that takes custom sizes."""
    size = parse_size(text)
    if dimensions(size) is None:
        raise ValueError(f"must be WIDTHxHEIGHT, at most {LARGEST}, such as {STABLE}")
    if problem := custom_size_problem(size):
        raise ValueError(problem)
    return size


def _channels(field: Field, text: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(_channel_id(p) for p in _words(text)))


def _channel_id(text: str) -> str:
    """A channel as typed: an id, a Slack <#C123|name> or a Discord <#123> mention."""
    match = re.fullmatch(r"<#([A-Za-z0-9]+)(?:\|[^>]*)?>|#?([A-Za-z0-9]+)", text)
    if match is None:
        raise ValueError(f"{text!r} is not a channel; name channels by mention or id")
    return match.group(1) or match.group(2)


def _bool(field: Field, text: str) -> bool:
    if text.lower() in _TRUE_WORDS:
        return True
    if text.lower() in _FALSE_WORDS:
        return False
    raise ValueError("must be on or off")


def _int(field: Field, text: str) -> int:
    if not re.fullmatch(r"\d+", text):
        raise ValueError(f"must be a whole number from {field.low} to {field.high}")
    number = int(text)
    if (field.low is not None and number < field.low) or (
        field.high is not None and number > field.high
    ):
        raise ValueError(f"must be from {field.low} to {field.high}")
    return number


def _money(field: Field, text: str) -> float:
    match = re.fullmatch(r"\$?\s*(\d+(?:\.\d{1,2})?)", text)
    if match is None:
        raise ValueError("must be an amount in US dollars, such as 25 or 12.50")
    return float(match.group(1))


def _model(field: Field, text: str) -> str:
    if not text:
        raise ValueError("cannot be empty")
    if len(text) > 64 or not re.fullmatch(r"[A-Za-z0-9._:-]+", text):
        example = getattr(_LIVE, field.name, _LIVE.image_model)
        raise ValueError(f"must be a model name such as {example}")
    return text


_PARSERS: dict[str, Callable[[Field, str], Any]] = {
    "choice": _choice,
    "choices": _choices,
    "size": _size,
    "largest": _largest,
    "channels": _channels,
    "bool": _bool,
    "int": _int,
    "money": _money,
    "text": _model,
}


def label(name: str) -> str:
    spec = FIELDS.get(name)
    return spec.label if spec is not None else name


_SETTING_FIELDS = (
    Field("enabled", "Enabled", "Whether /draw works in this workspace at all.", "bool"),
    Field(
        "image_model",
        "Image model",
        f"The model that draws, e.g. {_LIVE.image_model}. OpenAI must know it.",
        "text",
    ),
    Field(
        "model",
        "Mainline model",
        f"The model that reads the request and calls the image tool, e.g. {_LIVE.model}.",
        "text",
    ),
    Field(
        "size",
        "Default size",
        "Used when a person does not choose one: auto, square, portrait, landscape, or "
        "WIDTHxHEIGHT such as 1536x864.",
        "size",
    ),
    Field(
        "allowed_sizes",
        "Allowed sizes",
        "The sizes people may ask for; custom: any WIDTHxHEIGHT up to the largest size.",
        "choices",
        ALLOWED_SIZES,
    ),
    Field(
        "largest_size",
        "Largest size",
        f"Custom sizes have at most its pixels and its long edge. Up to {LARGEST}; OpenAI calls "
        f"sizes above {STABLE} experimental.",
        "largest",
    ),
    Field(
        "quality",
        "Default quality",
        "Higher quality costs more and takes longer.",
        "choice",
        QUALITIES,
    ),
    Field(
        "allowed_qualities",
        "Allowed qualities",
        "The qualities people may ask for.",
        "choices",
        QUALITIES,
    ),
    Field("output_format", "Output format", "The file type of the final image.", "choice", FORMATS),
    Field(
        "compression",
        "Compression",
        "0-100, for jpeg and webp only; none for the default.",
        "int",
        optional=True,
        low=0,
        high=100,
    ),
    Field("background", "Background", "transparent needs png or webp.", "choice", BACKGROUNDS),
    Field(
        "moderation",
        "Moderation",
        "How strictly the image service filters (auto or low).",
        "choice",
        MODERATIONS,
    ),
    Field(
        "partial_images",
        "Previews",
        "How many previews to show while drawing (0-3).",
        "int",
        low=0,
        high=3,
    ),
    Field(
        "input_fidelity",
        "Input fidelity",
        "How closely edits keep attached images (low/high).",
        "choice",
        FIDELITIES,
        optional=True,
    ),
    Field(
        "channels",
        "Channels",
        "Where /draw works: all, or a list of channels.",
        "channels",
        optional=True,
    ),
    Field(
        "reply_policy",
        "Who may edit by reply",
        "anyone in the channel, or only the starter of the drawing.",
        "choice",
        REPLY_POLICIES,
    ),
    Field(
        "daily_limit",
        "Daily limit per person",
        "Drawings per person per UTC day; none for no limit.",
        "int",
        optional=True,
        low=0,
        high=10_000,
    ),
    Field(
        "monthly_cap_usd",
        "Monthly spend cap",
        "Estimated US dollars per calendar month; none for no cap.",
        "money",
        optional=True,
    ),
)
FIELDS: dict[str, Field] = {f.name: f for f in _SETTING_FIELDS}
