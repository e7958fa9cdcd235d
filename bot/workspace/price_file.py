"""The price file (prices.toml, or a copy named by EASEL_PRICES): read, checked and turned
into rates. A file of the wrong shape raises with words that say what is wrong."""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

SIZE = re.compile(r"([1-9]\d{0,4})x([1-9]\d{0,4})")
_Rates = TypeVar("_Rates")
# A file of the wrong shape is as unreadable as a broken one.
UNREADABLE = (OSError, tomllib.TOMLDecodeError, AttributeError, KeyError, TypeError, ValueError)
PerImage = Mapping[str, Mapping[str, Mapping[str, float]]]  # model -> quality -> size -> $


class PriceTableError(ValueError):
    """The price file cannot be read; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class ImageRates:
    """An image model's prices, US dollars per million tokens."""

    text_input: float = 0.0
    image_input: float = 0.0
    image_output: float = 0.0


@dataclass(frozen=True, slots=True)
class TokenRates:
    """A mainline model's prices, US dollars per million tokens."""

    input: float = 0.0
    cached_input: float = 0.0
    output: float = 0.0
    cache_write: float = 0.0


@dataclass(frozen=True, slots=True)
class ImageTokens:
    """How many tokens the image tool is counted at (prices.toml's [image_tokens])."""

    quality_factors: Mapping[str, int]
    area_offset: int
    area_scale: int
    auto_sizes: tuple[tuple[int, int], ...]
    min_pixels: int
    partial_image: int
    input_image: int

    def qualities(self, quality: str) -> tuple[str, ...]:
        """The qualities `quality` may be: itself, or (auto, unknown) every one."""
        return (quality,) if quality in self.quality_factors else tuple(self.quality_factors)

    def sizes(self, size: str) -> tuple[tuple[int, int], ...]:
        """The sizes `size` may be: itself when it reads WIDTHxHEIGHT of at least the
        smallest the service makes, else (auto, unreadable, too small) the auto sizes."""
        match = SIZE.fullmatch(size.strip().lower())
        if match is None or int(match[1]) * int(match[2]) < self.min_pixels:
            return self.auto_sizes
        return ((int(match[1]), int(match[2])),)

    def output(self, quality: str, width: int, height: int) -> int:
        """Output tokens of one image (OpenAI's calculator formula)."""
        q = self.quality_factors[quality]
        long, short = max(width, height), min(width, height)
        across = (2 * q * short + long) // (2 * long)
        return -(-q * across * (self.area_offset + width * height) // self.area_scale)


@cache
def shipped_image_tokens() -> ImageTokens:
    """The formula of the table that ships with easel, for copies that leave it out."""
    return image_tokens(read(None)["image_tokens"])


def read(path: str | Path | None) -> dict[str, Any]:
    if path is None:
        text = resources.files("bot.workspace").joinpath("prices.toml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    return tomllib.loads(text)


def named(
    section: Mapping[str, Any], parse: Callable[[Mapping[str, Any]], _Rates]
) -> dict[str, _Rates]:
    """Each model's rates under its name and the names of its `snapshots`."""
    named: dict[str, _Rates] = {}
    for model, entry in section.items():
        snapshots = entry.get("snapshots", [])
        if not isinstance(snapshots, list):
            raise TypeError(f"{model}: snapshots must be a list of names")
        named.update(dict.fromkeys(map(str, [model, *snapshots]), parse(entry)))
    return named


def image_rates(entry: Mapping[str, Any]) -> ImageRates:
    return ImageRates(
        text_input=price(entry["text_input"]),
        image_input=price(entry["image_input"]),
        image_output=price(entry["image_output"]),
    )


def token_rates(entry: Mapping[str, Any]) -> TokenRates:
    fresh = price(entry["input"])
    return TokenRates(
        input=fresh,
        cached_input=price(entry.get("cached_input", fresh)),
        output=price(entry["output"]),
        cache_write=price(entry.get("cache_write_input", fresh)),
    )


def image_tokens(entry: Mapping[str, Any]) -> ImageTokens:
    factors = {str(q): _whole(f, low=1) for q, f in entry["quality_factors"].items()}
    sizes = [SIZE.fullmatch(str(s)) for s in entry["auto_sizes"]]
    if not factors or not sizes or not all(sizes):
        raise ValueError("[image_tokens] needs quality factors and auto sizes written WxH")
    return ImageTokens(
        quality_factors=factors,
        area_offset=_whole(entry["area_offset"]),
        area_scale=_whole(entry["area_scale"], low=1),
        auto_sizes=tuple((int(m[1]), int(m[2])) for m in sizes if m),
        min_pixels=_whole(entry["min_pixels"]),
        partial_image=_whole(entry["partial_image"]),
        input_image=_whole(entry["input_image"]),
    )


def price(value: Any) -> float:
    price = float(value)
    if not math.isfinite(price) or price < 0:
        raise ValueError(f"a price must be a number of 0 or more, not {value!r}")
    return price


def _whole(value: Any, *, low: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ValueError(f"[image_tokens] takes whole numbers of {low} or more, not {value!r}")
    return value
