"""The image options the image service accepts, and fitting them to a platform's file limit.
Sizes and their rules are in bot.workspace.sizes."""

from __future__ import annotations

from dataclasses import replace

from bot.models import ImageOptions
from bot.workspace.sizes import SIZES, dimensions, size_problem

QUALITIES = ("auto", "low", "medium", "high")
FORMATS = ("png", "jpeg", "webp")
BACKGROUNDS = ("auto", "opaque", "transparent")
MODERATIONS = ("auto", "low")
FIDELITIES = ("low", "high")


def validate_options(options: ImageOptions) -> list[str]:
    """Every reason these options cannot be sent, each naming the field; empty when fine."""
    problems: list[str] = []
    if problem := size_problem(options.size, options.image_model):
        problems.append(f"size {problem}")
    for name, value, allowed in (
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


# "auto" may come back as any standard size: it is counted as the largest of them.
_AUTO_PIXELS = max(w * h for w, h in filter(None, map(dimensions, SIZES)))


def worst_case_bytes(options: ImageOptions) -> int:
    """An upper bound on the file the image service returns for these options, from the
    size's pixels: a PNG at 4 bytes a pixel (RGBA) plus headers."""
    found = dimensions(options.size)
    pixels = found[0] * found[1] if found is not None else _AUTO_PIXELS
    if options.output_format == "png":
        return pixels * 4 + 65_536
    return pixels * 3 // 2  # jpeg/webp at the highest quality stay well under this


def fit_upload_limit(options: ImageOptions, limit: int | None) -> ImageOptions:
    """Options whose file should fit `limit` bytes: WebP when the format asked for could not.
    (A file that still comes back too large, a 4K one, is re-encoded by the adapter.)"""
    if limit is None or worst_case_bytes(options) <= limit:
        return options
    return replace(options, output_format="webp", compression=options.compression or 90)
