"""The previews of one turn's Slack message: each newer frame uploaded into the thread (or
served at easel's own short-lived URL), shown by the message, and the frame it replaced
deleted. Best effort: a failure is logged by the preview editor, never the drawing's end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from adapters.failures import Caller
from adapters.slack import blocks, files
from adapters.slack.public import PreviewHost
from bot.models import MIME_TYPES, Preview

ShowImage = Callable[[dict[str, Any], str], Awaitable[bool]]
ShowLine = Callable[[str], Awaitable[None]]


class SlackPreviews:
    def __init__(
        self,
        *,
        call: Caller,
        client: AsyncWebClient,
        host: PreviewHost | None,
        channel: str,
        prompt: str,
        delays: Sequence[float],
    ) -> None:
        self._call = call
        self._client = client
        self._host = host
        self._channel = channel
        self._prompt = prompt
        self._delays = delays
        self._ref: str | None = None  # the preview file id (or URL) the message shows

    async def show(
        self, preview: Preview, *, thread: str, image: ShowImage, line: ShowLine
    ) -> None:
        """Show `preview` with `image(block, words)`, or its words alone with `line(words)`
        when Slack will not show the picture."""
        words = f"preview {preview.index + 1} of {preview.total}…"
        if self._host is not None:
            mime_type = MIME_TYPES.get(preview.output_format, "image/png")
            url = await self._host.put(preview.data, mime_type=mime_type, replaces=self._ref)
            self._ref = url
            if not await image(blocks.image_block(prompt=self._prompt, url=url), words):
                await line(words)
            return
        file_id = await files.upload(
            self._call,
            self._client,
            data=preview.data,
            filename=f"preview-{preview.index + 1}.{preview.output_format}",
            title=f"easel preview {preview.index + 1}",
            channel=self._channel,
            thread_ts=thread,
        )
        try:
            processed = await files.wait_processed(
                self._call,
                self._client,
                file_id=file_id,
                channel=self._channel,
                delays=self._delays,
            )
            block = blocks.image_block(prompt=self._prompt, file_id=file_id)
            shown = processed and await image(block, words)
        except BaseException:
            await asyncio.shield(files.delete_quietly(self._call, self._client, file_id))
            raise
        if not shown:
            await files.delete_quietly(self._call, self._client, file_id)
            await line(words)
            return
        superseded, self._ref = self._ref, file_id
        if superseded is not None:
            await files.delete_quietly(self._call, self._client, superseded)

    async def drop(self) -> None:
        """Forget the preview the message showed (it no longer does)."""
        ref, self._ref = self._ref, None
        if ref is None:
            return
        if self._host is not None:
            await asyncio.shield(self._host.drop(ref))
        else:
            await asyncio.shield(files.delete_quietly(self._call, self._client, ref))
