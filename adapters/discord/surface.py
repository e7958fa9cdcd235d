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

import discord

from adapters.discord.buttons import actions_view, retry_view
from adapters.discord.editors import channel_of
from adapters.discord.files import AttachmentLike, DiscordFiles, KeptAttachment, fit
from adapters.failures import Caller, PlatformError
from bot import errors
from bot.models import DrawRequest, FinalImage, InputImage, Preview, ThreadKey

log = logging.getLogger(__name__)

DEFAULT_FILESIZE_LIMIT = 10 * 1024 * 1024  # an unboosted server
THREAD_HINT = "Reply here to edit the image."
REPLY_HINT = "Reply again to keep editing."
WAITING = "waiting for the drawing above to finish…"
DELIVERING = "finished, delivering…"
INTERRUPTED = "easel was restarted while drawing this. Press Retry, or reply “retry” in the thread."
NOT_ANSWERING = (
    "Discord is not answering right now, so nothing was drawn. Please try again in a minute."
)
NOT_ALLOWED_HERE = (
    "easel may not post here, so nothing was drawn: it needs the View Channel, Send Messages "
    "and Attach Files permissions in this channel."
)
NOT_DELETED_YET = (
    "Discord is not answering right now, so the drawing is not removed yet. "
    "Press Delete again in a minute."
)
NOT_DELETED = "Discord would not remove the drawing."
THREAD_EXISTS = 160004  # "A thread has already been created for this message"
UPLOAD_PATIENCE = 4.0  # an upload may take this many times a call's timeout


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


def not_started(exc: PlatformError) -> errors.EaselError:
    """The placeholder failed: nothing was drawn, and the words say why."""
    if exc.later:
        return errors.ChatUnavailable(NOT_ANSWERING, detail=exc.reason)
    if exc.status == 403:
        return errors.ChatRefused(NOT_ALLOWED_HERE, detail=exc.reason)
    return errors.ChatRefused(detail=exc.reason)


