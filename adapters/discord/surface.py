"""DiscordSurface: one drawing turn's message on Discord, edited in place from start to finish.

A new drawing lives in the /draw interaction's response: it is deferred at once and edited
through the interaction webhook while its token lives (15 minutes), then through the channel
with the bot token, so a long turn never fails on an expired token. A reply's turn posts its
own message in the thread and edits it. A Discord thread is a channel of its own whose id is
the id of the message it was started from, so a drawing's ThreadKey is (guild, that id).
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Callable
from typing import Any

import discord

from adapters.discord.files import DiscordFiles, fit
from bot.errors import DeliveryFailed, EaselError
from bot.models import DrawRequest, FinalImage, InputImage, Preview, ThreadKey

log = logging.getLogger(__name__)

DEFAULT_FILESIZE_LIMIT = 10 * 1024 * 1024  # an unboosted server
TOKEN_LIFETIME = 15 * 60.0
TOKEN_MARGIN = 60.0  # switch to the bot token a minute before the interaction token dies
NO_MENTIONS = discord.AllowedMentions.none()
THREAD_HINT = "Reply here to edit the image."


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
        attached: list[discord.Attachment],
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
        except discord.HTTPException as exc:
            raise DeliveryFailed(detail=f"final edit: {exc.status} {exc.code} {exc.text}") from exc
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

    async def start(self) -> ThreadKey:
        await self._edit(content=self._text("drawing…"))
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
        assert self._channel_id is not None and self._message_id is not None
        message = self._channel(self._channel_id).get_partial_message(self._message_id)
        try:
            thread = await message.create_thread(
                name=_clip(self._request.prompt, 90), auto_archive_duration=10080
            )
            await thread.send(THREAD_HINT)
        except discord.HTTPException as exc:
            # The drawing is delivered; only editing it by reply is unavailable.
            log.warning("could not open a thread on %s: %s %s", message.id, exc.status, exc.text)


class ThreadReplySurface(_MessageSurface):
    """A reply in a drawing's thread: easel answers it with a message it edits."""

    def __init__(self, *, message: discord.Message, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._source = message
        self._reply: discord.Message | None = None

    async def start(self) -> ThreadKey:
        try:
            self._reply = await self._source.reply(
                self._text("drawing…"), mention_author=False, allowed_mentions=NO_MENTIONS
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
