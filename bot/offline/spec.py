"""What to draw and how to encode it: sizes, formats and quality, resolved once."""

from __future__ import annotations

import re
from dataclasses import dataclass

from PIL import ImageFont

from bot import errors
from bot.models import ImageOptions

LABEL = "offline preview"
DEFAULT_SIZE = (1024, 1024)
MIN_SIDE = 64
MAX_SIDE = 4096
DEFAULT_QUALITY = 90  # jpeg/webp quality when `compression` is not set
_SIZE = re.compile(r"^\s*(\d{1,5})\s*[xX×]\s*(\d{1,5})\s*$")
FORMATS = {"png": "PNG", "jpeg": "JPEG", "webp": "WEBP"}
CAPTION_LINES = 3  # the caption bar holds this many lines at its largest type size
LINE_SPACING = 1.25
MAX_TEXT_CHARS = 4000  # more than the caption holds at any size; the rest is never drawn
CAPTION = (16, 18, 24, 255)
WHITE = (255, 255, 255, 255)
# Previews are the picture seen through a blur that lifts: at frame t (0 < t < 1) it is drawn
# at 2 ** (BLUR_FROM + BLUR_SPAN * t) of its resolution and scaled back up.
BLUR_FROM = -7.0
BLUR_SPAN = 5.0

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
RGB = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class Spec:
    """What to draw and how to encode it, resolved once from ImageOptions."""

    width: int
    height: int
    output_format: str
    transparent: bool
    quality: int

    @property
    def size(self) -> tuple[int, int]:
        return (self.width, self.height)

    @classmethod
    def from_options(cls, options: ImageOptions) -> Spec:
        output_format = options.output_format.lower()
        if output_format not in FORMATS:
            raise errors.GenerationFailed(
                f"The offline backend draws png, jpeg or webp, not {options.output_format!r}.",
                detail=f"output_format={options.output_format!r}",
            )
        width, height = parse_size(options.size)
        quality = DEFAULT_QUALITY if options.compression is None else options.compression
        return cls(
            width=width,
            height=height,
            output_format=output_format,
            # JPEG has no alpha channel: a transparent request falls back to opaque there.
            transparent=options.background == "transparent" and output_format != "jpeg",
            quality=min(100, max(0, quality)),
        )


def parse_size(size: str) -> tuple[int, int]:
    """`auto` is 1024x1024; otherwise any "WxH" with both sides between 64 and 4096."""
    if size.strip().lower() == "auto":
        return DEFAULT_SIZE
    match = _SIZE.match(size)
    if match is not None:
        width, height = int(match[1]), int(match[2])
        if MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE:
            return width, height
    raise errors.GenerationFailed(
        f"The offline backend cannot draw at size {size!r}; use auto or WxH, "
        f"each side {MIN_SIDE} to {MAX_SIDE} pixels.",
        detail=f"size={size!r}",
    )


# --- drawing (runs in worker threads) ------------------------------------------------------


def unit_length(size: tuple[int, int]) -> int:
    """A length that scales with the picture: 1/40 of its shorter side."""
    return max(2, min(size) // 40)
