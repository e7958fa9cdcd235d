"""DiscordSurface: one drawing turn's message on Discord, edited in place from start to finish.

Where the message lives and how it is edited is its editor's business (adapters.discord
.editors); the surface says what the message shows. A new drawing opens a thread on its
message once the image is in it; a reply's turn lives in that thread already.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import aiohttp
import discord

from adapters.discord.buttons import retry_view
from adapters.discord.editors import channel_of
from adapters.discord.files import AttachmentLike, DiscordFiles, KeptAttachment, fit
from bot.errors import DeliveryDelayed, DeliveryFailed, EaselError
from bot.models import DrawRequest, FinalImage, InputImage, Preview, ThreadKey

log = logging.getLogger(__name__)

DEFAULT_FILESIZE_LIMIT = 10 * 1024 * 1024  # an unboosted server
THREAD_HINT = "Reply here to edit the image."
REPLY_HINT = "Reply again to keep editing."
WAITING = "waiting for the drawing above to finish…"
DELIVERING = "finished, delivering…"
INTERRUPTED = "easel was restarted while drawing this. Press Retry, or reply “retry” in the thread."


class Editor(Protocol):
    message_id: int | None
    channel_id: int | None

    @property
    def ready(self) -> bool:
        """There is a message to edit (to show an error in)."""
        ...

    async def post(self, **fields: Any) -> int:
        """Show the message for the first time; the id of the turn's thread."""
        ...

    async def edit(self, **fields: Any) -> None: ...


def unavailable(exc: Exception) -> bool:
    """True for a failure that says "not now" (5xx, 429, a dropped connection), not "no"."""
    if isinstance(exc, discord.HTTPException):
        return exc.status >= 500 or exc.status == 429
    return isinstance(exc, aiohttp.ClientError | OSError)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DiscordSurface:
    """Implements bot.ports.Surface: previews, the final file and errors edit one message."""

    def __init__(
        self,
        *,
        editor: Editor,
        client: discord.Client,
        request: DrawRequest,
        files: DiscordFiles,
        attached: Sequence[AttachmentLike],
        preview_interval: float,
        opens_thread: bool,
    ) -> None:
        self._editor = editor
        self._client = client
        self._request = request
        self._files = files
        self._attached = attached
        self._interval = preview_interval
        self._opens_thread = opens_thread
        self._limit = request.max_upload_bytes or DEFAULT_FILESIZE_LIMIT

    @property
    def preview_interval(self) -> float:
        return self._interval

    def _text(self, line: str) -> str:
        r = self._request
        return f"<@{r.user_id}>: {_clip(r.prompt, 1500)}\n-# {line}"

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        try:
            thread = await self._editor.post(content=self._text(WAITING if waiting else "drawing…"))
        except discord.HTTPException as exc:
            raise DeliveryFailed(detail=f"post: {exc.status} {exc.text}") from exc
        r = self._request
        return ThreadKey(r.platform, r.workspace, str(thread), str(thread))

    def message_ref(self) -> Mapping[str, Any]:
        return {
            "channel": self._editor.channel_id,
            "message": self._editor.message_id,
            "opens_thread": self._opens_thread,
        }

    def inputs_ref(self) -> Sequence[Mapping[str, Any]]:
        return [dataclasses.asdict(KeptAttachment.of(a)) for a in self._attached]

    async def attachments(self) -> tuple[InputImage, ...]:
        return await self._files.fetch_all(self._attached)

    async def drawing(self) -> None:
        await self._editor.edit(content=self._text("drawing…"))

    async def delivering(self) -> None:
        await self._editor.edit(content=self._text(DELIVERING))

    async def interrupted(self, turn_id: int) -> None:
        await self._editor.edit(
            content=self._text(f":warning: {INTERRUPTED}"),
            attachments=[],
            view=retry_view(turn_id),
        )

    async def preview(self, preview: Preview) -> None:
        name = f"preview-{preview.index + 1}.{preview.output_format}"
        line = f"preview {preview.index + 1} of {preview.total}…"
        await self._editor.edit(
            content=self._text(line),
            attachments=[discord.File(io.BytesIO(preview.data), filename=name)],
        )

    async def finish(self, final: FinalImage) -> str:
        try:
            fitted = await fit(final.data, final.output_format, self._limit)
        except ValueError as exc:
            raise DeliveryFailed(detail=f"cannot fit {self._limit} bytes: {exc}") from exc
        lines = (
            [f"Revised prompt: {_clip(final.revised_prompt, 300)}"] if final.revised_prompt else []
        )
        if fitted.note:
            lines.append(f"The image was {fitted.note}.")
        lines.append(THREAD_HINT if self._opens_thread else REPLY_HINT)
        name = f"easel-{final.image_call_id}.{fitted.output_format}"
        try:
            await self._editor.edit(
                content=self._text("\n-# ".join(lines)),
                attachments=[discord.File(io.BytesIO(fitted.data), filename=name)],
            )
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            kind = DeliveryDelayed if unavailable(exc) else DeliveryFailed
            raise kind(detail=f"final edit: {exc}") from exc
        if self._opens_thread:
            await self._open_thread()
        return f"{self._editor.channel_id}/{self._editor.message_id}"

    async def fail(self, error: EaselError) -> None:
        if self._editor.ready:
            text = self._text(f":warning: {error.user_message}")
            await self._editor.edit(content=text, attachments=[])

    async def fetch_image(self, file_ref: str) -> InputImage:
        channel_id, _, message_id = file_ref.partition("/")
        try:
            channel = channel_of(self._client, self._request.workspace, int(channel_id))
            message = await channel.fetch_message(int(message_id))
        except (ValueError, discord.HTTPException) as exc:
            raise DeliveryFailed(detail=f"fetch {file_ref}: {exc}") from exc
        images = [a for a in message.attachments if (a.content_type or "").startswith("image/")]
        if not images:
            raise DeliveryFailed(detail=f"no image on message {file_ref}")
        return await self._files.fetch(images[0])

    async def _open_thread(self) -> None:
        """Open the drawing's thread on its message, where replies edit the image."""
        assert self._editor.channel_id is not None and self._editor.message_id is not None
        channel = channel_of(self._client, self._request.workspace, self._editor.channel_id)
        message = channel.get_partial_message(self._editor.message_id)
        try:
            thread = await message.create_thread(
                name=_clip(self._request.prompt, 90), auto_archive_duration=10080
            )
            await thread.send(THREAD_HINT)
        except discord.HTTPException as exc:
            # The drawing is delivered; only editing it by reply is unavailable (or the
            # thread exists already: a retried first drawing).
            log.warning("could not open a thread on %s: %s %s", message.id, exc.status, exc.text)
