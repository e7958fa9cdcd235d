"""The image options the image service accepts, and fitting them to a platform's file limit."""

from __future__ import annotations

from dataclasses import replace

from bot.models import ImageOptions

SIZES = ("auto", "1024x1024", "1024x1536", "1536x1024")
SIZE_ALIASES = {"square": "1024x1024", "portrait": "1024x1536", "landscape": "1536x1024"}
SHAPES = {v: k for k, v in SIZE_ALIASES.items()}  # "1024x1024" -> "square"
QUALITIES = ("auto", "low", "medium", "high")
FORMATS = ("png", "jpeg", "webp")
BACKGROUNDS = ("auto", "opaque", "transparent")
MODERATIONS = ("auto", "low")
FIDELITIES = ("low", "high")


def validate_options(options: ImageOptions) -> list[str]:
    """Every reason these options cannot be sent, each naming the field; empty when fine."""
    problems: list[str] = []
    for name, value, allowed in (
        ("size", options.size, SIZES),
        ("quality", options.quality, QUALITIES),
        ("output format", options.output_format, FORMATS),
        ("background", options.background, BACKGROUNDS),
        ("moderation", options.moderation, MODERATIONS),
        ("input fidelity", options.input_fidelity, (None, *FIDELITIES)),
    ):
        if value not in allowed:
            named = ", ".join(a for a in allowed if a is not None)
            problems.append(f"{name} must be one of {named}, not {value!r}")
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
