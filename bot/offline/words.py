"""The words in an offline picture: the caption bar and the "offline preview" badge."""

from __future__ import annotations

from PIL import Image, ImageDraw, ImageFont

from bot.offline.spec import (
    CAPTION,
    CAPTION_LINES,
    LABEL,
    LINE_SPACING,
    MAX_TEXT_CHARS,
    WHITE,
    Font,
    unit_length,
)


def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _wrap(text: str, font: Font, width: float, max_lines: int) -> tuple[list[str], bool]:
    """Greedy word wrap; over-long words are split. Returns the lines and whether all fit.

    When the text does not fit in `max_lines`, the last line ends in "...".
    """
    lines: list[str] = []
    line = ""
    for word in text[:MAX_TEXT_CHARS].split():
        while font.getlength(word) > width and len(lines) <= max_lines:
            cut = max(1, _fitting(word, font, width))
            if line:
                lines.append(line)
                line = ""
            lines.append(word[:cut])
            word = word[cut:]
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
        if len(lines) > max_lines:
            break
    if line:
        lines.append(line)
    if len(lines) <= max_lines and len(text) <= MAX_TEXT_CHARS:
        return lines, True
    kept = lines[:max_lines]
    last = kept[-1] if kept else ""
    while last and font.getlength(f"{last}...") > width:
        last = last[:-1].rstrip()
    return [*kept[:-1], f"{last}..."], False


def _fitting(word: str, font: Font, width: float) -> int:
    """How many leading characters of `word` fit in `width`."""
    count = 0
    while count < len(word) and font.getlength(word[: count + 1]) <= width:
        count += 1
    return count


def write_words(image: Image.Image, prompt: str) -> None:
    """The prompt, wrapped, white on an opaque dark caption bar of fixed height at the bottom.

    The bar is the same for every prompt at a size, so a reply's caption covers the old one.
    A long prompt is set smaller, and what still does not fit is cut short with "...".
    """
    width, height = image.size
    unit = unit_length(image.size)
    base = max(12, min(width, height) // 22)
    inner_height = round(base * LINE_SPACING * CAPTION_LINES)
    text_width = width - 4 * unit
    for size in (max(8, base * sixths // 6) for sixths in (6, 5, 4, 3)):
        font = _font(size)
        line_height = round(size * LINE_SPACING)
        lines, complete = _wrap(prompt, font, text_width, max(1, inner_height // line_height))
        if complete:
            break
    top = height - 3 * unit - inner_height
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((unit, top, width - unit, height - unit), radius=unit, fill=CAPTION)
    first = top + unit + (inner_height - line_height * len(lines)) // 2
    for number, text in enumerate(lines):
        draw.text((2 * unit, first + number * line_height), text, font=font, fill=WHITE)


def make_badge(size: tuple[int, int]) -> Image.Image:
    """The "offline preview" label: amber text on a near-black rounded badge."""
    font_size = max(10, min(size) // 34)
    font = _font(font_size)
    pad_x, pad_y = font_size // 2, font_size // 3
    left, top, right, bottom = (round(edge) for edge in font.getbbox(LABEL))
    badge = Image.new("RGBA", (right - left + 2 * pad_x, bottom - top + 2 * pad_y), (0, 0, 0, 0))
    draw = ImageDraw.Draw(badge)
    draw.rounded_rectangle(
        (0, 0, badge.width - 1, badge.height - 1), radius=pad_y, fill=(12, 12, 12, 255)
    )
    draw.text((pad_x - left, pad_y - top), LABEL, font=font, fill=(255, 196, 40, 255))
    return badge
