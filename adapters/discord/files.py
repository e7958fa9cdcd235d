"""Images people attach on Discord, and fitting easel's image into Discord's upload limit."""

from __future__ import annotations

import asyncio
import io
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit

import httpx2
from PIL import Image

from adapters.downloads import FileHosts, check_count, check_size, download
from adapters.failures import DEFAULT_TIMEOUT
from bot.errors import AttachmentRejected
from bot.images import READABLE, verify_image
from bot.models import InputImage

log = logging.getLogger(__name__)


class AttachmentLike(Protocol):
    """What easel reads of an attachment: a discord.Attachment, or one kept for a retry."""

    @property
    def filename(self) -> str: ...
    @property
    def content_type(self) -> str | None: ...
    @property
    def size(self) -> int: ...
    @property
    def url(self) -> str: ...


@dataclass(frozen=True, slots=True)
class KeptAttachment:
    """An attachment as the ledger keeps it, to fetch again when a turn is retried."""

    filename: str
    content_type: str | None
    size: int
    url: str

    @classmethod
    def of(cls, attachment: AttachmentLike) -> KeptAttachment:
        a = attachment
        return cls(filename=a.filename, content_type=a.content_type, size=a.size, url=a.url)


DISCORD_CDN_HOSTS = frozenset({"cdn.discordapp.com", "media.discordapp.net"})


class DiscordFiles:
    """Downloads attachments only from Discord's CDN, size-checked before a byte is read."""

    def __init__(
        self, *, http: httpx2.AsyncClient, api_url: str | None, silence: float = DEFAULT_TIMEOUT
    ) -> None:
        self._http = http
        self._silence = silence
        self._hosts = FileHosts(DISCORD_CDN_HOSTS, api_url=api_url)

    def check(self, attachment: AttachmentLike) -> str:
        """The URL to fetch, after every check that can be made before downloading."""
        name = attachment.filename
        if not (attachment.content_type or "").startswith("image/"):
            raise AttachmentRejected(f"{name} is not an image; easel takes {READABLE}.")
        check_size(name, attachment.size)
        if not self._hosts.allows(attachment.url):
            host = urlsplit(attachment.url).hostname
            log.warning("refused to fetch %s from %s: not Discord's CDN", name, host)
            raise AttachmentRejected(
                f"{name} is not stored on Discord, so easel will not fetch it."
            )
        return attachment.url

    async def fetch(self, attachment: AttachmentLike) -> InputImage:
        url = self.check(attachment)
        name = attachment.filename
        data = await download(self._http, url, name=name, platform="Discord", silence=self._silence)
        return await verify_image(data, name=name)

    def check_all(self, attachments: Sequence[AttachmentLike]) -> None:
        """Every check that can be made before anything is downloaded, or posted."""
        check_count(len(attachments))
        for attachment in attachments:
            self.check(attachment)

    async def fetch_all(self, attachments: Sequence[AttachmentLike]) -> tuple[InputImage, ...]:
        self.check_all(attachments)  # refuse early, before downloading anything
        return tuple([await self.fetch(a) for a in attachments])


@dataclass(frozen=True, slots=True)
class Fitted:
    data: bytes
    output_format: str
    note: str | None  # said in the message when the image had to be re-encoded


# Going from WebP quality 90 to 50 saves at most about this much (measured on noise, which
# saves least): a file further over the limit than this is made smaller instead.
_QUALITY_REACH = 1.6
_ATTEMPTS = 8  # sizes tried; each after the first is chosen from what the last one weighed


def _reencode(data: bytes, limit: int) -> Fitted:
    """The image as WebP under `limit` bytes: the highest quality that fits, and only when
    no quality would, scaled down by as much as the last try says it must be (a 4K final)."""
    with Image.open(io.BytesIO(data)) as source:
        image = source.convert("RGBA" if "A" in source.getbands() else "RGB")
    frame = image
    for _ in range(_ATTEMPTS):
        found, quality, top = _best_quality(frame, limit)
        if found is not None:
            size = f", scaled to {frame.width}x{frame.height}" if frame is not image else ""
            note = f"re-encoded as WebP (quality {quality}{size}) to fit Discord's upload limit"
            return Fitted(found, "webp", note)
        scale = min(0.9, 0.95 * math.sqrt(limit / top))
        width, height = max(1, int(frame.width * scale)), max(1, int(frame.height * scale))
        frame = image.resize((width, height), Image.Resampling.LANCZOS)
    raise ValueError("the image cannot be made small enough")


def _best_quality(frame: Image.Image, limit: int) -> tuple[bytes | None, int, int]:
    """(WebP, its quality) of the highest quality of 90, 80, 65, 50 under `limit`, and what
    quality 90 weighed; no WebP when none fits. Quality 50 is tried second, so a frame that
    no quality fits costs two encodings (one when quality 90 is far over)."""
    top = _webp(frame, 90)
    if len(top) <= limit:
        return top, 90, len(top)
    if len(top) > limit * _QUALITY_REACH or len(low := _webp(frame, 50)) > limit:
        return None, 0, len(top)
    for quality in (80, 65):
        if len(found := _webp(frame, quality)) <= limit:
            return found, quality, len(top)
    return low, 50, len(top)


def _webp(frame: Image.Image, quality: int) -> bytes:
    buffer = io.BytesIO()
    frame.save(buffer, format="WEBP", quality=quality, method=4)
    return buffer.getvalue()


async def fit(data: bytes, output_format: str, limit: int) -> Fitted:
    """The image as it can be uploaded under `limit` bytes (re-encoded off the loop if needed)."""
    if len(data) <= limit:
        return Fitted(data, output_format, None)
    log.info("final image is %d bytes, over the %d-byte limit: re-encoding", len(data), limit)
    return await asyncio.to_thread(_reencode, data, limit)
