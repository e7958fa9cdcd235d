"""Fitting the image easel asks for into the file size a platform takes."""

from __future__ import annotations

from dataclasses import replace

from bot.models import ImageOptions

# The largest an image of each size can be as a PNG: 4 bytes a pixel (RGBA) plus headers.
_PIXELS = {"1024x1024": 1024 * 1024, "1024x1536": 1024 * 1536, "1536x1024": 1536 * 1024}
_WORST_PIXELS = max(_PIXELS.values())


def worst_case_bytes(options: ImageOptions) -> int:
    """An upper bound on the file the image service returns for these options."""
    pixels = _PIXELS.get(options.size, _WORST_PIXELS)
    if options.output_format == "png":
        return pixels * 4 + 65_536
    return pixels * 3 // 2  # jpeg/webp at the highest quality stay well under this


def fit_upload_limit(options: ImageOptions, limit: int | None) -> ImageOptions:
    """Options whose worst-case file fits `limit` bytes: PNG becomes WebP when it could not."""
    if limit is None or worst_case_bytes(options) <= limit:
        return options
    return replace(options, output_format="webp", compression=options.compression or 90)
