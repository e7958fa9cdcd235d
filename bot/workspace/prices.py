"""Estimated spend: the price table (one data file) applied to what a turn used."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from bot.models import FinalImage, ImageOptions

PIXEL_SIZES = ("1024x1024", "1024x1536", "1536x1024")


class PriceTableError(ValueError):
    """The price file cannot be read; the message names the file and the problem."""


@dataclass(frozen=True, slots=True)
class PriceTable:
    as_of: str
    images: Mapping[str, Mapping[str, Mapping[str, float]]]  # model -> quality -> size -> $
    tokens: Mapping[str, Mapping[str, float]]  # model -> input/cached_input/output -> $ per 1M

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceTable:
        """The table in `path`, or the one that ships with easel."""
        try:
            if path is None:
                text = resources.files("bot.workspace").joinpath("prices.toml").read_text("utf-8")
            else:
                text = Path(path).read_text("utf-8")
            data = tomllib.loads(text)
            return cls.from_data(data)
        except (
            OSError,
            tomllib.TOMLDecodeError,
            AttributeError,
            KeyError,
            TypeError,
            ValueError,
        ) as exc:  # a file of the wrong shape is as unreadable as a broken one
            where = path or "prices.toml"
            raise PriceTableError(f"cannot read the price table {where}: {exc}") from exc

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> PriceTable:
        images = {
            model: {q: {s: float(p) for s, p in sizes.items()} for q, sizes in qualities.items()}
            for model, qualities in data["images"].items()
        }
        tokens = {
            model: {k: float(v) for k, v in prices.items()}
            for model, prices in data.get("tokens", {}).items()
        }
        if not images:
            raise ValueError("it lists no image model")
        return cls(as_of=str(data["as_of"]), images=images, tokens=tokens)

    def image_price(self, model: str, quality: str, size: str) -> float:
        """One image; a model, quality or size not in the table is priced at the most it
        could cost, so that a cap never lets more through than it should."""
        qualities = [quality] if quality in ("low", "medium", "high") else ["high"]
        sizes = [size] if size in PIXEL_SIZES else list(PIXEL_SIZES)
        models = [self.images[model]] if model in self.images else list(self.images.values())
        found = [m[q][s] for m in models for q in qualities for s in sizes if s in m.get(q, {})]
        if not found:  # a model listed without this quality or size: the table's maximum
            found = [p for m in self.images.values() for q in m.values() for p in q.values()]
        return max(found)

    def token_price(self, model: str, usage: Mapping[str, Any] | None) -> float:
        if not usage:
            return 0.0
        prices = self.tokens.get(model) or _most_expensive(self.tokens)
        if not prices:
            return 0.0
        details = usage.get("input_tokens_details") or {}
        cached = int(details.get("cached_tokens") or 0)
        fresh = max(0, int(usage.get("input_tokens") or 0) - cached)
        output = int(usage.get("output_tokens") or 0)
        total = (
            fresh * prices.get("input", 0.0)
            + cached * prices.get("cached_input", prices.get("input", 0.0))
            + output * prices.get("output", 0.0)
        )
        return total / 1_000_000

    def estimate(self, options: ImageOptions, final: FinalImage) -> float:
        """The estimated cost of a delivered turn, in US dollars."""
        quality = final.quality or options.quality
        size = final.size or options.size
        image = self.image_price(options.image_model, quality, size)
        return round(image + self.token_price(options.model, final.usage), 6)


def _most_expensive(tokens: Mapping[str, Mapping[str, float]]) -> Mapping[str, float]:
    if not tokens:
        return {}
    return max(tokens.values(), key=lambda p: p.get("output", 0.0) + p.get("input", 0.0))
