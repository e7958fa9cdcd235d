"""Checks on images people attach: decoded once, so only real images reach the model."""

from __future__ import annotations

import asyncio
import io
import warnings

from PIL import Image

from bot.errors import AttachmentRejected
from bot.models import InputImage

MAX_INPUT_BYTES = 20 * 1024 * 1024
# Pillow's own bomb guard is ~179 Mpx; an input for the image model never needs more than this.
MAX_INPUT_PIXELS = 50_000_000
ALLOWED_FORMATS = {
    "PNG": "image/png",
    "JPEG": "image/jpeg",
    "WEBP": "image/webp",
    "GIF": "image/gif",
}


def _verify(data: bytes, name: str) -> InputImage:
    if not data:
        raise AttachmentRejected(f"{name} is empty, so easel cannot use it.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format or ""
                width, height = image.size
                if width * height > MAX_INPUT_PIXELS:
                    raise AttachmentRejected(
                        f"{name} is {width}x{height} pixels; easel takes images up to "
                        f"{MAX_INPUT_PIXELS // 1_000_000} megapixels."
                    )
                image.load()  # decode every pixel once: a truncated or fake file fails here
    except AttachmentRejected:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Warning) as exc:
        raise AttachmentRejected(
            f"{name} is not an image easel can read (PNG, JPEG, WebP or GIF).", detail=str(exc)
        ) from exc
    mime_type = ALLOWED_FORMATS.get(fmt)
    if mime_type is None:
        raise AttachmentRejected(
            f"{name} is a {fmt or 'unknown'} file; easel takes PNG, JPEG, WebP or GIF."
        )
    return InputImage(data=data, mime_type=mime_type, name=name)


async def verify_image(data: bytes, *, name: str) -> InputImage:
    """Decode the bytes once (off the event loop) and return them as a verified InputImage."""
    return await asyncio.to_thread(_verify, data, name)
