"""The offline pictures: shapes and colours from the prompt, previews, encoding (in threads)."""

from __future__ import annotations

import colorsys
import hashlib
import io
import zlib
from dataclasses import dataclass
from typing import Any

from PIL import Image, ImageDraw, ImageOps

from bot import errors
from bot.offline.spec import BLUR_FROM, BLUR_SPAN, FORMATS, RGB, Spec, unit_length
from bot.offline.words import make_badge, write_words


class _Dice:
    """A deterministic stream of numbers from a seed: SHA-256 in counter mode."""

    def __init__(self, seed: bytes) -> None:
        self._seed = seed
        self._counter = 0
        self._pool = b""

    def _byte(self) -> int:
        if not self._pool:
            self._pool = hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        value, self._pool = self._pool[0], self._pool[1:]
        return value

    def unit(self) -> float:
        """A number in [0, 1) with 16 bits of resolution."""
        return (self._byte() << 8 | self._byte()) / 65536

    def between(self, low: float, high: float) -> float:
        return low + (high - low) * self.unit()

    def whole(self, low: int, high: int) -> int:
        """A whole number from low to high, both included."""
        return low + int(self.unit() * (high - low + 1))

    def colour(
        self,
        *,
        hue: float | None = None,
        sat: tuple[float, float] = (0.45, 0.9),
        value: tuple[float, float] = (0.55, 0.95),
    ) -> RGB:
        h = self.unit() if hue is None else hue % 1.0
        r, g, b = colorsys.hsv_to_rgb(h, self.between(*sat), self.between(*value))
        return (round(r * 255), round(g * 255), round(b * 255))


def _dice(prompt: str, purpose: str) -> _Dice:
    digest = hashlib.sha256(prompt.encode("utf-8", "surrogatepass")).digest()
    return _Dice(digest + purpose.encode("ascii"))


@dataclass(frozen=True, slots=True)
class Picture:
    """The finished RGBA picture, and the badge kept apart so previews can show it crisp."""

    image: Image.Image
    badge: Image.Image
    badge_at: tuple[int, int]


def draw(prompt: str, spec: Spec, start: bytes | None, mask: bytes | None = None) -> Picture:
    """The final picture: fresh from the prompt, or `start` (encoded) changed by it; with a
    `mask`, changed only where the mask is transparent."""
    if start is None:
        image = _compose(prompt, spec)
    else:
        base = fit(decode(start, spec.size), spec.size)
        image = _edit(base, prompt, spec)
        if mask is not None:
            keep = fit(decode(mask, spec.size), spec.size).getchannel("A")
            image = Image.composite(base, image, keep)
    write_words(image, prompt)
    badge = make_badge(spec.size)
    margin = unit_length(spec.size)
    image.alpha_composite(badge, (margin, margin))
    return Picture(image=image, badge=badge, badge_at=(margin, margin))


def _background(prompt: str, size: tuple[int, int]) -> Image.Image:
    """A smooth mesh gradient: a 3x3 grid of related colours, scaled up bicubically."""
    dice = _dice(prompt, "background")
    hue = dice.unit()
    grid = Image.new("RGB", (3, 3))
    for y in range(3):
        for x in range(3):
            shift = dice.between(-0.12, 0.12) + (0.5 if dice.unit() < 0.2 else 0.0)
            grid.putpixel((x, y), dice.colour(hue=hue + shift, sat=(0.35, 0.8)))
    return grid.resize(size, Image.Resampling.BICUBIC).convert("RGBA")


