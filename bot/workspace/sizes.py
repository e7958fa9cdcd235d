"""Image sizes: how people name them, the image model's rules for WIDTHxHEIGHT, and a
workspace's policy (which named sizes it allows, and custom ones up to its largest size).

A size is kept as "auto" or "WIDTHxHEIGHT". The rules are OpenAI's for gpt-image-2 (its API
reference for the image_generation tool): both sides multiples of 16, an aspect ratio between
1:3 and 3:1, at least 655,360 pixels, at most 3840x2160 (the long edge at most 3840 and at
most 8,294,400 pixels); sizes above 2560x1440 are experimental. Every GPT image model takes
the standard sizes and auto; only gpt-image-2 and newer take other sizes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

SIZES = ("auto", "1024x1024", "1024x1536", "1536x1024")  # every GPT image model takes these
SIZE_ALIASES = {"square": "1024x1024", "portrait": "1024x1536", "landscape": "1536x1024"}
SHAPES = {v: k for k, v in SIZE_ALIASES.items()}  # "1024x1024" -> "square"
CUSTOM = "custom"  # allowed: any WIDTHxHEIGHT within the rules and the workspace's largest size
ALLOWED_SIZES = (*SIZES, CUSTOM)

STEP = 16
MAX_RATIO = 3
MAX_EDGE = 3840
MAX_PIXELS = 3840 * 2160
MIN_PIXELS = 655_360
LARGEST = "3840x2160"
STABLE = "2560x1440"  # the largest size OpenAI does not call experimental
EXAMPLE = "1536x864"
NAMED = "auto, square, portrait, landscape"

# Suggested where a person picks a size (Discord's autocomplete), each within the rules.
COMMON_SIZES = {
    "1536x864": "16:9",
    "2048x1152": "16:9",
    "2560x1440": "16:9",
    "3840x2160": "16:9, 4K",
    "864x1536": "9:16",
    "1152x2048": "9:16",
    "1440x2560": "9:16",
    "2160x3840": "9:16, 4K",
    "1536x1536": "square",
    "1920x1920": "square",
    "2048x2048": "square",
    "2880x2880": "square",
    "2048x1536": "4:3",
    "1536x2048": "3:4",
    "2304x1536": "3:2",
    "1536x2304": "2:3",
    "2048x1024": "2:1",
    "1024x2048": "1:2",
    "2304x768": "3:1",
    "768x2304": "1:3",
}

_WXH = re.compile(r"(\d{1,5})\s*[x×]\s*(\d{1,5})")
_IMAGE_MODEL = re.compile(r"gpt-image-(\d+)")


def parse_size(text: str) -> str:
    """A size as people write it (auto, a shape, WIDTHxHEIGHT) as easel keeps it; ValueError
    with words that say what a size is. The image model's rules are not checked here."""
    word = text.strip().lower()
    if word in SIZES:
        return word
    if word in SIZE_ALIASES:
        return SIZE_ALIASES[word]
    match = _WXH.fullmatch(word)
    if match is None or int(match[1]) == 0 or int(match[2]) == 0:
        raise ValueError(
            f"{text.strip()!r} is not a size: write {NAMED}, or WIDTHxHEIGHT such as {EXAMPLE}"
        )
    return f"{int(match[1])}x{int(match[2])}"


def dimensions(size: str) -> tuple[int, int] | None:
    """(width, height) of a WIDTHxHEIGHT size; None for auto or anything else."""
    match = _WXH.fullmatch(size)
    return (int(match[1]), int(match[2])) if match is not None else None


def size_name(size: str) -> str:
    """A size as people name it: its shape when it has one."""
    return SHAPES.get(size, size)


def takes_custom_sizes(image_model: str) -> bool:
    """Whether the image model takes WIDTHxHEIGHT beyond the standard sizes (gpt-image-2 and
    newer GPT image models do)."""
    match = _IMAGE_MODEL.search(image_model.lower())
    return match is not None and int(match[1]) >= 2


def size_problem(size: str, image_model: str) -> str | None:
    """Why `image_model` cannot draw `size` (auto or WIDTHxHEIGHT), naming each broken rule;
    None when it can."""
    if size in SIZES:
        return None
    if dimensions(size) is None:
        return f"{size} is not a size: write {NAMED}, or WIDTHxHEIGHT such as {EXAMPLE}"
    if not takes_custom_sizes(image_model):
        return (
            f"{size} is not a size {image_model} takes: it takes only the standard sizes "
            "(square, portrait, landscape) and auto"
        )
    return custom_size_problem(size)


def custom_size_problem(size: str) -> str | None:
    """Every rule of gpt-image-2 (and newer) that the WIDTHxHEIGHT `size` breaks, in words;
    None when it breaks none."""
    found = dimensions(size)
    if found is None:
        return f"{size} is not WIDTHxHEIGHT, such as {EXAMPLE}"
    width, height = found
    problems: list[str] = []
    if width > MAX_RATIO * height:
        problems.append(f"{size} is wider than 3:1")
    elif height > MAX_RATIO * width:
        problems.append(f"{size} is taller than 1:3")
    if max(width, height) > MAX_EDGE:
        problems.append(f"{size} is larger than {LARGEST}: its long edge may be at most {MAX_EDGE}")
    elif width * height > MAX_PIXELS:
        problems.append(f"{size} is larger than {LARGEST}: at most {MAX_PIXELS:,} pixels")
    elif width * height < MIN_PIXELS:
        problems.append(f"{size} has fewer than {MIN_PIXELS:,} pixels (1024x640 is the smallest)")
    if width % STEP or height % STEP:
        near = f"{_step(width)}x{_step(height)}"
        problems.append(f"{size}: width and height must be multiples of {STEP} (such as {near})")
    return "; ".join(problems) or None


