"""Settings: the image options the service accepts, and each workspace's own settings.

A workspace's settings are the process defaults (from the environment) with whatever its
admins changed on top; each field knows its label, help text, how typed text is read and
how its value is shown. Who may change them is the adapters' business (platform roles).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from bot.models import ImageOptions

SIZES = ("auto", "1024x1024", "1024x1536", "1536x1024")
SIZE_ALIASES = {"square": "1024x1024", "portrait": "1024x1536", "landscape": "1536x1024"}
QUALITIES = ("auto", "low", "medium", "high")
FORMATS = ("png", "jpeg", "webp")
BACKGROUNDS = ("auto", "opaque", "transparent")
MODERATIONS = ("auto", "low")
FIDELITIES = ("low", "high")


def validate_options(options: ImageOptions) -> list[str]:
    """Every reason these options cannot be sent, each naming the field; empty when fine."""
    problems: list[str] = []

    def one_of(name: str, value: str, allowed: tuple[str, ...]) -> None:
        if value not in allowed:
            problems.append(f"{name} must be one of {', '.join(allowed)}, not {value!r}")

    one_of("size", options.size, SIZES)
    one_of("quality", options.quality, QUALITIES)
    one_of("output format", options.output_format, FORMATS)
    one_of("background", options.background, BACKGROUNDS)
    one_of("moderation", options.moderation, MODERATIONS)
    if options.input_fidelity is not None:
        one_of("input fidelity", options.input_fidelity, FIDELITIES)
    if not 0 <= options.partial_images <= 3:
        problems.append(f"partial images must be 0 to 3, not {options.partial_images}")
    if options.compression is not None and not 0 <= options.compression <= 100:
        problems.append(f"compression must be 0 to 100, not {options.compression}")
    problems.extend(combination_problems(options).values())
    return problems


def combination_problems(options: ImageOptions) -> dict[str, str]:
    """Values that are fine alone but not together, keyed by the field to change."""
    problems: dict[str, str] = {}
    if options.compression is not None and options.output_format == "png":
        problems["compression"] = "compression applies only to jpeg and webp, not png"
    if options.background == "transparent" and options.output_format == "jpeg":
        problems["background"] = "a transparent background needs png or webp, not jpeg"
    return problems


# -- Workspace settings: what a Slack workspace's or Discord server's admins choose ---------

REPLY_POLICIES = ("anyone", "starter")
SHAPES = {v: k for k, v in SIZE_ALIASES.items()}  # "1024x1024" -> "square"


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    """Everything an admin can set for one workspace; the process defaults fill the rest."""

    image_model: str
    model: str
    size: str
    allowed_sizes: tuple[str, ...]
    quality: str
    allowed_qualities: tuple[str, ...]
    output_format: str
    compression: int | None
    background: str
    moderation: str
    partial_images: int
    input_fidelity: str | None
    channels: tuple[str, ...]  # empty: every channel
    reply_policy: str
    daily_limit: int | None  # drawings per person per UTC day; None: no limit
    monthly_cap_usd: float | None  # estimated spend per calendar month (UTC); None: no cap
    enabled: bool

    @classmethod
    def from_defaults(cls, options: ImageOptions) -> WorkspaceSettings:
        return cls(
            **{f.name: getattr(options, f.name) for f in fields(ImageOptions)},
            allowed_sizes=SIZES,
            allowed_qualities=QUALITIES,
            channels=(),
            reply_policy="anyone",
            daily_limit=None,
            monthly_cap_usd=None,
            enabled=True,
        )

    def with_overrides(self, overrides: Mapping[str, Any]) -> WorkspaceSettings:
        """These settings with stored values applied (unknown or unreadable ones are skipped)."""
        changes: dict[str, Any] = {}
        for name, raw in overrides.items():
            spec = FIELDS.get(name)
            if spec is not None:
                try:
                    changes[name] = spec.load(raw)
                except (TypeError, ValueError):
                    continue
        return replace(self, **changes)

    def image_options(self) -> ImageOptions:
        """The image options part (every ImageOptions field is a setting of the same name)."""
        return ImageOptions(**{f.name: getattr(self, f.name) for f in fields(ImageOptions)})

    def show(self, name: str) -> str:
        return FIELDS[name].show(getattr(self, name))


class SettingsInvalid(Exception):
    """Some changes cannot be made; `problems` maps each field's name to the reason."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{label(k)}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


