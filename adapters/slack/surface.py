"""SlackSurface: one drawing turn's message in Slack, edited in place from start to finish.

Every Web API call goes through the adapter's Caller: bounded by a timeout, any failure
classified once (adapters.slack.failures) and turned here into the words of the step it
failed: nothing drawn (the placeholder), best effort (previews), try again (the final).
Every edit of the message is metered by the workspace's EditBudget (adapters.slack.edits):
the final's edit waits its turn, a preview is skipped when the budget has none to spare.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.failures import Caller, PlatformError
from adapters.slack import blocks, deleting, files
from adapters.slack.budget import EditBudget
from adapters.slack.edits import MessageEdits
from adapters.slack.failures import field
from adapters.slack.files import SlackDownloader
from adapters.slack.previews import SlackPreviews
from adapters.slack.public import PreviewHost
from bot import errors
from bot.images import verify_image
from bot.models import DrawRequest, FinalImage, InputImage, Preview, ThreadKey

log = logging.getLogger(__name__)

Notify = Callable[[str], Awaitable[None]]
# The keys of a shared file that easel needs to fetch it again (for a retry).
FILE_KEYS = ("id", "name", "mimetype", "filetype", "size", "url_private", "url_private_download")
WAITING = "waiting for the drawing above to finish…"
DRAWING = "drawing…"
DELIVERING = "finished, delivering…"
DONE = "Reply in this thread to edit the image."
DONE_AS_TEXT = "Done: the image is in the thread. Reply there to edit it."
INTERRUPTED = "easel was restarted while drawing this. Press Retry, or reply “retry”."
NOT_ANSWERING = (
    "Slack is not answering right now, so nothing was drawn. Please try again in a minute."
)
NOT_IN_CHANNEL = "easel is not in this channel yet. Invite it with /invite @easel, then ask again."


def not_started(exc: PlatformError) -> errors.EaselError:
    """The placeholder failed: nothing was drawn, and the words say why."""
    if exc.later:
        return errors.ChatUnavailable(NOT_ANSWERING, detail=exc.reason)
    if exc.reason.endswith(("not_in_channel", "channel_not_found")):
        return errors.ChatRefused(NOT_IN_CHANNEL, detail=exc.reason)
    return errors.ChatRefused(detail=exc.reason)


def not_delivered(exc: PlatformError) -> errors.DeliveryFailed:
    kind = errors.DeliveryDelayed if exc.later else errors.DeliveryFailed
    return kind(detail=exc.reason)


class SlackSurface:
    """Implements bot.ports.Surface with Slack Web API calls."""

    def __init__(
        self,
        *,
        client: AsyncWebClient,
        call: Caller,
        request: DrawRequest,
        budget: EditBudget,
        downloader: SlackDownloader,
        attached: Sequence[Mapping[str, Any]] = (),
        preview_host: PreviewHost | None = None,
        preview_interval: float = 1.2,
        notify: Notify | None = None,
        message: Mapping[str, Any] | None = None,
        processing_delays: Sequence[float] = files.PROCESSING_DELAYS,
        preview_delays: Sequence[float] = files.PREVIEW_PROCESSING_DELAYS,
    ) -> None:
        self._client = client
        self._call = call
        self._request = request
        self._downloader = downloader
        self._attached = list(attached)
        self._interval = preview_interval
        self._notify = notify
        self._delays = processing_delays
        self._previews = SlackPreviews(
            call=call,
            client=client,
            host=preview_host,
            channel=request.channel,
            prompt=request.shown,
            delays=preview_delays,
        )
        # An existing message (a retry, or a turn reopened after a restart) is edited, not posted.
        self._edits = MessageEdits(
            client=client,
            call=call,
            budget=budget,
            channel=request.channel,
            prompt=request.shown,
            user_id=request.user_id,
            ts=message["ts"] if message else None,
        )
        self._thread_ts: str | None = message["thread_ts"] if message else request.thread

    @property
    def preview_interval(self) -> float:
        return self._interval

    @property
    def preview_format(self) -> str:
        return "jpeg"  # Slack's image blocks show png, jpg and gif: not webp

    @property
    def channel(self) -> str:
        return self._request.channel

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        line = WAITING if waiting else DRAWING
        try:
            if self._edits.ts is not None:
                await self._edits.must(self._progress(line), line)
            else:
                await self._post(line)
        except PlatformError as exc:
            raise not_started(exc) from exc
        self._edits.owe()
        r = self._request
        return ThreadKey(r.platform, r.workspace, r.channel, self._thread())

    async def _post(self, line: str) -> None:
        response = await self._call(
            lambda: self._client.chat_postMessage(
                channel=self.channel,
                thread_ts=self._request.thread,
                text=blocks.fallback_text(self._request.shown, line),
                blocks=self._progress(line),
            ),
            what="chat.postMessage",
        )
        self._edits.ts = str(field(response, "ts"))
        self._thread_ts = self._request.thread or self._edits.ts

    def message_ref(self) -> Mapping[str, Any]:
        return {"channel": self.channel, "ts": self._edits.ts, "thread_ts": self._thread_ts}

    def inputs_ref(self) -> Sequence[Mapping[str, Any]]:
        return [{k: f[k] for k in FILE_KEYS if k in f} for f in self._attached]

    async def drawing(self) -> None:
        await self._passing(DRAWING)

    async def delivering(self) -> None:
        await self._passing(DELIVERING)

    async def _passing(self, line: str) -> None:
        """A progress line the next edit replaces anyway: made only when an edit is spare."""
        if not await self._edits.spare(self._progress(line), line):
            log.debug("%r not shown: no chat.update to spare", line)

    async def interrupted(self, turn_id: int) -> None:
        await self._previews.drop()
        line = f":warning: {INTERRUPTED}"
        try:
            await self._edits.must([*self._progress(line), blocks.retry(turn_id)], line)
        finally:
            self._edits.settle()

    async def attachments(self) -> tuple[InputImage, ...]:
        self._downloader.check_all(self._attached)  # again: a retry's files come from the store
        images = []
        for file in self._attached:
            data = await self._downloader.fetch(file)
            images.append(await verify_image(data, name=str(file.get("name") or "attachment")))
        return tuple(images)

    def claim_preview(self) -> bool:
        return self._edits.claim()

    async def preview(self, preview: Preview) -> None:
        """Show the frame if the workspace's edit budget has a token to spare (claimed before
        the frame was downscaled); else, or when Slack rate-limits the edit, drop it."""
        if not self._edits.claim():
            log.debug("preview %d skipped: no chat.update to spare", preview.index + 1)
            return

        async def image(block: dict[str, Any], words: str) -> bool:
            return await self._edits.image(block, words, preview=True)

        async def line(words: str) -> None:
            await self._edits.spare(self._progress(words), words)

        try:
            await self._previews.show(preview, thread=self._thread(), image=image, line=line)
        except PlatformError as exc:
            if not exc.rate_limited:
                raise
            log.debug("preview %d dropped: %s", preview.index + 1, exc.reason)

    async def place_final(self, final: FinalImage, *, again: bool) -> str:
        try:
            if again and (found := await self._find(final)) is not None:
                log.info("final %s is in the thread already as %s", final.filename, found)
                return found
            comment = f"Revised prompt: {final.revised_prompt}" if final.revised_prompt else None
            return await files.upload(
                self._call,
                self._client,
                data=final.data,
                filename=final.filename,
                title=_clip_title(self._request.shown),
                channel=self.channel,
                thread_ts=self._thread(),
                comment=comment,
            )
        except PlatformError as exc:
            raise not_delivered(exc) from exc

    async def _find(self, final: FinalImage) -> str | None:
        try:
            return await files.find_in_thread(
                self._call,
                self._client,
                channel=self.channel,
                thread_ts=self._thread(),
                filename=final.filename,
            )
        except PlatformError as exc:
            if exc.later:
                raise
            # Slack will not list the thread: uploading again is better than never.
            log.warning("could not look for %s in the thread: %s", final.filename, exc.reason)
            return None

    async def show_final(self, final: FinalImage, file_ref: str, *, turn_id: int) -> None:
        processed = await files.wait_processed(
            self._call, self._client, file_id=file_ref, channel=self.channel, delays=self._delays
        )
        image = blocks.image_block(prompt=self._request.shown, file_id=file_ref)
        try:
            if not (processed and await self._edits.image(image, DONE, turn_id=turn_id)):
                # The file is safely in the thread; the message just points at it.
                shown = [*self._progress(DONE_AS_TEXT), blocks.buttons(turn_id)]
                await self._edits.must(shown, DONE_AS_TEXT)
        except PlatformError as exc:
            raise not_delivered(exc) from exc
        self._edits.settle()
        await self._previews.drop()

    async def fail(self, error: errors.EaselError) -> None:
        message = f":warning: {error.user_message}"
        await self._previews.drop()
        if self._edits.ts is None:
            if self._notify is not None:
                await self._notify(error.user_message)
            return
        try:
            await self._edits.must(self._progress(message), message)
        finally:
            self._edits.settle()

    async def erase(self, file_ref: str | None) -> None:
        await deleting.erase(
            self._call, self._client, channel=self.channel, ts=self._edits.ts, file_ref=file_ref
        )

    async def fetch_image(self, file_ref: str) -> InputImage:
        try:
            response = await self._call(
                lambda: self._client.files_info(file=file_ref), what="files.info"
            )
            file = field(response, "file")
        except PlatformError as exc:
            raise errors.DeliveryFailed(detail=f"files.info {file_ref}: {exc.reason}") from exc
        data = await self._downloader.fetch(file)
        return await verify_image(data, name=str(file.get("name") or file_ref))

    def _thread(self) -> str:
        assert self._thread_ts is not None, "start() posts the message first"
        return self._thread_ts

    def _progress(self, line: str) -> list[dict[str, Any]]:
        return blocks.progress(user_id=self._request.user_id, prompt=self._request.shown, line=line)


def _clip_title(prompt: str) -> str:
    return prompt if len(prompt) <= 200 else prompt[:199] + "…"