def _shapes(
    prompt: str, size: tuple[int, int], *, count: tuple[int, int], alpha: int
) -> Image.Image:
    """A transparent layer of circles, rounded rectangles and polygons placed by the prompt."""
    dice = _dice(prompt, f"shapes{count}")
    width, height = size
    short = min(size)
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    hue = dice.unit()
    outline_width = max(1, short // 170)
    for _ in range(dice.whole(*count)):
        fill = (*dice.colour(hue=hue + dice.between(-0.3, 0.3)), alpha)
        outline = (*(channel // 3 for channel in fill[:3]), min(255, alpha + 40))
        radius = dice.between(0.07, 0.2) * short
        # Keep the middle of every shape inside the picture and above the caption bar.
        cx = dice.between(radius * 0.6, width - radius * 0.6)
        cy = dice.between(radius * 0.6, height * 0.72)
        kind = dice.whole(0, 2)
        if kind == 0:
            squash = dice.between(0.6, 1.0)
            box = (cx - radius, cy - radius * squash, cx + radius, cy + radius * squash)
            draw.ellipse(box, fill=fill, outline=outline, width=outline_width)
        elif kind == 1:
            aspect = dice.between(0.5, 1.6)
            half_w, half_h = radius * aspect, radius / aspect
            box = (cx - half_w, cy - half_h, cx + half_w, cy + half_h)
            draw.rounded_rectangle(
                box, radius=radius * 0.15, fill=fill, outline=outline, width=outline_width
            )
        else:
            draw.regular_polygon(
                (cx, cy, radius),
                n_sides=dice.whole(3, 6),
                rotation=dice.between(0, 360),
                fill=fill,
                outline=outline,
                width=outline_width,
            )
    return layer


def _compose(prompt: str, spec: Spec) -> Image.Image:
    """A fresh picture: the prompt's gradient (or nothing, when transparent) and shapes."""
    if spec.transparent:
        # Solid shapes on nothing, like stickers; the caption and badge are added later.
        image = Image.new("RGBA", spec.size, (0, 0, 0, 0))
        image.alpha_composite(_shapes(prompt, spec.size, count=(4, 7), alpha=255))
        return image
    image = _background(prompt, spec.size)
    image.alpha_composite(_shapes(prompt, spec.size, count=(4, 7), alpha=225))
    return image


def _edit(base: Image.Image, prompt: str, spec: Spec) -> Image.Image:
    """The earlier picture, recognisably, tinted and overlaid by the new prompt."""
    if not spec.transparent and _has_see_through(base):
        # The output is opaque but the start is not: lay it on the new prompt's background.
        backdrop = _background(prompt, spec.size)
        backdrop.alpha_composite(base)
        base = backdrop
    dice = _dice(prompt, "tint")
    tint = Image.new("RGBA", spec.size, (*dice.colour(), 255))
    tinted = Image.blend(base, tint, 0.22)
    tinted.putalpha(base.getchannel("A"))
    tinted.alpha_composite(_shapes(prompt, spec.size, count=(2, 3), alpha=170))
    return tinted


def _has_see_through(image: Image.Image) -> bool:
    """True when some pixel of an RGBA image is not fully opaque."""
    lowest, _ = image.getchannel("A").getextrema()
    return isinstance(lowest, (int, float)) and lowest < 255


def decode(data: bytes, size: tuple[int, int]) -> Image.Image:
    """The image to start from, upright, as RGBA. A big JPEG is decoded at a reduced scale."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", size)  # JPEG only: no smaller than `size`, often much faster
            image = ImageOps.exif_transpose(opened)
            return image.convert("RGBA")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise errors.BadInput(
            "The offline backend could not read the image to start from.", detail=str(exc)
        ) from exc


def fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Scale and centre-crop to exactly `size`, like ImageOps.fit, but reducing big images fast."""
    if image.size == size:
        return image
    width, height = image.size
    target = size[0] / size[1]
    if width / height > target:
        crop_w, crop_h = height * target, float(height)
    else:
        crop_w, crop_h = float(width), width / target
    left, top = (width - crop_w) / 2, (height - crop_h) / 2
    box = (left, top, left + crop_w, top + crop_h)
    return image.resize(size, Image.Resampling.BICUBIC, box=box, reducing_gap=3.0)


def preview_bytes(picture: Picture, spec: Spec, progress: float) -> bytes:
    """The picture seen through a blur that lifts as `progress` goes from 0 towards 1."""
    scale = 2.0 ** (BLUR_FROM + BLUR_SPAN * progress)
    width, height = spec.size
    small = (max(2, round(width * scale)), max(2, round(height * scale)))
    blurred = picture.image.resize(small, Image.Resampling.BOX, reducing_gap=2.0).resize(
        spec.size, Image.Resampling.BICUBIC
    )
    blurred.alpha_composite(picture.badge, picture.badge_at)
    return encode(blurred, spec, fast=True)


def encode(image: Image.Image, spec: Spec, *, fast: bool = False) -> bytes:
    """Encode in the requested format; `fast` trades file size for speed (previews)."""
    if not spec.transparent:
        image = image.convert("RGB")
    params: dict[str, Any]
    if spec.output_format == "png":
        # Z_RLE suits a smooth, blurred frame: smaller than level 1 makes it, and as fast.
        params = {"compress_type": zlib.Z_RLE} if fast else {"compress_level": 3}
    elif spec.output_format == "jpeg":
        params = {"quality": spec.quality}
    elif fast:
        # A blurred frame's soft alpha is slow to encode exactly, and nobody keeps a preview.
        params = {"quality": spec.quality, "method": 0, "alpha_quality": 50}
    else:
        params = {"quality": spec.quality, "method": 2}
    buffer = io.BytesIO()
    image.save(buffer, FORMATS[spec.output_format], **params)
    return buffer.getvalue()
