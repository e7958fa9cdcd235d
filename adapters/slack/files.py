"""Slack file operations easel needs: upload into a thread, wait until processed, fetch back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx2
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.downloads import FileHosts, check_count, check_size, download
from bot.errors import AttachmentRejected

log = logging.getLogger(__name__)

SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
# files.info polls until the file is processed and shared: short first, then backing off.
PROCESSING_DELAYS = (0.1, 0.2, 0.3, 0.5, 0.5, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 5.0)
# A preview that is not processed quickly is not worth waiting for: the next frame is coming.
PREVIEW_PROCESSING_DELAYS = PROCESSING_DELAYS[:6]


def is_processed(file: dict[str, Any], channel: str) -> bool:
    """Slack fills in mimetype and the channel share once processing is done."""
    if not file.get("mimetype"):
        return False
    shares = file.get("shares") or {}
    return any(channel in shares.get(kind, {}) for kind in ("public", "private"))


async def upload(
    client: AsyncWebClient,
    *,
    data: bytes,
    filename: str,
    channel: str,
    thread_ts: str,
    title: str | None = None,
    comment: str | None = None,
) -> str:
    """Upload into the channel's thread, so every member can see it; return the file id."""
    response = await client.files_upload_v2(
        file=data,
        filename=filename,
        title=title or filename,
        channel=channel,
        thread_ts=thread_ts,
        initial_comment=comment,
    )
    file_id: str = response["file"]["id"]
    return file_id


async def wait_processed(
    client: AsyncWebClient,
    *,
    file_id: str,
    channel: str,
    delays: Sequence[float] = PROCESSING_DELAYS,
) -> bool:
    """Poll files.info until Slack has processed the file; False if it never did in time."""
    for delay in (0.0, *delays):
        if delay:
            await asyncio.sleep(delay)
        try:
            response = await client.files_info(file=file_id)
        except SlackApiError as exc:
            log.warning("files.info %s failed: %s", file_id, exc.response.get("error"))
            return False
        if is_processed(response["file"], channel):
            return True
    log.warning("file %s was still processing after %.1fs", file_id, sum(delays))
    return False


async def delete_quietly(client: AsyncWebClient, file_id: str) -> None:
    try:
        await client.files_delete(file=file_id)
    except SlackApiError as exc:
        log.warning("could not delete preview file %s: %s", file_id, exc.response.get("error"))


class SlackDownloader:
    """Downloads files people shared, only from Slack's own file hosts, with the bot token."""

    def __init__(self, *, http: httpx2.AsyncClient, token: str, api_url: str | None) -> None:
        self._http = http
        self._token = token
        self._hosts = FileHosts(SLACK_FILE_HOSTS, api_url=api_url)

    def check(self, file: dict[str, Any]) -> str:
        """The URL to fetch, after every check that can be made before downloading."""
        name = str(file.get("name") or file.get("id") or "the attachment")
        if file.get("mimetype") not in IMAGE_TYPES:
            raise AttachmentRejected(f"{name} is not an image; easel takes PNG, JPEG, WebP or GIF.")
        size = file.get("size")
        check_size(name, int(size) if size is not None else None)
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if not self._hosts.allows(url):
            log.warning(
                "refused to fetch %s from %s: not a Slack file host", name, urlsplit(url).hostname
            )
            raise AttachmentRejected(f"{name} is not stored on Slack, so easel will not fetch it.")
        return url

    def check_all(self, files: Sequence[dict[str, Any]]) -> None:
        """Every check that can be made before anything is downloaded, or posted."""
        check_count(len(files))
        for file in files:
            self.check(file)

    async def fetch(self, file: dict[str, Any]) -> bytes:
        url = self.check(file)
        name = str(file.get("name") or "the attachment")
        headers = {"Authorization": f"Bearer {self._token}"}
        return await download(self._http, url, name=name, platform="Slack", headers=headers)
