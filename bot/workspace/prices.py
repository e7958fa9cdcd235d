"""Estimated spend: the price table (one data file, prices.toml) applied to what a turn used.

A turn costs its mainline model's tokens, as the Responses `usage` reports them, plus the
image tool's tokens, which the API does not report: the final image's output tokens (by
image model, quality and pixel size), those of each partial image, the prompt the tool read
and any input images. prices.toml's comments give the formulas and their sources. A model
the table does not list is counted at the table's highest prices, and `notes` says so.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bot.models import FinalImage, ImageOptions
from bot.workspace.price_file import (
    UNREADABLE,
    ImageRates,
    ImageTokens,
    PerImage,
    PriceTableError,
    TokenRates,
    image_rates,
    image_tokens,
    named,
    price,
    read,
    shipped_image_tokens,
    token_rates,
)

log = logging.getLogger(__name__)

MILLION = 1_000_000
UNKNOWN = "prices for {} are unknown: counted at the highest known price"
__all__ = ["UNKNOWN", "PriceTable", "PriceTableError"]


@dataclass(frozen=True, slots=True)
class PriceTable:
    as_of: str
    source: str
    image_models: Mapping[str, ImageRates]
    tokens: Mapping[str, TokenRates]
    image_tokens: ImageTokens
    per_image: PerImage
    shutdowns: Mapping[str, str]  # model -> YYYY-MM-DD

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceTable:
        """The table in `path`, or the one that ships with easel."""
        try:
            return cls.from_data(read(path), source=str(path or ""))
        except UNREADABLE as exc:
            where = path or "prices.toml"
            raise PriceTableError(f"cannot read the price table {where}: {exc}") from exc

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, source: str = "") -> PriceTable:
        """A table from parsed TOML; `source` stands in when the data names none."""
        image_models = named(data.get("image_models", {}), image_rates)
        per_image = {
            str(model): {q: {s: price(p) for s, p in sizes.items()} for q, sizes in qs.items()}
            for model, qs in data.get("images", {}).items()
        }
        if not image_models and not per_image:
            raise ValueError("it lists no image model")
        formula = data.get("image_tokens")
        return cls(
            as_of=str(data["as_of"]),
            source=str(data.get("source") or source),
            image_models=image_models,
            tokens=named(data.get("tokens", {}), token_rates),
            image_tokens=shipped_image_tokens() if formula is None else image_tokens(formula),
            per_image=per_image,
            shutdowns={str(k): str(v) for k, v in data.get("shutdowns", {}).items()},
        )

    @property
    def provenance(self) -> str:
        """What every spend figure is shown with: the table's date and its source."""
        return f"prices as of {self.as_of}" + (f" from {self.source}" if self.source else "")

    def image_price(self, model: str, quality: str, size: str) -> float:
        """The final image's output, in US dollars; "auto" quality or size at the most it
        could cost, and a model not in the table at the table's highest price."""
        t = self.image_tokens
        return max(
            self._one(model, q, w, h) for q in t.qualities(quality) for w, h in t.sizes(size)
        )

    def _one(self, model: str, quality: str, width: int, height: int) -> float:
        listed = self.per_image.get(model, {}).get(quality, {}).get(f"{width}x{height}")
        if listed is not None:
            return listed
        rates = self.image_models.get(model)
        if rates is not None:
            return self.image_tokens.output(quality, width, height) * rates.image_output / MILLION
        return self._dearest(quality, width, height)

    def _dearest(self, quality: str, width: int, height: int) -> float:
        """A model whose price is not known: the highest the table has for this image."""
        size = f"{width}x{height}"
        found = [p for m in self.per_image.values() if (p := m.get(quality, {}).get(size))]
        if self.image_models:
            rate = self._highestimage_rates().image_output
            found.append(self.image_tokens.output(quality, width, height) * rate / MILLION)
        elif not found:  # per-image prices only, none for this image: the table's highest
            found = [p for m in self.per_image.values() for q in m.values() for p in q.values()]
        return max(found, default=0.0)

    def token_price(self, model: str, usage: Mapping[str, Any] | None) -> float:
        """The mainline model's tokens as `usage` reports them, in US dollars."""
        if not usage:
            return 0.0
        rates = self.tokens.get(model) or TokenRates(**_highest(self.tokens.values(), TokenRates))
        details = usage.get("input_tokens_details")
        details = details if isinstance(details, Mapping) else {}
        total = _count(usage.get("input_tokens"))
        cached = min(total, _count(details.get("cached_tokens")))
        written = min(total - cached, _count(details.get("cache_write_tokens")))
        dollars = (
            (total - cached - written) * rates.input
            + cached * rates.cached_input
            + written * rates.cache_write
            + _count(usage.get("output_tokens")) * rates.output
        )
        return dollars / MILLION

    def tool_inputs_price(
        self, options: ImageOptions, final: FinalImage, *, input_images: int = 0
    ) -> float:
        """What the image tool read and showed on the way, in US dollars: its prompt, the
        partial images asked for and `input_images` input images (an edit's)."""
        rates = self.image_models.get(options.image_model) or self._highestimage_rates()
        t = self.image_tokens
        dollars = (
            max(0, options.partial_images) * t.partial_image * rates.image_output
            + prompt_tokens(final) * rates.text_input
            + max(0, input_images) * t.input_image * rates.image_input
        )
        return dollars / MILLION

    def estimate(self, options: ImageOptions, final: FinalImage, *, input_images: int = 0) -> float:
        """The estimated cost of a delivered turn, in US dollars. The quality and size are
        what the image call reports it made, else what was asked."""
        for note in self.notes(image_model=options.image_model, model=options.model):
            log.warning("%s", note)
        image = self.image_price(
            options.image_model, final.quality or options.quality, final.size or options.size
        )
        tool = self.tool_inputs_price(options, final, input_images=input_images)
        return round(image + tool + self.token_price(options.model, final.usage), 6)

    def notes(self, *, image_model: str, model: str, today: str | None = None) -> tuple[str, ...]:
        """What admins should know about these models' prices: unknown ones and, given
        `today` (YYYY-MM-DD), those OpenAI has shut down or will."""
        found: list[str] = []
        for name, known in (
            (image_model, image_model in self.image_models or image_model in self.per_image),
            (model, model in self.tokens),
        ):
            when = self.shutdowns.get(name)
            if today is not None and when is not None:
                found.append(
                    f"{name} {'was shut down' if when <= today else 'shuts down'} on {when}"
                )
            if not known:
                found.append(UNKNOWN.format(name))
        return tuple(dict.fromkeys(found))

    def _highestimage_rates(self) -> ImageRates:
        return ImageRates(**_highest(self.image_models.values(), ImageRates))


def prompt_tokens(final: FinalImage) -> int:
    """An upper bound on the tokens of the prompt the image tool drew from: one per three
    bytes of the revised prompt; without one, what the mainline model wrote (its output
    tokens, reasoning aside)."""
    if final.revised_prompt:
        return math.ceil(len(final.revised_prompt.encode("utf-8")) / 3)
    usage = final.usage or {}
    details = usage.get("output_tokens_details")
    reasoning = _count(details.get("reasoning_tokens")) if isinstance(details, Mapping) else 0
    return max(0, _count(usage.get("output_tokens")) - reasoning)


def _count(value: Any) -> int:
    """A token count from the API's JSON; anything that is not one counts as none."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _highest(rates: Collection[object], kind: Any) -> dict[str, float]:
    """Each of a kind's prices at the highest any of `rates` has (0 when there are none)."""
    return {f.name: max((getattr(r, f.name) for r in rates), default=0.0) for f in fields(kind)}
