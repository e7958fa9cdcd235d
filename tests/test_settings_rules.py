"""The rules behind workspace settings, prices and quotas, one case each.

Settings: how every field reads typed text (and refuses it with words), the combinations
that cannot work, which field a problem names, and what survives a trip through the store.
Prices: the shipped table, and the "price it high when unsure" rule for anything unknown.
Quotas: the daily limit and the monthly cap at their boundaries, on a hand-moved clock and
a real database file.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.reports import usage_text
from bot.errors import NotAllowed
from bot.models import DrawRequest, FinalImage, ImageOptions, ThreadKey
from bot.store.sqlite import SqliteStore
from bot.turns.status import TurnStatus
from bot.workspace.fields import FIELDS, label
from bot.workspace.options import QUALITIES
from bot.workspace.prices import PriceTable, PriceTableError
from bot.workspace.quotas import Quotas, day_start, month_start, next_month, until
from bot.workspace.settings import SettingsInvalid, WorkspaceSettings, change, check_settings
from bot.workspace.sizes import ALLOWED_SIZES
from tests import ledger
from tests.clock import ManualClock

PLATFORM = "slack"
WORKSPACE = "T1"
USER = "U1"


def _defaults(**options: Any) -> WorkspaceSettings:
    return WorkspaceSettings.from_defaults(ImageOptions(**options))


# --- each field's parse: good text in, bad text refused with words ------------------------


@pytest.mark.parametrize(
    ("field", "text", "expected"),
    [
        # sizes, by name or by shape
        ("size", "1024x1024", "1024x1024"),
        ("size", "auto", "auto"),
        ("size", "square", "1024x1024"),
        ("size", "portrait", "1024x1536"),
        ("size", "landscape", "1536x1024"),
        ("size", "Landscape", "1536x1024"),
        ("size", "  portrait  ", "1024x1536"),
        ("size", "1536x864", "1536x864"),  # the image model's rules are checked with the rest
        ("size", "1536 X 0864", "1536x864"),
        ("largest_size", "3840x2160", "3840x2160"),
        ("largest_size", "landscape", "1536x1024"),
        ("allowed_sizes", "square custom", ("1024x1024", "custom")),
        ("allowed_sizes", "square landscape", ("1024x1024", "1536x1024")),
        ("allowed_sizes", "square,portrait landscape", ("1024x1024", "1024x1536", "1536x1024")),
        ("allowed_sizes", "1024x1024, 1024x1536", ("1024x1024", "1024x1536")),
        ("allowed_sizes", "auto", ("auto",)),
        # qualities
        ("quality", "high", "high"),
        ("quality", "auto", "auto"),
        ("allowed_qualities", "low medium", ("low", "medium")),
        ("allowed_qualities", "low, high", ("low", "high")),
        # choices of format, background, moderation, fidelity, reply policy
        ("output_format", "webp", "webp"),
        ("background", "transparent", "transparent"),
        ("moderation", "low", "low"),
        ("input_fidelity", "high", "high"),
        ("input_fidelity", "none", None),
        ("reply_policy", "starter", "starter"),
        # compression 0-100, or none for the default
        ("compression", "0", 0),
        ("compression", "80", 80),
        ("compression", "100", 100),
        ("compression", "none", None),
        ("compression", "None", None),
        # previews 0-3
        ("partial_images", "0", 0),
        ("partial_images", "3", 3),
        # daily limit: whole numbers, or none
        ("daily_limit", "1", 1),
        ("daily_limit", "25", 25),
        ("daily_limit", "none", None),
        ("daily_limit", "unlimited", None),
        # monthly cap: dollars
        ("monthly_cap_usd", "$25", 25.0),
        ("monthly_cap_usd", "25", 25.0),
        ("monthly_cap_usd", "12.50", 12.5),
        ("monthly_cap_usd", "$ 7.5", 7.5),
        ("monthly_cap_usd", "none", None),
        # channels: ids, Slack and Discord mentions, or all
        ("channels", "C123", ("C123",)),
        ("channels", "<#C123|general>", ("C123",)),
        ("channels", "<#C123|>", ("C123",)),
        ("channels", "<#123456789012345678>", ("123456789012345678",)),
        ("channels", "#C9", ("C9",)),
        ("channels", "<#C1|one>, <#C2|two> C3", ("C1", "C2", "C3")),
        ("channels", "C1 C1", ("C1",)),
        ("channels", "all", ()),
        ("channels", "none", ()),
        # on/off
        ("enabled", "on", True),
        ("enabled", "off", False),
        ("enabled", "yes", True),
        ("enabled", "no", False),
        ("enabled", "TRUE", True),
        ("enabled", "disabled", False),
        # model names
        ("image_model", "gpt-image-1", "gpt-image-1"),
        ("image_model", "gpt-image-1.5", "gpt-image-1.5"),
        ("model", "gpt-5-mini", "gpt-5-mini"),
        ("model", "ft:gpt-4o:org:custom_1", "ft:gpt-4o:org:custom_1"),
    ],
)
def test_parse_accepts(field: str, text: str, expected: object) -> None:
    assert FIELDS[field].parse(text) == expected


@pytest.mark.parametrize(
    ("field", "text", "words"),
    [
        ("size", "huge", "'huge' is not a size: write auto, square, portrait, landscape, or"),
        ("size", "", "is not a size"),
        ("size", "0x1024", "is not a size"),
        ("largest_size", "auto", "must be WIDTHxHEIGHT, at most 3840x2160"),
        ("largest_size", "5120x2880", "5120x2880 is larger than 3840x2160"),
        ("largest_size", "1000x1000", "width and height must be multiples of 16"),
        ("allowed_sizes", "square 512x512", "must be some of auto, square, portrait, landscape"),
        ("allowed_sizes", "", "must be some of"),
        ("allowed_sizes", "none", "must be some of"),
        ("quality", "ultra", "must be one of auto, low, medium, high"),
        ("allowed_qualities", "low ultra", "must be some of auto, low, medium, high"),
        ("allowed_qualities", "", "must be some of"),
        ("output_format", "gif", "must be one of png, jpeg, webp"),
        ("background", "clear", "must be one of auto, opaque, transparent"),
        ("moderation", "high", "must be one of auto, low"),
        ("input_fidelity", "medium", "must be one of low, high"),
        ("reply_policy", "admins", "must be one of anyone, starter"),
        ("compression", "101", "must be from 0 to 100"),
        ("compression", "-1", "must be a whole number from 0 to 100"),
        ("compression", "50%", "must be a whole number from 0 to 100"),
        ("compression", "high", "must be a whole number from 0 to 100"),
        ("partial_images", "4", "must be from 0 to 3"),
        ("partial_images", "-1", "must be a whole number from 0 to 3"),
        ("partial_images", "none", "must be a whole number from 0 to 3"),
        ("partial_images", "two", "must be a whole number from 0 to 3"),
        ("daily_limit", "2.5", "must be a whole number"),
        ("daily_limit", "-3", "must be a whole number"),
        ("daily_limit", "ten", "must be a whole number"),
        ("daily_limit", "10001", "must be from 0 to 10000"),
        ("monthly_cap_usd", "-3", "must be an amount in US dollars, such as 25 or 12.50"),
        ("monthly_cap_usd", "abc", "must be an amount in US dollars"),
        ("monthly_cap_usd", "$-3", "must be an amount in US dollars"),
        ("monthly_cap_usd", "12.345", "must be an amount in US dollars"),
        ("monthly_cap_usd", "€25", "must be an amount in US dollars"),
        ("channels", "<@U123>", "'<@U123>' is not a channel; name channels by mention or id"),
        ("channels", "C1 general!", "is not a channel"),
        ("channels", "<#C1|x", "is not a channel"),
        ("enabled", "maybe", "must be on or off"),
        ("enabled", "", "must be on or off"),
        ("image_model", "gpt image 1", "must be a model name such as gpt-image-2"),
        ("image_model", "", "cannot be empty"),
        ("image_model", "x" * 65, "must be a model name"),
        ("image_model", "gpt/image", "must be a model name"),
        ("model", "gpt 5", "must be a model name such as gpt-6.1-terra"),
        ("model", "   ", "cannot be empty"),
    ],
)
def test_parse_refuses_with_words(field: str, text: str, words: str) -> None:
    with pytest.raises(ValueError, match=re.escape(words)):
        FIELDS[field].parse(text)


def test_every_field_has_a_label_help_and_a_known_kind() -> None:
    kinds = {"choice", "choices", "size", "largest", "text", "int", "money", "bool", "channels"}
    for name, spec in FIELDS.items():
        assert spec.name == name
        assert spec.label and spec.help
        assert spec.kind in kinds, name
        assert label(name) == spec.label
        if spec.kind in ("choice", "choices"):
            assert spec.choices, name
    assert label("no_such_field") == "no_such_field"


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("monthly_cap_usd", 25.0, "$25.00"),
        ("monthly_cap_usd", 1234.5, "$1,234.50"),
        ("monthly_cap_usd", None, "no cap"),
        ("daily_limit", None, "no limit"),
        ("daily_limit", 5, "5"),
        ("channels", (), "all channels"),
        ("channels", ("C1", "C2"), "C1, C2"),
        ("allowed_sizes", ("1024x1024", "auto"), "1024x1024, auto"),
        ("largest_size", "2560x1440", "2560x1440"),
        ("size", "1024x1536", "portrait"),
        ("enabled", True, "on"),
        ("enabled", False, "off"),
        ("input_fidelity", None, "not set"),
        ("size", "1536x864", "1536x864"),
    ],
)
def test_show(field: str, value: object, shown: str) -> None:
    assert FIELDS[field].show(value) == shown


def test_settings_show_reads_its_own_value() -> None:
    settings = replace(_defaults(), monthly_cap_usd=12.5, channels=("C1",))
    assert settings.show("monthly_cap_usd") == "$12.50"
    assert settings.show("channels") == "C1"
    assert settings.show("daily_limit") == "no limit"


def test_from_defaults_allows_everything_and_limits_nothing() -> None:
    options = ImageOptions(model="gpt-5", image_model="gpt-image-1", size="1024x1536")
    settings = WorkspaceSettings.from_defaults(options)
    assert settings.allowed_sizes == ALLOWED_SIZES
    assert settings.largest_size == "2560x1440"
    assert settings.allowed_qualities == QUALITIES
    assert settings.channels == ()
    assert settings.daily_limit is None
    assert settings.monthly_cap_usd is None
    assert settings.enabled is True
    assert settings.reply_policy == "anyone"
    assert settings.image_options() == options
    assert check_settings(settings) == {}


# --- combinations: check_settings and change() name the field to change -------------------


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        (
            {"size": "1536x1024", "allowed_sizes": ("1024x1024",)},
            "size",
            "landscape is not among the allowed sizes",
        ),
        (
            {"quality": "high", "allowed_qualities": ("low", "medium")},
            "quality",
            "high is not among the allowed qualities",
        ),
        ({"allowed_sizes": ()}, "allowed_sizes", "allow at least one size"),
        ({"allowed_qualities": ()}, "allowed_qualities", "allow at least one quality"),
        (
            {"output_format": "png", "compression": 80},
            "compression",
            "compression applies only to jpeg and webp, not png",
        ),
        (
            {"output_format": "jpeg", "background": "transparent"},
            "background",
            "a transparent background needs png or webp, not jpeg",
        ),
    ],
)
def test_check_settings_keys_each_combination_to_the_field_to_change(
    overrides: dict[str, Any], field: str, words: str
) -> None:
    problems = check_settings(replace(_defaults(), **overrides))
    assert problems == {field: words}


@pytest.mark.parametrize(
    "settings",
    [
        {"output_format": "jpeg", "compression": 80},
        {"output_format": "webp", "compression": 0},
        {"output_format": "png", "compression": None},
        {"output_format": "png", "background": "transparent"},
        {"output_format": "webp", "background": "transparent"},
        {"output_format": "jpeg", "background": "opaque"},
        {"size": "1024x1024", "allowed_sizes": ("1024x1024",)},
        {"quality": "low", "allowed_qualities": ("low",)},
    ],
)
def test_check_settings_lets_working_combinations_through(settings: dict[str, Any]) -> None:
    assert check_settings(replace(_defaults(), **settings)) == {}


def test_empty_allowed_sizes_is_reported_instead_of_the_default_size() -> None:
    problems = check_settings(replace(_defaults(size="1024x1024"), allowed_sizes=()))
    assert set(problems) == {"allowed_sizes"}


def test_check_settings_reports_every_problem_at_once() -> None:
    broken = replace(
        _defaults(),
        size="1536x1024",
        allowed_sizes=("1024x1024",),
        allowed_qualities=(),
        output_format="jpeg",
        compression=None,
        background="transparent",
    )
    assert set(check_settings(broken)) == {"size", "allowed_qualities", "background"}


@pytest.mark.parametrize(
    ("start", "texts", "field", "words"),
    [
        # a default size outside the allowed sizes, from either side
        ({}, {"allowed_sizes": "square"}, "size", "auto is not among the allowed sizes"),
        (
            {"allowed_sizes": ("1024x1024",), "size": "1024x1024"},
            {"size": "landscape"},
            "size",
            "landscape is not among the allowed sizes",
        ),
        # a default quality outside the allowed qualities
        ({}, {"allowed_qualities": "low"}, "quality", "auto is not among the allowed qualities"),
        (
            {"allowed_qualities": ("low",), "quality": "low"},
            {"quality": "high"},
            "quality",
            "high is not among the allowed qualities",
        ),
        # compression with png: setting compression, or switching to png
        ({}, {"compression": "80"}, "compression", "not png"),
        (
            {"output_format": "webp", "compression": 80},
            {"output_format": "png"},
            "compression",
            "not png",
        ),
        # transparent with jpeg: setting the background, or switching to jpeg
        ({}, {"output_format": "jpeg", "background": "transparent"}, "background", "not jpeg"),
        ({"background": "transparent"}, {"output_format": "jpeg"}, "background", "not jpeg"),
        # parse errors are keyed to the field typed
        ({}, {"allowed_sizes": ""}, "allowed_sizes", "must be some of"),
        ({}, {"daily_limit": "-3"}, "daily_limit", "must be a whole number"),
        ({}, {"monthly_cap_usd": "abc"}, "monthly_cap_usd", "US dollars"),
        ({}, {"image_model": "gpt image"}, "image_model", "model name"),
        # a name that is no setting
        ({}, {"colour": "blue"}, "colour", "there is no such setting; the settings are enabled"),
    ],
)
def test_change_refuses_with_problems_keyed_to_the_field_to_change(
    start: dict[str, Any], texts: dict[str, str], field: str, words: str
) -> None:
    settings = replace(_defaults(), **start)
    with pytest.raises(SettingsInvalid) as caught:
        change(settings, texts)
    assert set(caught.value.problems) == {field}
    assert words in caught.value.problems[field]
    # The message a person reads names the field by its label.
    assert str(caught.value).startswith(f"{label(field)}: ")


def test_unknown_setting_lists_the_real_ones() -> None:
    with pytest.raises(SettingsInvalid) as caught:
        change(_defaults(), {"colour": "blue"})
    reason = caught.value.problems["colour"]
    for name in FIELDS:
        assert name in reason


def test_change_reports_every_unreadable_field_together() -> None:
    texts = {"daily_limit": "lots", "monthly_cap_usd": "-3", "nope": "1", "size": "square"}
    with pytest.raises(SettingsInvalid) as caught:
        change(_defaults(), texts)
    assert set(caught.value.problems) == {"daily_limit", "monthly_cap_usd", "nope"}
    text = str(caught.value)
    assert "Daily limit per person: " in text
    assert "Monthly spend cap: " in text
    assert "nope: " in text


def test_change_fixing_a_combination_in_the_same_change_passes() -> None:
    start = replace(_defaults(), output_format="webp", compression=80)
    updated, changed = change(start, {"output_format": "png", "compression": "none"})
    assert updated.output_format == "png"
    assert updated.compression is None
    assert changed == {"output_format": "png", "compression": None}
    assert check_settings(updated) == {}


def test_change_returns_only_fields_that_actually_changed() -> None:
    start = _defaults(size="auto", quality="auto", image_model="gpt-image-1")
    texts = {
        "size": "auto",  # same
        "image_model": "gpt-image-1",  # same
        "quality": "high",  # new
        "allowed_sizes": " ".join(ALLOWED_SIZES),  # same, spelt out
        "channels": "all",  # same: () already
        "daily_limit": "none",  # same: None already
        "monthly_cap_usd": "$25",  # new
        "enabled": "on",  # same
    }
    updated, changed = change(start, texts)
    assert changed == {"quality": "high", "monthly_cap_usd": 25.0}
    assert updated == replace(start, quality="high", monthly_cap_usd=25.0)


def test_change_with_nothing_new_changes_nothing() -> None:
    start = _defaults()
    updated, changed = change(start, {"size": "auto", "partial_images": str(start.partial_images)})
    assert changed == {}
    assert updated == start


def test_change_does_not_touch_the_settings_it_was_given() -> None:
    start = _defaults()
    change(start, {"daily_limit": "3"})
    assert start.daily_limit is None


# --- settings through the store -----------------------------------------------------------


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 30, 10, 15, tzinfo=UTC))


@pytest.fixture
async def store(tmp_path: Path, clock: ManualClock) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(path=tmp_path / "easel.db", clock=clock) as opened:
        yield opened


async def _save(
    store: SqliteStore, current: WorkspaceSettings, texts: dict[str, str], *, user: str
) -> WorkspaceSettings:
    """What the service does: change, then store each change with its old value."""
    updated, changed = change(current, texts)
    await store.settings.save(
        PLATFORM,
        WORKSPACE,
        user_id=user,
        changes={k: (getattr(current, k), v) for k, v in changed.items()},
    )
    return updated


async def test_saved_settings_come_back_as_the_same_values(store: SqliteStore) -> None:
    defaults = _defaults()
    texts = {
        "image_model": "gpt-image-1",
        "size": "square",
        "allowed_sizes": "square landscape",
        "allowed_qualities": "low medium",
        "quality": "medium",
        "output_format": "webp",
        "compression": "80",
        "background": "transparent",
        "input_fidelity": "high",
        "channels": "<#C1|general> <#123456>",
        "reply_policy": "starter",
        "daily_limit": "5",
        "monthly_cap_usd": "$12.50",
        "enabled": "off",
        "partial_images": "0",
    }
    updated = await _save(store, defaults, texts, user="UADMIN")
    loaded = defaults.with_overrides(await store.settings.overrides(PLATFORM, WORKSPACE))
    assert loaded == updated
    assert loaded.allowed_sizes == ("1024x1024", "1536x1024")
    assert isinstance(loaded.allowed_sizes, tuple)
    assert isinstance(loaded.allowed_qualities, tuple)
    assert loaded.channels == ("C1", "123456")
    assert isinstance(loaded.channels, tuple)
    assert loaded.monthly_cap_usd == 12.5
    assert loaded.daily_limit == 5
    assert loaded.compression == 80
    assert loaded.enabled is False
    assert loaded.partial_images == 0


async def test_clearing_a_setting_stores_none_and_loads_as_none(store: SqliteStore) -> None:
    defaults = _defaults(output_format="webp")
    first = await _save(store, defaults, {"compression": "70", "daily_limit": "3"}, user="UA")
    second = await _save(
        store, first, {"compression": "none", "daily_limit": "none", "channels": "C9"}, user="UB"
    )
    loaded = defaults.with_overrides(await store.settings.overrides(PLATFORM, WORKSPACE))
    assert loaded == second
    assert loaded.compression is None
    assert loaded.daily_limit is None
    assert loaded.channels == ("C9",)


async def test_overrides_belong_to_their_workspace(store: SqliteStore) -> None:
    await _save(store, _defaults(), {"daily_limit": "2"}, user="UA")
    assert await store.settings.overrides(PLATFORM, "T2") == {}
    assert await store.settings.overrides("discord", WORKSPACE) == {}
    other = _defaults().with_overrides(await store.settings.overrides(PLATFORM, "T2"))
    assert other.daily_limit is None


def test_with_overrides_skips_unknown_and_unreadable_values() -> None:
    defaults = _defaults()
    loaded = defaults.with_overrides(
        {"no_such_field": 3, "daily_limit": "lots", "monthly_cap_usd": [1], "partial_images": 1}
    )
    assert loaded == replace(defaults, partial_images=1)


async def test_settings_audit_records_who_old_and_new_in_order(
    store: SqliteStore, clock: ManualClock
) -> None:
    defaults = _defaults()
    first = await _save(
        store, defaults, {"daily_limit": "5", "allowed_sizes": "square auto"}, user="UA"
    )
    clock.advance(60)
    second = await _save(store, first, {"daily_limit": "10", "size": "auto"}, user="UB")
    clock.advance(60)
    await _save(store, second, {"daily_limit": "none", "channels": "<#C7|art>"}, user="UA")

    audit = await store.settings.audit(PLATFORM, WORKSPACE)
    assert [(a["user_id"], a["field"], a["old"], a["new"]) for a in audit] == [
        ("UA", "daily_limit", None, 5),
        ("UA", "allowed_sizes", list(ALLOWED_SIZES), ["1024x1024", "auto"]),
        # "size" was already "auto": nothing recorded for it
        ("UB", "daily_limit", 5, 10),
        ("UA", "daily_limit", 10, None),
        ("UA", "channels", [], ["C7"]),
    ]
    start = datetime(2026, 11, 30, 10, 15, tzinfo=UTC).timestamp()
    assert [a["at"] for a in audit] == [start, start, start + 60, start + 120, start + 120]
    assert await store.settings.audit(PLATFORM, "T2") == []


# --- prices ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shipped() -> PriceTable:
    return PriceTable.load()


# A table of both kinds, without its own [image_tokens]: the shipped formula counts the tokens
# (high 1024x1024 = 7024, high 1536x1024 = 5488, low 1024x1024 = 196, high 2048x2048 = 14272).
TABLE = PriceTable.from_data(
    {
        "as_of": "2030-01-02",
        "source": "https://example.com/prices",
        "image_models": {
            "cheap": {"text_input": 1.0, "image_input": 2.0, "image_output": 10.0},
            "dear": {
                "text_input": 5.0,
                "image_input": 8.0,
                "image_output": 40.0,
                "snapshots": ["dear-2030-01-01"],
            },
        },
        "images": {  # per-image prices, as older copies of the table list them
            "flat": {
                "low": {"1024x1024": 0.01, "1024x1536": 0.02, "1536x1024": 0.03},
                "high": {"1024x1024": 0.10, "1024x1536": 0.20, "1536x1024": 0.30},
            },
            "partial": {"medium": {"1024x1024": 0.07}},
        },
        "tokens": {
            "small": {"input": 1.0, "cached_input": 0.1, "output": 4.0},
            "large": {
                "input": 10.0,
                "cached_input": 1.0,
                "output": 40.0,
                "cache_write_input": 12.5,
            },
        },
    }
)


def _per_million(tokens: int, dollars: float) -> float:
    return tokens * dollars / 1e6


def test_the_shipped_table_loads_with_its_date_and_source(shipped: PriceTable) -> None:
    assert shipped.as_of == "2026-12-01"
    assert "https://developers.openai.com/api/docs/pricing" in shipped.source
    assert shipped.provenance == f"prices as of 2026-12-01 from {shipped.source}"
    # The defaults are priced by name, not by the unknown-model rule.
    assert ImageOptions().image_model in shipped.image_models
    assert ImageOptions().model in shipped.tokens
    active = {
        "gpt-image-2",
        *(f"gpt-image-{v}-{n}" for v in ("2.5", "2.6") for n in ("flare", "sunburst")),
    }
    assert active <= set(shipped.image_models)
    retired = {"gpt-image-1", "gpt-image-1.5", "gpt-image-1-mini", "chatgpt-image-latest"}
    assert not retired & set(shipped.image_models) and not shipped.per_image
    assert retired <= set(shipped.shutdowns)
    mainline = {"gpt-6.1-terra", "gpt-6-luna", "gpt-6-sol", "gpt-6.1-sol", "gpt-5.6-luna"}
    assert mainline | {"gpt-5.6-terra", "gpt-5.6-sol"} <= set(shipped.tokens)
    for rates in shipped.tokens.values():
        assert 0 < rates.cached_input <= rates.input <= rates.cache_write and rates.output > 0


@pytest.mark.parametrize(
    ("model", "quality", "size", "price"),
    [
        # known model, concrete quality and size: its tokens at its output price
        ("cheap", "low", "1024x1024", _per_million(196, 10.0)),
        ("cheap", "high", "1536x1024", _per_million(5488, 10.0)),
        ("dear-2030-01-01", "high", "1024x1024", _per_million(7024, 40.0)),  # a snapshot
        ("cheap", "high", "2048x2048", _per_million(14272, 10.0)),  # any WIDTHxHEIGHT
        (" cheap", "high", "1024x1024", _per_million(7024, 40.0)),  # not a name it lists
        # quality auto (or unknown) is priced as the dearest quality
        ("cheap", "auto", "1024x1024", _per_million(7024, 10.0)),
        ("cheap", "ultra", "1024x1536", _per_million(5488, 10.0)),
        # size auto (or unreadable) is priced at the dearest of the auto sizes
        ("cheap", "low", "auto", _per_million(196, 10.0)),
        ("cheap", "high", "0x1024", _per_million(7024, 10.0)),
        ("cheap", "high", "64x64", _per_million(7024, 10.0)),  # smaller than it makes
        ("cheap", "low", "1024x640", _per_million(107, 10.0)),  # the smallest it makes
        ("cheap", "auto", "auto", _per_million(7024, 10.0)),
        # per-image prices are used as listed, and auto takes the dearest listed
        ("flat", "low", "1536x1024", 0.03),
        ("flat", "low", "auto", 0.03),
        ("partial", "medium", "1024x1024", 0.07),
        # a listed model without this quality or size: the highest figure for that image
        ("flat", "high", "2048x2048", _per_million(14272, 40.0)),
        ("partial", "low", "1024x1024", 0.01),
        # an unknown model: the highest figure of either kind for that image
        ("mystery", "low", "1024x1024", 0.01),
        ("mystery", "high", "1024x1024", _per_million(7024, 40.0)),
        ("mystery", "high", "1536x1024", 0.30),
        ("mystery", "auto", "auto", 0.30),
    ],
)
def test_image_price_rules(model: str, quality: str, size: str, price: float) -> None:
    assert TABLE.image_price(model, quality, size) == pytest.approx(price)


def test_a_table_of_per_image_prices_only_prices_the_rest_at_its_highest() -> None:
    table = PriceTable.from_data(
        {"as_of": "2030-01-01", "images": {"m": {"low": {"1024x1024": 0.5}}}}
    )
    assert table.image_price("m", "low", "1024x1024") == 0.5
    assert table.image_price("m", "high", "3840x2160") == 0.5
    assert table.image_price("other", "low", "1024x1024") == 0.5
    assert table.image_tokens == PriceTable.load().image_tokens  # the shipped formula


@pytest.mark.parametrize(
    ("model", "usage", "price"),
    [
        (
            "small",
            {"input_tokens": 1000, "output_tokens": 500},
            (1000 * 1.0 + 500 * 4.0) / 1e6,
        ),
        (
            "small",
            {
                "input_tokens": 1000,
                "input_tokens_details": {"cached_tokens": 400},
                "output_tokens": 500,
            },
            (600 * 1.0 + 400 * 0.1 + 500 * 4.0) / 1e6,
        ),
        (
            "large",
            {"input_tokens": 2000, "input_tokens_details": {"cached_tokens": 2000}},
            2000 * 1.0 / 1e6,
        ),
        # tokens written to the cache at the cache-write price (else the input price)
        (
            "large",
            {
                "input_tokens": 3000,
                "input_tokens_details": {"cached_tokens": 1000, "cache_write_tokens": 1500},
                "output_tokens": 10,
            },
            (500 * 10.0 + 1000 * 1.0 + 1500 * 12.5 + 10 * 40.0) / 1e6,
        ),
        (
            "small",
            {"input_tokens": 100, "input_tokens_details": {"cache_write_tokens": 100}},
            100 * 1.0 / 1e6,
        ),
        # an unknown mainline model is priced at the highest of each price
        ("mystery", {"input_tokens": 1000, "output_tokens": 1000}, (10_000 + 40_000) / 1e6),
        ("small", None, 0.0),
        ("small", {}, 0.0),
        # counts that are not counts are none; more cached than sent is capped
        ("small", {"input_tokens": "9", "output_tokens": None, "input_tokens_details": 3}, 0.0),
        ("small", {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 50}}, 1e-6),
    ],
)
def test_token_price(model: str, usage: dict[str, Any] | None, price: float) -> None:
    assert TABLE.token_price(model, usage) == pytest.approx(price)


def test_estimate_prices_what_the_service_says_it_made() -> None:
    options = ImageOptions(
        model="small", image_model="cheap", quality="auto", size="auto", partial_images=2
    )
    final = FinalImage(
        data=b"",
        output_format="png",
        response_id="resp_1",
        image_call_id="ig_1",
        revised_prompt="x" * 30,  # 10 tokens at most
        usage={"input_tokens": 1000, "output_tokens": 0},
        size="1024x1536",
        quality="low",
    )
    partials = _per_million(2 * 100, 10.0)
    prompt = _per_million(10, 1.0)
    image = _per_million(158, 10.0)
    assert TABLE.estimate(options, final) == pytest.approx(image + partials + prompt + 0.001)
    edit = _per_million(2 * 1536, 2.0)
    assert TABLE.estimate(options, final, input_images=2) == pytest.approx(
        image + partials + prompt + 0.001 + edit
    )
    unresolved = replace(final, size=None, quality=None, usage=None)
    assert TABLE.estimate(options, unresolved) == pytest.approx(
        _per_million(7024, 10.0) + partials + prompt
    )


def test_a_table_without_image_models_is_refused() -> None:
    with pytest.raises(ValueError, match="no image model"):
        PriceTable.from_data({"as_of": "2030-01-01", "images": {}})


_MODEL = '[image_models."m"]\ntext_input = 5\nimage_input = 8\nimage_output = 30\n'


@pytest.mark.parametrize(
    "text",
    [
        'as_of = "2030-01-01"\n[images."m"\nlow = {',  # not TOML
        '[images."m"]\nlow = { "1024x1024" = 0.01 }\n',  # no as_of
        'as_of = "2030-01-01"\n',  # no images
        'as_of = "2030-01-01"\n[images]\n',  # no image model
        'as_of = "2030-01-01"\n[images."m"]\nlow = { "1024x1024" = "cheap" }\n',  # not a number
        'as_of = "2030-01-01"\n' + _MODEL.replace("image_output", "image_ouput"),  # a typo
        'as_of = "2030-01-01"\n' + _MODEL.replace("= 30", "= -30"),  # negative
        'as_of = "2030-01-01"\nimage_models = ["m"]\n',  # not a table of models
        'as_of = "2030-01-01"\n[tokens."t"]\ninput = 1\n' + _MODEL,  # no output price
        'as_of = "2030-01-01"\n' + _MODEL + "[image_tokens]\narea_scale = 0\n",  # no formula
        'as_of = "2030-01-01"\n' + _MODEL + 'snapshots = "m-2030"\n',  # not a list of names
    ],
)
def test_a_broken_price_file_names_the_file(tmp_path: Path, text: str) -> None:
    path = tmp_path / "my-prices.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PriceTableError, match=re.escape(str(path))):
        PriceTable.load(path)


def test_a_broken_formula_is_refused_by_name(tmp_path: Path, shipped: PriceTable) -> None:
    text = (Path(__file__).parents[1] / "bot" / "workspace" / "prices.toml").read_text(
        encoding="utf-8"
    )
    for old, new in [("area_scale = 4_000_000", "area_scale = 0"), ("high = 96", "high = 9.6")]:
        path = tmp_path / "prices.toml"
        path.write_text(text.replace(old, new), encoding="utf-8")
        with pytest.raises(PriceTableError, match=re.escape(str(path))):
            PriceTable.load(path)


def test_a_missing_price_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing" / "prices.toml"
    with pytest.raises(PriceTableError, match=re.escape(str(path))) as caught:
        PriceTable.load(str(path))
    assert str(caught.value).startswith("cannot read the price table ")


def test_a_copied_price_file_loads(tmp_path: Path, shipped: PriceTable) -> None:
    text = (Path(__file__).parents[1] / "bot" / "workspace" / "prices.toml").read_text(
        encoding="utf-8"
    )
    path = tmp_path / "prices.toml"
    dated = text.replace(f'as_of = "{shipped.as_of}"', 'as_of = "2031-05-06"')
    assert dated != text
    path.write_text(dated, encoding="utf-8")
    copied = PriceTable.load(path)
    assert copied.as_of == "2031-05-06"
    assert copied.source == shipped.source
    assert copied.image_models == shipped.image_models and copied.tokens == shipped.tokens
    assert copied.image_tokens == shipped.image_tokens and copied.shutdowns == shipped.shutdowns


def test_a_copy_that_names_no_source_is_shown_with_its_file(tmp_path: Path) -> None:
    path = tmp_path / "ours.toml"
    path.write_text('as_of = "2031-01-01"\n' + _MODEL, encoding="utf-8")
    table = PriceTable.load(path)
    assert table.provenance == f"prices as of 2031-01-01 from {path}"
    assert PriceTable.from_data({"as_of": "2031-01-01", "images": {"m": {}}}).provenance == (
        "prices as of 2031-01-01"
    )


# --- quotas ---------------------------------------------------------------------------------


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


@pytest.mark.parametrize(
    ("now", "when", "text"),
    [
        (_utc(2026, 11, 30, 22, 30), _utc(2026, 12, 1), "1 h 30 min"),
        (_utc(2026, 11, 30, 12, 0), _utc(2026, 12, 1), "12 h 0 min"),
        (_utc(2026, 11, 30, 23, 15), _utc(2026, 12, 1), "45 min"),
        (_utc(2026, 11, 30, 23, 59, 30), _utc(2026, 12, 1), "1 min"),
        (_utc(2026, 11, 30, 0, 0, 30), _utc(2026, 12, 1), "23 h 59 min"),
        (_utc(2026, 11, 10), _utc(2026, 12, 1), "21 d 0 h"),
        (_utc(2026, 11, 30, 12), _utc(2026, 11, 30, 11), "1 min"),
    ],
)
def test_until(now: datetime, when: datetime, text: str) -> None:
    assert until(now, when) == text


@pytest.mark.parametrize(
    ("now", "day", "month", "following"),
    [
        (
            _utc(2026, 11, 30, 23, 59, 59),
            _utc(2026, 11, 30),
            _utc(2026, 11, 1),
            _utc(2026, 12, 1),
        ),
        (_utc(2026, 12, 31, 8), _utc(2026, 12, 31), _utc(2026, 12, 1), _utc(2027, 1, 1)),
        (_utc(2028, 2, 29, 1), _utc(2028, 2, 29), _utc(2028, 2, 1), _utc(2028, 3, 1)),
        (_utc(2026, 1, 31), _utc(2026, 1, 31), _utc(2026, 1, 1), _utc(2026, 2, 1)),
    ],
)
def test_day_and_month_boundaries(
    now: datetime, day: datetime, month: datetime, following: datetime
) -> None:
    assert day_start(now) == day
    assert month_start(now) == month
    assert next_month(now) == following


@pytest.fixture
def quotas(store: SqliteStore, clock: ManualClock, shipped: PriceTable) -> Quotas:
    return Quotas(usage=store.usage, clock=clock, prices=shipped)


async def _turn(
    store: SqliteStore,
    status: str = "delivered",
    *,
    user: str = USER,
    workspace: str = WORKSPACE,
    channel: str = "C1",
    cost: float | None = 0.05,
) -> int:
    """One turn begun and ended now (on the store's clock)."""
    thread = ThreadKey(PLATFORM, workspace, channel, f"{user}-thread")
    request = DrawRequest(
        platform=PLATFORM, workspace=workspace, channel=channel, user_id=user, prompt="a cat"
    )
    return await ledger.record(store, request, thread, TurnStatus(status), cost=cost)


async def _check(
    quotas: Quotas,
    *,
    daily_limit: int | None = None,
    monthly_cap_usd: float | None = None,
    running: int = 0,
    user: str = USER,
) -> None:
    settings = replace(_defaults(), daily_limit=daily_limit, monthly_cap_usd=monthly_cap_usd)
    await quotas.check(
        platform=PLATFORM, workspace=WORKSPACE, user_id=user, settings=settings, running=running
    )


@pytest.mark.parametrize("limit", [1, 3, 10])
async def test_daily_limit_passes_one_below_and_stops_at_it(
    quotas: Quotas, store: SqliteStore, limit: int
) -> None:
    for _ in range(limit - 1):
        await _turn(store)
    await _check(quotas, daily_limit=limit)  # N-1 delivered: one more is fine

    await _turn(store)
    with pytest.raises(NotAllowed) as caught:
        await _check(quotas, daily_limit=limit)
    message = caught.value.user_message
    plural = "drawing" if limit == 1 else "drawings"
    assert message.startswith(f"You have used today's {limit} {plural}.")
    assert "(some still drawing)" not in message
    assert "The limit resets at midnight UTC, in 13 h 45 min." in message


async def test_daily_limit_zero_stops_everyone(quotas: Quotas) -> None:
    with pytest.raises(NotAllowed):
        await _check(quotas, daily_limit=0)


async def test_no_limits_means_no_refusal(quotas: Quotas, store: SqliteStore) -> None:
    for _ in range(5):
        await _turn(store, cost=100.0)
    await _check(quotas)


@pytest.mark.parametrize(
    ("delivered", "running", "refused"),
    [
        (0, 2, False),
        (1, 1, False),
        (2, 1, True),
        (0, 3, True),
        (1, 2, True),
    ],
)
async def test_running_turns_count_against_the_daily_limit(
    quotas: Quotas, store: SqliteStore, delivered: int, running: int, refused: bool
) -> None:
    for _ in range(delivered):
        await _turn(store)
    if not refused:
        await _check(quotas, daily_limit=3, running=running)
        return
    with pytest.raises(NotAllowed) as caught:
        await _check(quotas, daily_limit=3, running=running)
    assert "(some still drawing)" in caught.value.user_message
    assert "midnight UTC" in caught.value.user_message


@pytest.mark.parametrize("status", ["failed", "interrupted", "drawing"])
async def test_turns_not_delivered_do_not_count(
    quotas: Quotas, store: SqliteStore, status: str
) -> None:
    await _turn(store)
    for _ in range(5):
        await _turn(store, status)
    await _check(quotas, daily_limit=2)
    assert await store.usage.delivered_count(PLATFORM, WORKSPACE, USER, since=0) == 1


async def test_other_people_and_workspaces_do_not_count(quotas: Quotas, store: SqliteStore) -> None:
    for _ in range(3):
        await _turn(store, user="U2")
        await _turn(store, workspace="T2")
    await _check(quotas, daily_limit=1)
    with pytest.raises(NotAllowed):
        await _check(quotas, daily_limit=3, user="U2")


async def test_yesterdays_drawings_do_not_count_after_utc_midnight(
    quotas: Quotas, store: SqliteStore, clock: ManualClock
) -> None:
    clock.set(_utc(2026, 11, 29, 23, 50))  # back to yesterday evening
    for _ in range(2):
        await _turn(store)
    with pytest.raises(NotAllowed, match=re.escape("midnight UTC, in 10 min.")):
        await _check(quotas, daily_limit=2)

    clock.set(_utc(2026, 11, 29, 23, 59, 59))
    with pytest.raises(NotAllowed, match=re.escape("in 1 min.")):
        await _check(quotas, daily_limit=2)

    clock.set(_utc(2026, 11, 30, 0, 0, 1))  # forward, just past midnight
    await _check(quotas, daily_limit=2)
    await _check(quotas, daily_limit=1)

    await _turn(store)
    with pytest.raises(NotAllowed, match=re.escape("in 23 h 59 min.")):
        await _check(quotas, daily_limit=1)


async def test_a_turn_counts_on_the_day_it_was_delivered(
    quotas: Quotas, store: SqliteStore, clock: ManualClock
) -> None:
    clock.set(_utc(2026, 11, 29, 23, 59))
    thread = ThreadKey(PLATFORM, WORKSPACE, "C1", "t")
    request = DrawRequest(
        platform=PLATFORM, workspace=WORKSPACE, channel="C1", user_id=USER, prompt="x"
    )
    turn_id = await ledger.begin(store, request, thread)
    clock.advance(120)  # delivered at 00:01 the next day
    await ledger.deliver(store, turn_id, thread, cost=0.1)
    with pytest.raises(NotAllowed):
        await _check(quotas, daily_limit=1)


@pytest.mark.parametrize(
    ("now", "resets_in"),
    [
        (_utc(2026, 11, 30, 0, 0, 30), "23 h 59 min"),
        (_utc(2026, 11, 30, 9, 5), "14 h 55 min"),
        (_utc(2026, 11, 30, 22, 0), "2 h 0 min"),
        (_utc(2026, 11, 30, 23, 20, 10), "39 min"),
        (_utc(2026, 11, 30, 23, 59, 59), "1 min"),
    ],
)
async def test_the_daily_reset_time_follows_the_clock(
    quotas: Quotas, store: SqliteStore, clock: ManualClock, now: datetime, resets_in: str
) -> None:
    clock.set(now)
    await _turn(store)
    with pytest.raises(NotAllowed) as caught:
        await _check(quotas, daily_limit=1)
    assert caught.value.user_message.endswith(f"midnight UTC, in {resets_in}.")


@pytest.mark.parametrize(
    ("costs", "cap", "refused"),
    [
        ([], 25.0, False),
        ([10.0, 14.99], 25.0, False),
        ([24.99], 25.0, False),
        ([10.0, 15.0], 25.0, True),
        ([25.0], 25.0, True),
        ([30.0], 25.0, True),
        ([1.25, 1.25], 2.5, True),
    ],
)
async def test_monthly_cap_at_its_boundary(
    quotas: Quotas, store: SqliteStore, costs: list[float], cap: float, refused: bool
) -> None:
    for cost in costs:
        await _turn(store, cost=cost)
    if not refused:
        await _check(quotas, monthly_cap_usd=cap)
        return
    with pytest.raises(NotAllowed) as caught:
        await _check(quotas, monthly_cap_usd=cap)
    message = caught.value.user_message
    assert f"monthly spend cap of ${cap:,.2f}" in message
    assert f"estimated ${sum(costs):,.2f} so far" in message
    assert f"prices as of {quotas.prices.as_of} from {quotas.prices.source})" in message
    assert message.endswith("It resets on 1 December (UTC).")


async def test_monthly_cap_counts_the_whole_workspace_and_only_delivered_turns(
    quotas: Quotas, store: SqliteStore
) -> None:
    await _turn(store, user="U2", cost=10.0)
    await _turn(store, user="U3", channel="C2", cost=10.0)
    await _turn(store, "failed")
    await _turn(store, "interrupted")
    await _turn(store, workspace="T2", cost=500.0)
    await _check(quotas, monthly_cap_usd=20.01)
    with pytest.raises(NotAllowed, match=re.escape("estimated $20.00 so far")):
        await _check(quotas, monthly_cap_usd=20.0)


async def test_monthly_cap_resets_in_the_next_calendar_month(
    quotas: Quotas, store: SqliteStore, clock: ManualClock
) -> None:
    clock.set(_utc(2026, 11, 30, 23, 59))
    await _turn(store, cost=26.0)
    with pytest.raises(NotAllowed) as caught:
        await _check(quotas, monthly_cap_usd=25.0)
    assert "It resets on 1 December (UTC)." in caught.value.user_message
    assert "$25.00" in caught.value.user_message
    assert "$26.00" in caught.value.user_message

    clock.set(_utc(2026, 12, 1, 0, 1))
    await _check(quotas, monthly_cap_usd=25.0)
    spend = await quotas.month_spend(PLATFORM, WORKSPACE)
    assert (spend.drawings, spend.usd) == (0, 0.0)

    await _turn(store, cost=25.0)
    with pytest.raises(NotAllowed, match=re.escape("It resets on 1 January (UTC).")):
        await _check(quotas, monthly_cap_usd=25.0)


async def test_daily_limit_is_checked_before_the_monthly_cap(
    quotas: Quotas, store: SqliteStore
) -> None:
    await _turn(store, cost=50.0)
    with pytest.raises(NotAllowed, match="midnight UTC"):
        await _check(quotas, daily_limit=1, monthly_cap_usd=25.0)
    with pytest.raises(NotAllowed, match="monthly spend cap"):
        await _check(quotas, daily_limit=2, monthly_cap_usd=25.0)


async def test_report_matches_the_clock_and_the_store(
    quotas: Quotas, store: SqliteStore, clock: ManualClock
) -> None:
    clock.set(_utc(2026, 11, 1, 12, 0))
    await _turn(store, cost=1.5)
    clock.set(_utc(2026, 11, 30, 21, 30))
    await _turn(store, cost=2.0)
    await _turn(store, user="U2", channel="C2", cost=4.0)
    await _turn(store, "failed")
    settings = replace(_defaults(), daily_limit=4, monthly_cap_usd=25.0)
    report = await quotas.report(
        platform=PLATFORM, workspace=WORKSPACE, user_id=USER, settings=settings
    )
    assert (report.today, report.month) == (1, 2)
    assert report.daily_limit == 4
    assert report.monthly_cap_usd == 25.0
    assert report.month_spend.drawings == 3
    assert report.month_spend.usd == pytest.approx(7.5)
    assert report.by_user[USER].usd == pytest.approx(3.5)
    assert report.by_user["U2"].usd == pytest.approx(4.0)
    assert report.by_channel["C2"].drawings == 1
    assert report.prices_as_of == quotas.prices.as_of
    assert report.day_resets_in == "2 h 30 min"
    assert report.month_resets_on == "1 December"
    assert report.prices_source == quotas.prices.source
    assert not [n for n in report.price_notes if "unknown" in n]  # defaults priced by name


async def test_report_names_unknown_and_retired_models_in_use(
    quotas: Quotas, clock: ManualClock
) -> None:
    clock.set(_utc(2026, 12, 1, 9, 0))
    settings = replace(_defaults(), image_model="gpt-image-9", model="gpt-5-mini")
    report = await quotas.report(
        platform=PLATFORM, workspace=WORKSPACE, user_id=USER, settings=settings
    )
    assert report.price_notes == (
        "prices for gpt-image-9 are unknown: counted at the highest known price",
        "gpt-5-mini shuts down on 2026-12-11",
    )
    clock.set(_utc(2026, 12, 11, 0, 0))
    settings = replace(settings, image_model="gpt-image-1.5", model="gpt-6-luna")
    report = await quotas.report(
        platform=PLATFORM, workspace=WORKSPACE, user_id=USER, settings=settings
    )
    assert report.price_notes == (
        "gpt-image-1.5 was shut down on 2026-12-01",
        "prices for gpt-image-1.5 are unknown: counted at the highest known price",
    )


@pytest.mark.parametrize("bold", ["*", "**"])
async def test_usage_text_shows_the_date_and_source_beside_money_and_flags_unknown_models(
    quotas: Quotas, store: SqliteStore, clock: ManualClock, bold: str
) -> None:
    clock.set(_utc(2026, 12, 3, 12, 0))
    await _turn(store, cost=0.25)
    await _turn(store, user="U2", channel="C2", cost=1.0)
    settings = replace(
        _defaults(), image_model="gpt-image-9", model="gpt-6-luna", monthly_cap_usd=50.0
    )
    report = await quotas.report(
        platform=PLATFORM, workspace=WORKSPACE, user_id=USER, settings=settings
    )
    b, prices = bold, quotas.prices
    dated = "prices as of 2026-12-01"
    text = usage_text(report, admin=True, bold=b)
    lines = text.splitlines()
    assert lines[1] == (
        f"{b}Workspace this month:{b} 2 drawings, about $1.25 of the $50.00 cap "
        f"(resets 1 January; {dated} from {prices.source})."
    )
    assert f"{b}By person ({dated}):{b}" in lines and f"{b}By channel ({dated}):{b}" in lines
    for line in lines:  # every dollar figure is under a heading that dates it, or dates itself
        if "$" in line and not line.startswith("•"):
            assert dated in line
    assert lines[-1] == (
        f"{b}Note:{b} prices for gpt-image-9 are unknown: counted at the highest known price."
    )
    mine = usage_text(report, admin=False, bold=b)
    assert "$" not in mine and "prices" not in mine and "gpt-image-9" not in mine


def test_lists_hold_each_entry_once_after_names_are_resolved() -> None:
    assert FIELDS["allowed_sizes"].parse("square 1024x1024 Square") == ("1024x1024",)
    assert FIELDS["channels"].parse("<#C1|general> C1 #C1") == ("C1",)


def test_single_choices_ignore_capital_letters() -> None:
    assert FIELDS["quality"].parse("HIGH") == "high"
    assert FIELDS["output_format"].parse("PNG") == "png"


def test_compression_left_unset_reads_as_the_default() -> None:
    assert FIELDS["compression"].show(None) == "default"
    assert FIELDS["daily_limit"].show(None) == "no limit"


def test_a_price_file_of_the_wrong_shape_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "shape.toml"
    path.write_text('as_of = "2030-01-01"\nimages = "abc"\n', encoding="utf-8")
    with pytest.raises(PriceTableError, match=r"shape\.toml"):
        PriceTable.load(path)
