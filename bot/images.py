"""Checks on images people attach: decoded once, so only real images reach the model."""

from __future__ import annotations

import asyncio
import io
import re
from dataclasses import replace

from PIL import Image

from bot.errors import AttachmentRejected
from bot.models import InputImage, Preview

MAX_INPUT_BYTES = 20 * 1024 * 1024
# Pillow refuses outright above ~179 Mpx; an input for the image model never needs this many.
MAX_INPUT_PIXELS = 50_000_000
ALLOWED_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",  # what Pillow calls a phone camera's multi-picture JPEG
    "WEBP": "image/webp",
    "GIF": "image/gif",
}
READABLE = "PNG, JPEG, WebP or GIF"
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")  # in Pillow's DecompressionBombError


def _too_many_pixels(name: str, size: str) -> AttachmentRejected:
    return AttachmentRejected(
        f"{name} is {size} pixels; easel takes images up to "
        f"{MAX_INPUT_PIXELS // 1_000_000} megapixels."
    )


def empty_file(name: str) -> AttachmentRejected:
    return AttachmentRejected(f"{name} is empty, so easel cannot use it.")


def _verify(data: bytes, name: str) -> InputImage:
    if not data:
        raise empty_file(name)
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            width, height = image.size
            if width * height > MAX_INPUT_PIXELS:
                raise _too_many_pixels(name, f"{width}x{height}")
            # A multi-picture JPEG (MPO) counts its depth map as a frame; that is a still photo.
            if fmt != "MPO" and getattr(image, "is_animated", False):
                raise AttachmentRejected(
                    f"{name} is animated; easel takes still images ({READABLE})."
                )
            image.load()  # decode every pixel once: a truncated or fake file fails here
    except Image.DecompressionBombError as exc:
        # Pillow will not open it at all, and says only how many pixels it would have.
        found = _BOMB_PIXELS.search(str(exc))
        if found is None:
            raise AttachmentRejected(
                f"{name} has more pixels than easel can open; easel takes images up to "
                f"{MAX_INPUT_PIXELS // 1_000_000} megapixels."
            ) from exc
        raise _too_many_pixels(name, f"{int(found[1]):,}") from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise AttachmentRejected(
            f"{name} is not an image easel can read ({READABLE}).", detail=str(exc)
        ) from exc
    mime_type = ALLOWED_FORMATS.get(fmt)
    if mime_type is None:
        raise AttachmentRejected(f"{name} is a {fmt or 'unknown'} file; easel takes {READABLE}.")
    return InputImage(data=data, mime_type=mime_type, name=name)


def pixel_size(data: bytes) -> str | None:
    """WIDTHxHEIGHT of an image, read from its header only; None when it cannot be read."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return f"{image.width}x{image.height}"
    except (OSError, ValueError):
        return None


async def verify_image(data: bytes, *, name: str) -> InputImage:
    """Decode the bytes once (off the event loop) and return them as a verified InputImage."""
    return await asyncio.to_thread(_verify, data, name)


# -- previews: shown small, never at full resolution ------------------------------------------

PREVIEW_LONGEST = 768  # pixels on a preview's long side; a chat shows it smaller still
_ENCODERS = {"jpeg": ("JPEG", {"quality": 80}), "webp": ("WEBP", {"quality": 75, "method": 2})}


def _lighten(data: bytes, fmt: str, longest: int) -> bytes:
    name, options = _ENCODERS[fmt]
    with Image.open(io.BytesIO(data)) as source:
        source.draft("RGB", (longest, longest))  # a JPEG decodes at a fraction of its size
        source.thumbnail((longest, longest), Image.Resampling.BILINEAR)
        small: Image.Image = source
        if fmt == "jpeg" and source.mode != "RGB":
            small = Image.new("RGB", source.size, "white")  # JPEG has no alpha: on white
            alpha = source.getchannel("A") if "A" in source.getbands() else None
            small.paste(source.convert("RGB"), mask=alpha)
        buffer = io.BytesIO()
        small.save(buffer, format=name, **options)
    return buffer.getvalue()


async def light_preview(preview: Preview, *, fmt: str, longest: int = PREVIEW_LONGEST) -> Preview:
    """The preview downscaled (long side at most `longest`) and encoded small as `fmt` (jpeg or
    webp), off the event loop. The final image never goes through here."""
    data = await asyncio.to_thread(_lighten, preview.data, fmt, longest)
    return replace(preview, data=data, output_format=fmt)
