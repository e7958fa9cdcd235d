"""Slack file operations easel needs: upload into a thread, find it there again, wait until
processed, fetch back. Every call goes through the adapter's Caller (classified, bounded)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx2
from slack_sdk.web.async_client import AsyncWebClient

from adapters.downloads import FileHosts, check_count, check_size, download
from adapters.failures import DEFAULT_TIMEOUT, Caller, Kind, PlatformError
from adapters.slack.failures import field
from bot.errors import AttachmentRejected

log = logging.getLogger(__name__)

SLACK_FILE_HOSTS = frozenset({"files.slack.com"})
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
# files.info polls until the file is processed and shared: short first, then backing off.
PROCESSING_DELAYS = (0.1, 0.2, 0.3, 0.5, 0.5, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 5.0)
# A preview that is not processed quickly is not worth waiting for: the next frame is coming.
PREVIEW_PROCESSING_DELAYS = PROCESSING_DELAYS[:6]
UPLOAD_PATIENCE = 4.0  # an upload may take this many times a call's timeout


def is_processed(file: Any, channel: str) -> bool:
    """Slack fills in mimetype and the channel share once processing is done."""
    if not isinstance(file, Mapping) or not file.get("mimetype"):
        return False
    shares = file.get("shares") or {}
    return any(channel in (shares.get(kind) or {}) for kind in ("public", "private"))


def _file_id(response: Any) -> str:
    file = field(response, "file")
    file_id = file.get("id") if isinstance(file, Mapping) else None
    if not isinstance(file_id, str):
        raise PlatformError(Kind.REFUSED, "Slack's answer names no file id")
    return file_id


async def upload(
    call: Caller,
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
    response = await call(
        lambda: client.files_upload_v2(
            file=data,
            filename=filename,
            title=title or filename,
            channel=channel,
            thread_ts=thread_ts,
            initial_comment=comment,
        ),
        what="files_upload_v2",
        patience=UPLOAD_PATIENCE,
    )
    return _file_id(response)


async def find_in_thread(
    call: Caller, client: AsyncWebClient, *, channel: str, thread_ts: str, filename: str
) -> str | None:
    """The id of a file named `filename` already in the thread (an upload whose answer was
    lost, or that a stop fell after), or None."""
    response = await call(
        lambda: client.conversations_replies(channel=channel, ts=thread_ts, limit=1000),
        what="conversations.replies",
    )
    messages = field(response, "messages")
    for message in messages if isinstance(messages, list) else []:
        for file in message.get("files") or [] if isinstance(message, Mapping) else []:
            if isinstance(file, Mapping) and file.get("name") == filename and file.get("id"):
                return str(file["id"])
    return None


async def wait_processed(
    call: Caller,
    client: AsyncWebClient,
    *,
    file_id: str,
    channel: str,
    delays: Sequence[float] = PROCESSING_DELAYS,
) -> bool:
    """Poll files.info until Slack has processed the file; False if it never did in time (or
    Slack refused to say). A poll that fails for now is just one poll less."""
    for delay in (0.0, *delays):
        if delay:
            await asyncio.sleep(delay)
        try:
            response = await call(lambda: client.files_info(file=file_id), what="files.info")
        except PlatformError as exc:
            log.warning("files.info %s failed: %s", file_id, exc.reason)
            if exc.later:
                continue
            return False
        if is_processed(field(response, "file"), channel):
            return True
    log.warning("file %s was still processing after %.1fs", file_id, sum(delays))
    return False


async def delete_quietly(call: Caller, client: AsyncWebClient, file_id: str) -> None:
    try:
        await call(lambda: client.files_delete(file=file_id), what="files.delete")
    except PlatformError as exc:
        log.warning("could not delete preview file %s: %s", file_id, exc.reason)


class SlackDownloader:
    """Downloads files people shared, only from Slack's own file hosts, with the bot token."""

    def __init__(
        self,
        *,
        http: httpx2.AsyncClient,
        token: str,
        api_url: str | None,
        silence: float = DEFAULT_TIMEOUT,
    ) -> None:
        self._http = http
        self._token = token
        self._silence = silence
        self._hosts = FileHosts(SLACK_FILE_HOSTS, api_url=api_url)

    def check(self, file: Mapping[str, Any]) -> str:
        """The URL to fetch, after every check that can be made before downloading."""
        name = str(file.get("name") or file.get("id") or "the attachment")
        if file.get("mimetype") not in IMAGE_TYPES:
            raise AttachmentRejected(f"{name} is not an image; easel takes PNG, JPEG, WebP or GIF.")
        size = file.get("size")
        check_size(name, int(size) if isinstance(size, int | str) and str(size).isdigit() else None)
        url = str(file.get("url_private_download") or file.get("url_private") or "")
        if not self._hosts.allows(url):
            log.warning(
                "refused to fetch %s from %s: not a Slack file host", name, urlsplit(url).hostname
            )
            raise AttachmentRejected(f"{name} is not stored on Slack, so easel will not fetch it.")
        return url

    def check_all(self, files: Sequence[Mapping[str, Any]]) -> None:
        """Every check that can be made before anything is downloaded, or posted."""
        check_count(len(files))
        for file in files:
            self.check(file)

    async def fetch(self, file: Mapping[str, Any]) -> bytes:
        url = self.check(file)
        name = str(file.get("name") or "the attachment")
        headers = {"Authorization": f"Bearer {self._token}"}
        return await download(
            self._http, url, name=name, platform="Slack", headers=headers, silence=self._silence
        )
