"""SlackSurface: one drawing turn's message in Slack, edited in place from start to finish."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import blocks, files
from adapters.slack.files import SlackDownloader
from adapters.slack.public import PreviewHost
from bot.errors import DeliveryDelayed, DeliveryFailed, EaselError
from bot.images import verify_image
from bot.models import MIME_TYPES, DrawRequest, FinalImage, InputImage, Preview, ThreadKey

log = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]
# What Slack says when it is down or busy rather than refusing: worth trying again later.
SLACK_UNAVAILABLE = frozenset(
    {"internal_error", "fatal_error", "service_unavailable", "request_timeout", "ratelimited"}
)
# The keys of a shared file that easel needs to fetch it again (for a retry).
FILE_KEYS = ("id", "name", "mimetype", "filetype", "size", "url_private", "url_private_download")
WAITING = "waiting for the drawing above to finish…"
DELIVERING = "finished, delivering…"
INTERRUPTED = "easel was restarted while drawing this. Press Retry, or reply “retry”."


def unavailable(exc: Exception) -> bool:
    """True for a failure that says "not now" (5xx, 429, a dropped connection), not "no"."""
    if isinstance(exc, SlackApiError):
        status = getattr(exc.response, "status_code", 200)
        return status >= 500 or status == 429 or exc.response.get("error") in SLACK_UNAVAILABLE
    if isinstance(exc, SlackRequestError):
        # files_upload_v2 says a refused upload only in words: "... (status: 503, ...".
        status = re.search(r"status: (\d+)", str(exc))
        return status is not None and (int(status[1]) >= 500 or status[1] == "429")
    return isinstance(exc, aiohttp.ClientError | OSError)


class SlackSurface:
    """Implements bot.ports.Surface with Slack Web API calls."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        request: DrawRequest,
        downloader: SlackDownloader,
        attached: Sequence[dict[str, Any]] = (),
        preview_host: PreviewHost | None = None,
        preview_interval: float = 1.2,
        notify: Notify | None = None,
        message: Mapping[str, Any] | None = None,
        processing_delays: Sequence[float] = files.PROCESSING_DELAYS,
        preview_delays: Sequence[float] = files.PREVIEW_PROCESSING_DELAYS,
    ) -> None:
        self._client = client
        self._request = request
        self._downloader = downloader
        self._attached = list(attached)
        self._host = preview_host
        self._interval = preview_interval
        self._notify = notify
        self._delays = processing_delays
        self._preview_delays = preview_delays
        # An existing message (a retry, or a turn reopened after a restart) is edited, not posted.
        self._ts: str | None = message["ts"] if message else None
        self._thread_ts: str | None = message["thread_ts"] if message else request.thread
        self._preview_ref: str | None = None  # the preview file id (or URL) the message shows
        self._final_file: str | None = None  # uploaded: a retried finish does not upload again

    @property
    def preview_interval(self) -> float:
        return self._interval

    @property
    def channel(self) -> str:
        return self._request.channel

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        line = WAITING if waiting else "drawing…"
        if self._ts is not None:
            try:
                await self._update(self._progress(line), line)
            except SlackApiError as exc:
                raise DeliveryFailed(detail=f"chat.update: {exc.response.get('error')}") from exc
            return self._key()
        try:
            response = await self._client.chat_postMessage(
                channel=self.channel,
                thread_ts=self._request.thread,
                text=blocks.fallback_text(self._request.prompt, line),
                blocks=self._progress(line),
            )
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in ("not_in_channel", "channel_not_found"):
                raise DeliveryFailed(
                    "easel is not in this channel yet. Invite it with /invite @easel, "
                    "then ask again.",
                    detail=str(error),
                ) from exc
            raise DeliveryFailed(detail=f"chat.postMessage: {error}") from exc
        self._ts = str(response["ts"])
        self._thread_ts = self._request.thread or self._ts
        return self._key()

    def _key(self) -> ThreadKey:
        r = self._request
        return ThreadKey(r.platform, r.workspace, r.channel, self._thread())

    def message_ref(self) -> Mapping[str, Any]:
        return {"channel": self.channel, "ts": self._ts, "thread_ts": self._thread_ts}

    def inputs_ref(self) -> Sequence[Mapping[str, Any]]:
        return [{k: f[k] for k in FILE_KEYS if k in f} for f in self._attached]

    async def drawing(self) -> None:
        await self._update(self._progress("drawing…"), "drawing…")

    async def delivering(self) -> None:
        await self._update(self._progress(DELIVERING), DELIVERING)

    async def interrupted(self, turn_id: int) -> None:
        await self._drop_preview()
        line = f":warning: {INTERRUPTED}"
        await self._update([*self._progress(line), blocks.retry(turn_id)], line)

    async def attachments(self) -> tuple[InputImage, ...]:
        self._downloader.check_all(self._attached)  # again: a retry's files come from the store
        images = []
        for file in self._attached:
            data = await self._downloader.fetch(file)
            images.append(await verify_image(data, name=str(file.get("name") or "attachment")))
        return tuple(images)

    async def preview(self, preview: Preview) -> None:
        line = f"preview {preview.index + 1} of {preview.total}…"
        mime_type = MIME_TYPES.get(preview.output_format, "image/png")
        if self._host is not None:
            url = self._host.put(preview.data, mime_type=mime_type, replaces=self._preview_ref)
            self._preview_ref = url
            if not await self._show_image(
                blocks.image_block(prompt=self._request.prompt, url=url), line
            ):
                await self._update(self._progress(line), line)
            return
        file_id = await files.upload(
            self._client,
            data=preview.data,
            filename=f"preview-{preview.index + 1}.{preview.output_format}",
            title=f"easel preview {preview.index + 1}",
            channel=self.channel,
            thread_ts=self._thread(),
        )
        processed = await files.wait_processed(
            self._client, file_id=file_id, channel=self.channel, delays=self._preview_delays
        )
        image = blocks.image_block(prompt=self._request.prompt, file_id=file_id)
        shown = processed and await self._show_image(image, line)
        if not shown:
            await files.delete_quietly(self._client, file_id)
            await self._update(self._progress(line), line)
            return
        superseded, self._preview_ref = self._preview_ref, file_id
        if superseded is not None:
            await files.delete_quietly(self._client, superseded)

    async def finish(self, final: FinalImage) -> str:
        try:
            file_id = await self._upload_final(final)
        except (SlackApiError, SlackRequestError, aiohttp.ClientError, OSError) as exc:
            error = exc.response.get("error") if isinstance(exc, SlackApiError) else repr(exc)
            kind = DeliveryDelayed if unavailable(exc) else DeliveryFailed
            raise kind(detail=f"upload: {error}") from exc
        line = "Reply in this thread to edit the image."
        processed = await files.wait_processed(
            self._client, file_id=file_id, channel=self.channel, delays=self._delays
        )
        image = blocks.image_block(prompt=self._request.prompt, file_id=file_id)
        if not (processed and await self._show_image(image, line)):
            # The file is safely in the thread; the message just points at it.
            done = "Done: the image is in the thread. Reply there to edit it."
            try:
                await self._update(self._progress(done), done)
            except SlackApiError as exc:
                log.warning("final message not updated: %s", exc.response.get("error"))
        await self._drop_preview()
        return file_id

    async def _upload_final(self, final: FinalImage) -> str:
        if self._final_file is None:
            comment = f"Revised prompt: {final.revised_prompt}" if final.revised_prompt else None
            self._final_file = await files.upload(
                self._client,
                data=final.data,
                filename=final.filename,
                title=_clip_title(self._request.prompt),
                channel=self.channel,
                thread_ts=self._thread(),
                comment=comment,
            )
        return self._final_file

    async def fail(self, error: EaselError) -> None:
        message = f":warning: {error.user_message}"
        await self._drop_preview()
        if self._ts is None:
            if self._notify is not None:
                await self._notify(error.user_message)
            return
        await self._update(self._progress(message), message)

    async def fetch_image(self, file_ref: str) -> InputImage:
        try:
            response = await self._client.files_info(file=file_ref)
        except SlackApiError as exc:
            raise DeliveryFailed(
                detail=f"files.info {file_ref}: {exc.response.get('error')}"
            ) from exc
        file = response["file"]
        data = await self._downloader.fetch(file)
        return await verify_image(data, name=str(file.get("name") or file_ref))

    # -- helpers ---------------------------------------------------------------------------

    def _thread(self) -> str:
        assert self._thread_ts is not None, "start() posts the message first"
        return self._thread_ts

    def _progress(self, line: str) -> list[dict[str, Any]]:
        return blocks.progress(
            user_id=self._request.user_id, prompt=self._request.prompt, line=line
        )

    async def _show_image(self, image: dict[str, Any], line: str) -> bool:
        try:
            await self._show(image, line)
        except SlackApiError as exc:
            log.warning("Slack refused the image update: %s", exc.response.get("error"))
            return False
        return True

    async def _show(self, image: dict[str, Any], line: str) -> None:
        r = self._request
        await self._update(
            blocks.with_image(user_id=r.user_id, prompt=r.prompt, image=image, line=line), line
        )

    async def _update(self, new_blocks: list[dict[str, Any]], line: str) -> None:
        assert self._ts is not None, "start() posts the message first"
        await self._client.chat_update(
            channel=self.channel,
            ts=self._ts,
            text=blocks.fallback_text(self._request.prompt, line),
            blocks=new_blocks,
        )

    async def _drop_preview(self) -> None:
        ref, self._preview_ref = self._preview_ref, None
        if ref is None:
            return
        if self._host is not None:
            self._host.drop(ref)
        else:
            await asyncio.shield(files.delete_quietly(self._client, ref))


def _clip_title(prompt: str) -> str:
    return prompt if len(prompt) <= 200 else prompt[:199] + "…"