def not_delivered(exc: PlatformError) -> errors.DeliveryFailed:
    kind = errors.DeliveryDelayed if exc.later else errors.DeliveryFailed
    return kind(detail=exc.reason)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class DiscordSurface:
    """Implements bot.ports.Surface: previews, the final file and errors edit one message."""

    def __init__(
        self,
        *,
        editor: Editor,
        client: discord.Client,
        call: Caller,
        request: DrawRequest,
        files: DiscordFiles,
        attached: Sequence[AttachmentLike],
        preview_interval: float,
        opens_thread: bool,
    ) -> None:
        self._editor = editor
        self._client = client
        self._call = call
        self._request = request
        self._files = files
        self._attached = attached
        self._interval = preview_interval
        self._opens_thread = opens_thread
        self._limit = request.max_upload_bytes or DEFAULT_FILESIZE_LIMIT

    @property
    def preview_interval(self) -> float:
        return self._interval

    @property
    def preview_format(self) -> str:
        return "webp"

    def claim_preview(self) -> bool:
        return True  # each message's edits are paced by preview_interval alone

    def _text(self, line: str) -> str:
        r = self._request
        return f"<@{r.user_id}>: {_clip(r.shown, 1500)}\n-# {line}"

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        text = self._text(WAITING if waiting else "drawing…")
        try:
            thread = await self._call(lambda: self._editor.post(content=text), what="post")
        except PlatformError as exc:
            raise not_started(exc) from exc
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

    async def _edit(self, *, what: str, patience: float = 1.0, **fields: Any) -> None:
        await self._call(lambda: self._editor.edit(**fields), what=what, patience=patience)

    async def drawing(self) -> None:
        await self._edit(content=self._text("drawing…"), what="drawing")

    async def delivering(self) -> None:
        await self._edit(content=self._text(DELIVERING), what="delivering")

    async def interrupted(self, turn_id: int) -> None:
        text = self._text(f":warning: {INTERRUPTED}")
        await self._edit(content=text, attachments=[], view=retry_view(turn_id), what="interrupted")

    async def preview(self, preview: Preview) -> None:
        name = f"preview-{preview.index + 1}.{preview.output_format}"
        line = f"preview {preview.index + 1} of {preview.total}…"
        await self._call(
            lambda: self._editor.edit(
                content=self._text(line),
                attachments=[discord.File(io.BytesIO(preview.data), filename=name)],
            ),
            what="preview",
        )

    async def place_final(self, final: FinalImage, *, again: bool) -> str:
        try:
            fitted = await fit(final.data, final.output_format, self._limit)
        except ValueError as exc:
            raise errors.DeliveryFailed(detail=f"cannot fit {self._limit} bytes: {exc}") from exc
        name = f"easel-{final.image_call_id}.{fitted.output_format}"
        lines = (
            [f"Revised prompt: {_clip(final.revised_prompt, 300)}"] if final.revised_prompt else []
        )
        if fitted.note:
            lines.append(f"The image was {fitted.note}.")
        lines.append(THREAD_HINT if self._opens_thread else REPLY_HINT)
        try:
            if not (again and await self._shows_file(name)):
                await self._call(
                    lambda: self._editor.edit(
                        content=self._text("\n-# ".join(lines)),
                        attachments=[discord.File(io.BytesIO(fitted.data), filename=name)],
                    ),
                    what="final edit",
                    patience=UPLOAD_PATIENCE,
                )
        except PlatformError as exc:
            raise not_delivered(exc) from exc
        return f"{self._editor.channel_id}/{self._editor.message_id}"

    async def _shows_file(self, name: str) -> bool:
        """The message carries the file already (an edit whose answer was lost)."""
        assert self._editor.channel_id is not None and self._editor.message_id is not None
        channel = channel_of(self._client, self._request.workspace, self._editor.channel_id)
        message_id = self._editor.message_id
        message = await self._call(lambda: channel.fetch_message(message_id), what="fetch")
        return any(a.filename == name for a in message.attachments)

    async def show_final(self, final: FinalImage, file_ref: str, *, turn_id: int) -> None:
        """The edit that put the file in shows it; a new drawing also opens its thread, and
        the buttons (bot.models.Action) come last. Each part is safe to do again: a thread
        that exists already stays, and the buttons are set, never added."""
        try:
            if self._opens_thread:
                await self._open_thread_once()
            await self._edit(view=actions_view(turn_id), what="buttons")  # keeps the file
        except PlatformError as exc:
            raise not_delivered(exc) from exc

    async def fail(self, error: errors.EaselError) -> None:
        if self._editor.ready:
            text = self._text(f":warning: {error.user_message}")
            await self._edit(content=text, attachments=[], what="fail")

    async def erase(self, file_ref: str | None) -> None:
        """Delete the turn's message, which carries its final file (a thread opened on it
        stays, with the replies in it)."""
        channel_id, message_id = self._editor.channel_id, self._editor.message_id
        if channel_id is None or message_id is None:
            return
        message = channel_of(self._client, self._request.workspace, channel_id).get_partial_message(
            message_id
        )
        try:
            await self._call(message.delete, what="delete")
        except PlatformError as exc:
            if exc.status == 404:
                return  # deleted already
            if exc.later:
                raise errors.ChatUnavailable(NOT_DELETED_YET, detail=exc.reason) from exc
            raise errors.ChatRefused(NOT_DELETED, detail=exc.reason) from exc

    async def fetch_image(self, file_ref: str) -> InputImage:
        channel_id, _, message_id = file_ref.partition("/")
        if not (channel_id.isdigit() and message_id.isdigit()):
            raise errors.DeliveryFailed(detail=f"not a message: {file_ref}")
        channel = channel_of(self._client, self._request.workspace, int(channel_id))
        try:
            message = await self._call(lambda: channel.fetch_message(int(message_id)), what="fetch")
        except PlatformError as exc:
            raise errors.DeliveryFailed(detail=f"fetch {file_ref}: {exc.reason}") from exc
        images = [a for a in message.attachments if (a.content_type or "").startswith("image/")]
        if not images:
            raise errors.DeliveryFailed(detail=f"no image on message {file_ref}")
        return await self._files.fetch(images[0])

    async def _open_thread_once(self) -> None:
        try:
            await self._open_thread()
        except PlatformError as exc:
            if THREAD_EXISTS not in _codes(exc):
                raise
            # a retried first drawing, or an answer that was lost: the thread is there

    async def _open_thread(self) -> None:
        """Open the drawing's thread on its message, where replies edit the image."""
        assert self._editor.channel_id is not None and self._editor.message_id is not None
        channel = channel_of(self._client, self._request.workspace, self._editor.channel_id)
        message = channel.get_partial_message(self._editor.message_id)
        thread = await self._call(
            lambda: message.create_thread(
                name=_clip(self._request.shown, 90), auto_archive_duration=10080
            ),
            what="thread create",
        )
        await self._call(lambda: thread.send(THREAD_HINT), what="thread hint")


def _codes(exc: PlatformError) -> set[int]:
    cause = exc.__cause__
    return {cause.code} if isinstance(cause, discord.HTTPException) else set()
