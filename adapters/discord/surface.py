"""DiscordSurface: one drawing turn's message on Discord, edited in place from start to finish.

A new drawing lives in the /draw interaction's response: it is deferred at once and edited
through the interaction webhook while its token lives (15 minutes), then through the channel
with the bot token, so a long turn never fails on an expired token. A reply's turn posts its
own message in the thread and edits it. A Discord thread is a channel of its own whose id is
the id of the message it was started from, so a drawing's ThreadKey is (guild, that id).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiohttp
import discord

from adapters.discord.buttons import retry_view
from adapters.discord.files import AttachmentLike, DiscordFiles, KeptAttachment, fit
from bot.errors import DeliveryDelayed, DeliveryFailed, EaselError
from bot.models import DrawRequest, FinalImage, InputImage, Preview, ThreadKey

log = logging.getLogger(__name__)

DEFAULT_FILESIZE_LIMIT = 10 * 1024 * 1024  # an unboosted server
TOKEN_LIFETIME = 15 * 60.0
TOKEN_MARGIN = 60.0  # switch to the bot token a minute before the interaction token dies
NO_MENTIONS = discord.AllowedMentions.none()
THREAD_HINT = "Reply here to edit the image."
WAITING = "waiting for the drawing above to finish…"
DELIVERING = "finished, delivering…"
INTERRUPTED = "easel was restarted while drawing this. Press Retry, or reply “retry” in the thread."


def unavailable(exc: Exception) -> bool:
    """True for a failure that says "not now" (5xx, 429, a dropped connection), not "no"."""
    if isinstance(exc, discord.HTTPException):
        return exc.status >= 500 or exc.status == 429
    return isinstance(exc, aiohttp.ClientError | OSError)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _MessageSurface:
    """The turn's message: previews, final file and errors all edit this one message."""

    def __init__(
        self,
        *,
        client: discord.Client,
        request: DrawRequest,
        files: DiscordFiles,
        attached: Sequence[AttachmentLike],
        preview_interval: float,
    ) -> None:
        self._client = client
        self._request = request
        self._files = files
        self._attached = attached
        self._interval = preview_interval
        self._limit = request.max_upload_bytes or DEFAULT_FILESIZE_LIMIT
        self._message_id: int | None = None
        self._channel_id: int | None = None

    @property
    def preview_interval(self) -> float:
        return self._interval

    def _text(self, line: str) -> str:
        r = self._request
        return f"<@{r.user_id}>: {_clip(r.prompt, 1500)}\n-# {line}"

    async def _edit(self, **fields: Any) -> None:
        raise NotImplementedError

    async def attachments(self) -> tuple[InputImage, ...]:
        return await self._files.fetch_all(self._attached)

    def message_ref(self) -> Mapping[str, Any]:
        return {
            "channel": self._channel_id,
            "message": self._message_id,
            "opens_thread": self._opens_thread,
        }

    def inputs_ref(self) -> Sequence[Mapping[str, Any]]:
        return [dataclasses.asdict(KeptAttachment.of(a)) for a in self._attached]

    _opens_thread = False

    async def drawing(self) -> None:
        await self._edit(content=self._text("drawing…"))

    async def delivering(self) -> None:
        await self._edit(content=self._text(DELIVERING))

    async def interrupted(self, turn_id: int) -> None:
        await self._edit(
            content=self._text(f":warning: {INTERRUPTED}"),
            attachments=[],
            view=retry_view(turn_id),
        )

    async def preview(self, preview: Preview) -> None:
        name = f"preview-{preview.index + 1}.{preview.output_format}"
        line = f"preview {preview.index + 1} of {preview.total}…"
        await self._edit(
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
        lines.append(self._done_line())
        name = f"easel-{final.image_call_id}.{fitted.output_format}"
        try:
            await self._edit(
                content=self._text("\n-# ".join(lines)),
                attachments=[discord.File(io.BytesIO(fitted.data), filename=name)],
            )
        except (discord.HTTPException, aiohttp.ClientError, OSError) as exc:
            kind = DeliveryDelayed if unavailable(exc) else DeliveryFailed
            raise kind(detail=f"final edit: {exc}") from exc
        await self._after_final()
        return f"{self._channel_id}/{self._message_id}"

    def _done_line(self) -> str:
        return THREAD_HINT

    async def _after_final(self) -> None:
        return None

    async def fail(self, error: EaselError) -> None:
        if self._message_id is None and not isinstance(self, InteractionSurface):
            return
        await self._edit(content=self._text(f":warning: {error.user_message}"), attachments=[])

    async def fetch_image(self, file_ref: str) -> InputImage:
        channel_id, _, message_id = file_ref.partition("/")
        try:
            channel = self._channel(int(channel_id))
            message = await channel.fetch_message(int(message_id))
        except (ValueError, discord.HTTPException) as exc:
            raise DeliveryFailed(detail=f"fetch {file_ref}: {exc}") from exc
        images = [a for a in message.attachments if (a.content_type or "").startswith("image/")]
        if not images:
            raise DeliveryFailed(detail=f"no image on message {file_ref}")
        return await self._files.fetch(images[0])

    def _channel(self, channel_id: int) -> discord.PartialMessageable:
        guild = self._request.workspace
        return self._client.get_partial_messageable(
            channel_id, guild_id=int(guild) if guild.isdigit() else None
        )

    def _key(self, thread: int) -> ThreadKey:
        r = self._request
        return ThreadKey(r.platform, r.workspace, str(thread), str(thread))


class InteractionSurface(_MessageSurface):
    """A new drawing: the deferred /draw response, then a thread opened on it."""

    def __init__(
        self,
        *,
        interaction: discord.Interaction,
        clock: Callable[[], float] = time.monotonic,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._interaction = interaction
        self._clock = clock
        self._token_until = clock() + TOKEN_LIFETIME - TOKEN_MARGIN

    _opens_thread = True

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        await self._edit(content=self._text(WAITING if waiting else "drawing…"))
        assert self._message_id is not None
        return self._key(self._message_id)

    async def _edit(self, **fields: Any) -> None:
        if self._message_id is None or self._clock() < self._token_until:
            try:
                message = await self._interaction.edit_original_response(
                    allowed_mentions=NO_MENTIONS, **fields
                )
            except discord.HTTPException as exc:
                if self._message_id is None or exc.status not in (401, 404):
                    raise
                log.info("interaction token refused (%s); editing with the bot token", exc.code)
                self._token_until = 0.0
            else:
                self._message_id, self._channel_id = message.id, message.channel.id
                return
        assert self._channel_id is not None and self._message_id is not None
        channel = self._channel(self._channel_id)
        await channel.get_partial_message(self._message_id).edit(
            allowed_mentions=NO_MENTIONS, **fields
        )

    async def _after_final(self) -> None:
        await _open_thread(self)


class ThreadReplySurface(_MessageSurface):
    """A reply in a drawing's thread: easel answers it with a message it edits."""

    def __init__(self, *, message: discord.Message, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._source = message
        self._reply: discord.Message | None = None

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        try:
            self._reply = await self._source.reply(
                self._text(WAITING if waiting else "drawing…"),
                mention_author=False,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as exc:
            raise DeliveryFailed(detail=f"reply: {exc.status} {exc.text}") from exc
        self._message_id, self._channel_id = self._reply.id, self._reply.channel.id
        return self._key(self._source.channel.id)

    async def _edit(self, **fields: Any) -> None:
        assert self._reply is not None
        self._reply = await self._reply.edit(allowed_mentions=NO_MENTIONS, **fields)

    def _done_line(self) -> str:
        return "Reply again to keep editing."


class StoredMessageSurface(_MessageSurface):
    """A turn's message found again by its ids (after a restart, or for a retry): every
    edit goes through the channel with the bot token."""

    def __init__(self, *, key: ThreadKey, message: Mapping[str, Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._thread_key = key
        self._channel_id = int(message["channel"])
        self._message_id = int(message["message"])
        self._opens_thread = bool(message.get("opens_thread"))

    async def start(self, *, waiting: bool = False) -> ThreadKey:
        try:
            await self._edit(content=self._text(WAITING if waiting else "drawing…"), view=None)
        except discord.HTTPException as exc:
            raise DeliveryFailed(detail=f"edit: {exc.status} {exc.text}") from exc
        return self._thread_key

    async def _edit(self, **fields: Any) -> None:
        assert self._channel_id is not None and self._message_id is not None
        message = self._channel(self._channel_id).get_partial_message(self._message_id)
        await message.edit(allowed_mentions=NO_MENTIONS, **fields)

    def _done_line(self) -> str:
        return THREAD_HINT if self._opens_thread else "Reply again to keep editing."

    async def _after_final(self) -> None:
        if self._opens_thread:
            await _open_thread(self)


async def _open_thread(surface: _MessageSurface) -> None:
    """Open the drawing's thread on its message, where replies edit the image."""
    assert surface._channel_id is not None and surface._message_id is not None
    message = surface._channel(surface._channel_id).get_partial_message(surface._message_id)
    try:
        thread = await message.create_thread(
            name=_clip(surface._request.prompt, 90), auto_archive_duration=10080
        )
        await thread.send(THREAD_HINT)
    except discord.HTTPException as exc:
        # The drawing is delivered; only editing it by reply is unavailable (or the thread
        # exists already: a retried first drawing).
        log.warning("could not open a thread on %s: %s %s", message.id, exc.status, exc.text)
