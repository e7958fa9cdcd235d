"""The shipped price table against OpenAI's published figures, and a turn's cost from its parts.

Published points (prices.toml cites them): gpt-image-2 output tokens from OpenAI's calculator
and per-image dollars from its guide. Every one is reproduced; sizes between and beyond them
follow the same formula.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from fractions import Fraction
from itertools import pairwise
from typing import Any

import pytest

from bot.models import FinalImage, ImageOptions
from bot.workspace.prices import UNKNOWN, PriceTable

TABLE = PriceTable.load()
ACTIVE = (
    "gpt-image-2",
    "gpt-image-2.5-flare",
    "gpt-image-2.5-sunburst",
    "gpt-image-2.6-flare",
    "gpt-image-2.6-sunburst",
)
QUALITIES = ("low", "medium", "high")


def _tokens(quality: str, size: str) -> int:
    width, height = (int(n) for n in size.split("x"))
    return TABLE.image_tokens.output(quality, width, height)


def _valid_sizes() -> list[tuple[int, int]]:
    """Every size gpt-image-2 takes: edges multiples of 16 up to 3840, 1:3 to 3:1,
    655,360 to 8,294,400 pixels."""
    edges = range(16, 3841, 16)
    return [
        (w, h)
        for w in edges
        for h in edges
        if max(w, h) <= 3 * min(w, h) and 655_360 <= w * h <= 8_294_400
    ]


def _final(
    *,
    size: str | None = None,
    quality: str | None = None,
    usage: dict[str, Any] | None = None,
    revised_prompt: str | None = None,
) -> FinalImage:
    """A final image as the image call reported it."""
    return FinalImage(
        data=b"",
        output_format="png",
        response_id="resp_1",
        image_call_id="ig_1",
        revised_prompt=revised_prompt,
        usage=usage,
        size=size,
        quality=quality,
    )


@pytest.mark.parametrize(
    ("quality", "size", "tokens"),
    [
        ("high", "1024x1024", 7024),
        ("high", "1536x1024", 5488),
        ("high", "1024x1536", 5488),
        ("high", "1792x1024", 5063),
        ("high", "3584x2048", 12329),
        ("low", "976x704", 129),
        ("low", "960x720", 130),
    ],
)
def test_every_published_token_count_is_reproduced(quality: str, size: str, tokens: int) -> None:
    assert _tokens(quality, size) == tokens


@pytest.mark.parametrize(
    ("quality", "dollars"),
    [("low", (0.006, 0.005)), ("medium", (0.053, 0.041)), ("high", (0.211, 0.165))],
)
@pytest.mark.parametrize("model", ACTIVE)
def test_every_published_price_per_image_is_reproduced(
    model: str, quality: str, dollars: tuple[float, float]
) -> None:
    square, oblong = dollars
    assert round(TABLE.image_price(model, quality, "1024x1024"), 3) == square
    assert round(TABLE.image_price(model, quality, "1536x1024"), 3) == oblong
    assert round(TABLE.image_price(model, quality, "1024x1536"), 3) == oblong


def test_every_active_model_has_the_published_token_prices() -> None:
    for model in ACTIVE:
        rates = TABLE.image_models[model]
        assert (rates.text_input, rates.image_input, rates.image_output) == (5.0, 8.0, 30.0)
    assert TABLE.image_models["gpt-image-2-2026-04-21"] == TABLE.image_models["gpt-image-2"]


@pytest.mark.parametrize("quality", QUALITIES)
def test_at_one_aspect_ratio_tokens_grow_with_the_pixels(quality: str) -> None:
    by_ratio: dict[Fraction, list[tuple[int, int]]] = {}
    for w, h in _valid_sizes():
        by_ratio.setdefault(Fraction(w, h), []).append((w, h))
    assert len(by_ratio) > 1000
    for sizes in by_ratio.values():
        counts = [TABLE.image_tokens.output(quality, w, h) for w, h in sorted(sizes)]
        assert all(a < b for a, b in pairwise(counts)), sizes


@pytest.mark.parametrize("quality", QUALITIES)
def test_larger_sizes_no_wider_than_3_to_2_cost_more_than_1536x1024(quality: str) -> None:
    landscape = TABLE.image_price("gpt-image-2", quality, "1536x1024")
    larger = [
        (w, h) for w, h in _valid_sizes() if w * h > 1536 * 1024 and 2 * max(w, h) <= 3 * min(w, h)
    ]
    assert (3840, 2160) not in larger and (2048, 2048) in larger
    for w, h in larger:  # a token rounded up can tie at a few pixels more (low, 1040x1520)
        price = TABLE.image_price("gpt-image-2", quality, f"{w}x{h}")
        assert price > landscape if w * h > 1.02 * 1536 * 1024 else price >= landscape, (w, h)


@pytest.mark.parametrize(
    ("size", "tokens"),
    [("2048x2048", 14272), ("2560x1440", 7370), ("3840x2160", 13342), ("2048x1024", 4720)],
)
def test_worked_custom_sizes(size: str, tokens: int) -> None:
    assert _tokens("high", size) == tokens
    assert TABLE.image_price("gpt-image-2", "high", size) == pytest.approx(tokens * 30 / 1e6)


def test_the_largest_size_costs_more_than_every_standard_size() -> None:
    largest = TABLE.image_price("gpt-image-2", "high", "3840x2160")
    standard = [TABLE.image_price("gpt-image-2", "high", s) for s in ("1024x1024", "1536x1024")]
    assert largest > max(standard) * 1.8


@pytest.mark.parametrize("model", [*ACTIVE, "gpt-image-9"])
def test_auto_is_the_most_it_could_cost(model: str) -> None:
    every = [
        TABLE.image_price(model, q, s)
        for q in QUALITIES
        for s in ("1024x1024", "1024x1536", "1536x1024")
    ]
    assert TABLE.image_price(model, "auto", "auto") == max(every)
    assert TABLE.image_price(model, "auto", "auto") == TABLE.image_price(model, "high", "1024x1024")
    for q in QUALITIES:
        assert TABLE.image_price(model, q, "auto") == TABLE.image_price(model, q, "1024x1024")
    assert TABLE.image_price(model, "auto", "1536x1024") == TABLE.image_price(
        model, "high", "1536x1024"
    )


def test_partial_images_and_input_images_add_to_a_turn() -> None:
    final = _final(size="1024x1024", quality="medium")
    none = ImageOptions(image_model="gpt-image-2.6-flare", partial_images=0)
    base = TABLE.estimate(none, final)
    assert base == pytest.approx(1756 * 30 / 1e6)
    for n in (1, 2, 3):
        partials = ImageOptions(image_model="gpt-image-2.6-flare", partial_images=n)
        assert TABLE.estimate(partials, final) == pytest.approx(base + n * 100 * 30 / 1e6)
    for n in (1, 3):
        edit = TABLE.estimate(none, final, input_images=n)
        assert edit == pytest.approx(base + n * 1536 * 8 / 1e6)


def test_the_prompt_the_tool_read_is_counted_at_the_text_input_price() -> None:
    final = _final(size="1024x1024", quality="low", revised_prompt="é" * 150)  # 300 bytes
    options = ImageOptions(image_model="gpt-image-2", partial_images=0)
    assert TABLE.estimate(options, final) == pytest.approx((196 * 30 + 100 * 5) / 1e6)
    # No revised prompt: what the mainline model wrote (its output, reasoning aside) bounds it.
    usage = {"output_tokens": 500, "output_tokens_details": {"reasoning_tokens": 300}}
    wrote = _final(size="1024x1024", quality="low", usage=usage)
    luna = ImageOptions(model="gpt-6-luna", image_model="gpt-image-2", partial_images=0)
    assert TABLE.estimate(luna, wrote) == pytest.approx(
        (196 * 30 + 200 * 5) / 1e6 + 500 * 0.50 / 1e6
    )


def test_a_whole_turn_from_what_the_api_reported() -> None:
    options = ImageOptions(
        model="gpt-6.1-terra",
        image_model="gpt-image-2.6-sunburst",
        size="auto",
        quality="auto",
        partial_images=2,
    )
    usage = {
        "input_tokens": 10_000,
        "input_tokens_details": {"cached_tokens": 4_000, "cache_write_tokens": 1_000},
        "output_tokens": 2_000,
        "output_tokens_details": {"reasoning_tokens": 1_500},
    }
    final = _final(size="1024x1536", quality="high", usage=usage, revised_prompt="a" * 90)
    mainline = (5_000 * 1.00 + 4_000 * 0.05 + 1_000 * 2.50 + 2_000 * 5.00) / 1e6
    assert TABLE.token_price("gpt-6.1-terra", usage) == pytest.approx(mainline)
    image = (5488 + 2 * 100) * 30 / 1e6 + 30 * 5 / 1e6
    assert TABLE.estimate(options, final) == pytest.approx(mainline + image)
    # What the call did not report falls back to what was asked, and "auto" to the most.
    asked = _final(usage=usage, revised_prompt="a" * 90)
    assert TABLE.estimate(options, asked) == pytest.approx(
        mainline + (7024 + 2 * 100) * 30 / 1e6 + 30 * 5 / 1e6
    )


@pytest.mark.parametrize(
    ("quality", "size"), [("low", "1024x1024"), ("high", "3840x2160"), ("auto", "auto")]
)
def test_an_unknown_image_model_costs_at_least_every_known_one(quality: str, size: str) -> None:
    known = max(TABLE.image_price(m, quality, size) for m in TABLE.image_models)
    assert TABLE.image_price("gpt-image-9", quality, size) >= known > 0


def test_an_unknown_mainline_model_is_priced_at_the_highest_of_each_price() -> None:
    usage = {
        "input_tokens": 3_000,
        "input_tokens_details": {"cached_tokens": 1_000, "cache_write_tokens": 1_000},
        "output_tokens": 1_000,
    }
    unknown = TABLE.token_price("gpt-9", usage)
    assert unknown >= max(TABLE.token_price(m, usage) for m in TABLE.tokens)
    highest = [max(getattr(r, k) for r in TABLE.tokens.values()) for k in ("input", "output")]
    assert unknown == pytest.approx((3_000 * highest[0] + 1_000 * highest[1]) / 1e6)


def test_unknown_models_are_named_and_logged(caplog: pytest.LogCaptureFixture) -> None:
    assert TABLE.notes(image_model="gpt-image-2", model="gpt-6-luna", today="2026-12-01") == ()
    assert TABLE.notes(image_model="gpt-image-9", model="gpt-9") == (
        "prices for gpt-image-9 are unknown: counted at the highest known price",
        "prices for gpt-9 are unknown: counted at the highest known price",
    )
    options = ImageOptions(model="gpt-6-luna", image_model="gpt-image-9")
    with caplog.at_level(logging.WARNING, logger="bot.workspace.prices"):
        cost = TABLE.estimate(options, _final(size="1024x1024", quality="high"))
    known = replace(options, image_model="gpt-image-2")
    assert cost >= TABLE.estimate(known, _final(size="1024x1024", quality="high")) > 0
    assert [r.getMessage() for r in caplog.records] == [UNKNOWN.format("gpt-image-9")]


def test_retired_models_are_named_with_their_date() -> None:
    notes = TABLE.notes(image_model="gpt-image-1", model="gpt-5-mini", today="2026-12-01")
    assert notes == (
        "gpt-image-1 was shut down on 2026-10-23",
        UNKNOWN.format("gpt-image-1"),
        "gpt-5-mini shuts down on 2026-12-11",
    )
    assert "gpt-5-mini was shut down on 2026-12-11" in TABLE.notes(
        image_model="gpt-image-2", model="gpt-5-mini", today="2026-12-11"
    )
