"""Region edits: a PNG mask beside the image, whose transparent pixels mark what to change.

A reply carries a mask when one of its PNGs is named `mask.png` (or ends in `-mask.png` or
`_mask.png`), or when its text begins with `mask:` (then its last PNG is the mask). The mask
is checked before anything is paid: the same size as the image it marks, and at least one
transparent pixel.
"""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Sequence
from dataclasses import replace

from PIL import Image

from bot.errors import AttachmentRejected, BadInput
from bot.models import InputImage

PREFIX = "mask:"
_NAMED = re.compile(r"(?:^|.*[-_])mask\.png", re.IGNORECASE)
NEEDS_IMAGE = (
    "A mask marks a region of an image: attach the image beside it, or reply with the mask "
    "in a drawing's thread to change its last image."
)


def is_mask_name(name: str) -> bool:
    return _NAMED.fullmatch(name) is not None


def split_mask(
    images: Sequence[InputImage], prompt: str
) -> tuple[tuple[InputImage, ...], InputImage | None, str]:
    """(the images, the mask or None, the prompt without a leading `mask:`)."""
    said = prompt.lstrip().lower().startswith(PREFIX)
    if said:
        prompt = prompt.lstrip()[len(PREFIX) :].strip()
        if not prompt:
            raise BadInput("Say what to change in the masked region after mask:")
    named = [image for image in images if is_mask_name(image.name)]
    if len(named) > 1:
        names = ", ".join(image.name for image in named)
        raise AttachmentRejected(f"Attach one mask, not {len(named)} ({names}).")
    mask = named[0] if named else None
    if mask is None and said:
        pngs = [image for image in images if image.mime_type == "image/png"]
        if not pngs:
            raise AttachmentRejected(
                "The reply begins with mask: but has no PNG attached to be the mask."
            )
        mask = pngs[-1]
    if mask is None:
        return tuple(images), None, prompt
    rest = tuple(image for image in images if image is not mask)
    return rest, replace(mask, mask=True), prompt


def _check(mask: InputImage, image: InputImage) -> None:
    with Image.open(io.BytesIO(image.data)) as opened:
        wanted = opened.size
    with Image.open(io.BytesIO(mask.data)) as opened:
        if opened.format != "PNG":
            raise AttachmentRejected(f"The mask {mask.name} must be a PNG with transparency.")
        if opened.size != wanted:
            size, need = "x".join(map(str, opened.size)), "x".join(map(str, wanted))
            raise AttachmentRejected(
                f"The mask {mask.name} is {size}, but the image it marks is {need}: they "
                "must be the same size."
            )
        alpha = opened.convert("RGBA").getchannel("A") if opened.mode != "RGBA" else None
        lowest = (alpha or opened.getchannel("A")).getextrema()[0]
    if lowest != 0:
        raise AttachmentRejected(
            f"The mask {mask.name} has no transparent pixel: make the region to change "
            "transparent, and leave the rest opaque."
        )


async def check_mask(mask: InputImage, image: InputImage) -> None:
    """AttachmentRejected, in words, unless `mask` can mark a region of `image` (decoded off
    the event loop)."""
    await asyncio.to_thread(_check, mask, image)
