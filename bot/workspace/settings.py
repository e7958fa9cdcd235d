"""Each workspace's settings: the process defaults (from the environment) with whatever its
admins changed on top. Who may change them is the adapters' business (platform roles); the
fields themselves (labels, parsing, display) are in bot.workspace.fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

from bot.models import ImageOptions
from bot.workspace.fields import FIELDS, Field, label
from bot.workspace.options import QUALITIES, combination_problems
from bot.workspace.sizes import ALLOWED_SIZES, STABLE, SizePolicy


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    """Everything an admin can set for one workspace; the process defaults fill the rest."""

    image_model: str
    model: str
    size: str
    allowed_sizes: tuple[str, ...]  # auto, standard sizes, and "custom" (up to largest_size)
    largest_size: str  # WIDTHxHEIGHT: custom sizes have at most its pixels and long edge
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
            allowed_sizes=ALLOWED_SIZES,
            largest_size=STABLE,
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

    @property
    def sizes(self) -> SizePolicy:
        """The sizes people may ask for here, by the image model's rules."""
        return SizePolicy(
            allowed=self.allowed_sizes, largest=self.largest_size, image_model=self.image_model
        )


class SettingsInvalid(Exception):
    """Some changes cannot be made; `problems` maps each field's name to the reason."""

    def __init__(self, problems: Mapping[str, str]) -> None:
        super().__init__("; ".join(f"{label(k)}: {v}" for k, v in problems.items()))
        self.problems = dict(problems)


def check_settings(settings: WorkspaceSettings) -> dict[str, str]:
    """Every combination that cannot work, keyed by the field to change; empty when fine."""
    problems: dict[str, str] = {}
    if not settings.allowed_sizes:
        problems["allowed_sizes"] = "allow at least one size"
    elif refusal := settings.sizes.refusal(settings.size):
        problems["size"] = refusal
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


def sent_changes(
    current: WorkspaceSettings, texts: Mapping[str, str], *, opened: Mapping[str, str]
) -> dict[str, str]:
    """The texts of a form that its sender changed (field -> text).

    `opened` is what the form showed when it was opened. A field left as it was is not
    applied, so a save never puts back what someone else changed meanwhile; a field both
    changed since (to something else) raises SettingsInvalid naming it. A field the form did
    not record is applied as typed."""
    sent: dict[str, str] = {}
    conflicts: dict[str, str] = {}
    for name, text in texts.items():
        spec, before = FIELDS.get(name), opened.get(name)
        if spec is None or before is None:
            sent[name] = text
            continue
        was, wanted = _value(spec, before), _value(spec, text)
        if wanted is not _UNREADABLE and wanted == was:
            continue  # left as the form showed it
        now = getattr(current, name)
        if was is not _UNREADABLE and now not in (was, wanted):
            conflicts[name] = (
                f"another admin changed this to {spec.show(now)} while your form was open; "
                "close it and open it again"
            )
        sent[name] = text
    if conflicts:
        raise SettingsInvalid(conflicts)
    return sent


_UNREADABLE = object()


def _value(spec: Field, text: str) -> Any:
    try:
        return spec.parse(text)
    except ValueError:
        return _UNREADABLE