def _step(side: int) -> int:
    return max(STEP, (side + STEP // 2) // STEP * STEP)


def within(size: str, cap: str) -> bool:
    """Whether `size` is no larger than `cap`, by pixels and by long edge (either way up)."""
    found, limit = dimensions(size), dimensions(cap)
    if found is None or limit is None:
        return False
    return found[0] * found[1] <= limit[0] * limit[1] and max(found) <= max(limit)


def is_experimental(size: str) -> bool:
    """Whether OpenAI calls this size experimental (larger than 2560x1440)."""
    return dimensions(size) is not None and not within(size, STABLE)


@dataclass(frozen=True, slots=True)
class SizePolicy:
    """A workspace's sizes: the named ones it allows, and (when `custom` is among them) any
    WIDTHxHEIGHT the image model takes up to `largest`."""

    allowed: tuple[str, ...]
    largest: str
    image_model: str

    def refusal(self, size: str) -> str | None:
        """Why `size` (auto or WIDTHxHEIGHT) may not be drawn here, in words; None if it may."""
        if problem := size_problem(size, self.image_model):
            return problem
        if size in self.allowed:
            return None
        if CUSTOM in self.allowed and size != "auto":
            if within(size, self.largest):
                return None
            raise_to = "" if self.largest == LARGEST else f" (an admin can raise it to {LARGEST})"
            return f"{size} is larger than this workspace's largest size, {self.largest}{raise_to}"
        return f"{size_name(size)} is not among the allowed sizes"

    def describe(self) -> str:
        """The allowed sizes as people read them: "auto, square, custom up to 2560x1440"."""
        named = [size_name(s) for s in self.allowed if s != CUSTOM]
        if CUSTOM in self.allowed:
            custom = f"custom up to {self.largest}"
            if not takes_custom_sizes(self.image_model):
                custom += f" (not with {self.image_model}, which takes only the standard sizes)"
            elif is_experimental(self.largest):
                custom += f" (experimental above {STABLE})"
            named.append(custom)
        return ", ".join(named)

    def suggestions(self, typed: str, *, limit: int = 25) -> list[tuple[str, str]]:
        """Sizes to offer a person who has typed `typed`, as (label, value): what they typed
        (or why it cannot be), the named sizes allowed, the largest and common sizes within
        it. Filtered by what was typed."""
        offered: dict[str, str] = {}  # value -> label
        typed_size = _typed(typed)
        problem = self.refusal(typed_size) if typed_size is not None else None
        if typed_size is not None and (problem or typed_size not in SIZES):
            offered[typed_size] = problem or f"{typed_size} (as typed)"
        for size in SIZES:
            if size in self.allowed or (size != "auto" and self._custom_within(size)):
                offered.setdefault(size, size if size == "auto" else f"{SHAPES[size]} ({size})")
        if self._custom_within(self.largest):
            offered.setdefault(self.largest, f"{self.largest} (the largest allowed here)")
        for size, shape in COMMON_SIZES.items():
            if self._custom_within(size):
                offered.setdefault(size, f"{size} ({shape})")
        needle = typed.strip().lower()
        found = [
            (label[:100], value)
            for value, label in offered.items()
            if value == typed_size or needle in label.lower()
        ]
        return found[:limit]

    def bigger(self, size: str) -> str | None:
        """The largest size allowed here in the shape of `size` (a drawn WIDTHxHEIGHT), when
        it is larger; None when nothing larger is allowed. Custom sizes keep the aspect ratio
        (to within a multiple of 16); standard sizes keep the orientation."""
        found = dimensions(size)
        if found is None:
            return None
        width, height = found
        candidates = [s for s in SIZES if s in self.allowed and _same_shape(s, width, height)]
        cap = dimensions(self.largest)
        if cap is not None and CUSTOM in self.allowed and takes_custom_sizes(self.image_model):
            scale = min(math.sqrt(cap[0] * cap[1] / (width * height)), max(cap) / max(found))
            scaled = f"{int(width * scale) // STEP * STEP}x{int(height * scale) // STEP * STEP}"
            if custom_size_problem(scaled) is None and within(scaled, self.largest):
                candidates.append(scaled)
        best = max(candidates, key=_pixels, default=None)
        return best if best is not None and _pixels(best) > width * height else None

    def _custom_within(self, size: str) -> bool:
        return (
            CUSTOM in self.allowed
            and takes_custom_sizes(self.image_model)
            and within(size, self.largest)
        )


def _pixels(size: str) -> int:
    found = dimensions(size)
    return found[0] * found[1] if found is not None else 0


def _same_shape(size: str, width: int, height: int) -> bool:
    """Whether the standard `size` is landscape, portrait or square as width x height is."""
    found = dimensions(size)
    return found is not None and (found[0] > found[1]) - (found[0] < found[1]) == (
        (width > height) - (width < height)
    )


def _typed(text: str) -> str | None:
    """What a person has typed so far, read as a size when it reads as one."""
    try:
        return parse_size(text) if text.strip() else None
    except ValueError:
        return None