@dataclass(frozen=True, slots=True)
class Field:
    """One setting: how a person names it, how its text is read, how it is shown and stored."""

    name: str
    label: str
    help: str
    kind: str  # choice | choices | text | int | money | bool | channels
    choices: tuple[str, ...] = ()
    optional: bool = False  # "none" clears it
    low: int | None = None
    high: int | None = None

    def parse(self, text: str) -> Any:
        """The value a person typed; ValueError with words that say what is allowed."""
        text = text.strip()
        if self.optional and text.lower() in _NONE_WORDS:
            return () if self.kind in ("choices", "channels") else None
        if self.kind == "choice":
            value = SIZE_ALIASES.get(text.lower(), text.lower())
            if value not in self.choices:
                raise ValueError(f"must be one of {', '.join(self.choices)}")
            return value
        if self.kind in ("choices", "channels"):
            items = tuple(dict.fromkeys(p for p in re.split(r"[\s,]+", text) if p))
            if self.kind == "channels":
                return tuple(dict.fromkeys(_channel_id(p) for p in items))
            items = tuple(dict.fromkeys(SIZE_ALIASES.get(p.lower(), p.lower()) for p in items))
            wrong = [p for p in items if p not in self.choices]
            if wrong or not items:
                raise ValueError(f"must be some of {', '.join(self.choices)}")
            return items
        if self.kind == "bool":
            if text.lower() in ("on", "yes", "true", "enabled", "1"):
                return True
            if text.lower() in ("off", "no", "false", "disabled", "0"):
                return False
            raise ValueError("must be on or off")
        if self.kind == "int":
            if not re.fullmatch(r"\d+", text):
                raise ValueError(f"must be a whole number from {self.low} to {self.high}")
            number = int(text)
            if (self.low is not None and number < self.low) or (
                self.high is not None and number > self.high
            ):
                raise ValueError(f"must be from {self.low} to {self.high}")
            return number
        if self.kind == "money":
            match = re.fullmatch(r"\$?\s*(\d+(?:\.\d{1,2})?)", text)
            if match is None:
                raise ValueError("must be an amount in US dollars, such as 25 or 12.50")
            return float(match.group(1))
        if not text:
            raise ValueError("cannot be empty")
        if len(text) > 64 or not re.fullmatch(r"[A-Za-z0-9._:-]+", text):
            raise ValueError("must be a model name such as gpt-image-1")
        return text

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
        if self.kind == "channels":
            return ", ".join(value)
        if self.kind == "choices":
            return ", ".join(value)
        return str(value)

    def load(self, raw: Any) -> Any:
        """A value as stored (JSON), back as the settings' own type."""
        if raw is None:
            return None
        if self.kind in ("choices", "channels"):
            return tuple(str(v) for v in raw)
        if self.kind == "int":
            return int(raw)
        if self.kind == "money":
            return float(raw)
        if self.kind == "bool":
            return bool(raw)
        return str(raw)


def label(name: str) -> str:
    spec = FIELDS.get(name)
    return spec.label if spec is not None else name


_NONE_WORDS = ("none", "off", "no", "unlimited", "all", "")


def _channel_id(text: str) -> str:
    """A channel as typed: an id, a Slack <#C123|name> or a Discord <#123> mention."""
    match = re.fullmatch(r"<#([A-Za-z0-9]+)(?:\|[^>]*)?>|#?([A-Za-z0-9]+)", text)
    if match is None:
        raise ValueError(f"{text!r} is not a channel; name channels by mention or id")
    return match.group(1) or match.group(2)


_SETTING_FIELDS = (
    Field("enabled", "Enabled", "Whether /draw works in this workspace at all.", "bool"),
    Field("image_model", "Image model", "The model that draws, e.g. gpt-image-1.", "text"),
    Field(
        "model",
        "Mainline model",
        "The model that reads the request and calls the image tool.",
        "text",
    ),
    Field(
        "size", "Default size", "The shape used when a person does not choose one.", "choice", SIZES
    ),
    Field("allowed_sizes", "Allowed sizes", "The sizes people may ask for.", "choices", SIZES),
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


def check_settings(settings: WorkspaceSettings) -> dict[str, str]:
    """Every combination that cannot work, keyed by the field to change; empty when fine."""
    problems: dict[str, str] = {}
    if not settings.allowed_sizes:
        problems["allowed_sizes"] = "allow at least one size"
    elif settings.size not in settings.allowed_sizes:
        problems["size"] = f"{settings.size} is not among the allowed sizes"
    if not settings.allowed_qualities:
        problems["allowed_qualities"] = "allow at least one quality"
    elif settings.quality not in settings.allowed_qualities:
        problems["quality"] = f"{settings.quality} is not among the allowed qualities"
    problems.update(combination_problems(settings.image_options()))
    return problems


def change(
    settings: WorkspaceSettings, texts: Mapping[str, str]
) -> tuple[WorkspaceSettings, dict[str, Any]]:
    """The settings with `texts` (field name -> typed value) applied, and the parsed changes.

    Raises SettingsInvalid naming every field that is wrong, alone or in combination."""
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, text in texts.items():
        spec = FIELDS.get(name)
        if spec is None:
            problems[name] = f"there is no such setting; the settings are {', '.join(FIELDS)}"
            continue
        try:
            values[name] = spec.parse(text)
        except ValueError as exc:
            problems[name] = str(exc)
    if problems:
        raise SettingsInvalid(problems)
    updated = replace(settings, **values)
    problems = check_settings(updated)
    if problems:
        raise SettingsInvalid(problems)
    changed = {k: v for k, v in values.items() if getattr(settings, k) != v}
    return updated, changed
