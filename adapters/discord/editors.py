"""How a turn's one Discord message is posted and edited, by where it lives.

    InteractionEditor  a new drawing: the deferred /draw response, edited through the
                       interaction's webhook while its token lives (15 minutes), then through
                       the channel with the bot token, so a long turn never fails on it
    ReplyEditor        a reply's turn: easel answers the reply with a message of its own
    ThreadEditor       a button's turn: a new message of easel's in the drawing's thread
    StoredEditor       a turn found again by its ids (after a restart, or for a retry)

A Discord thread is a channel of its own whose id is the id of the message it was started
from: `post()` returns that id, the turn's thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import discord

log = logging.getLogger(__name__)

TOKEN_LIFETIME = 15 * 60.0
TOKEN_MARGIN = 60.0  # switch to the bot token a minute before the interaction token dies
NO_MENTIONS = discord.AllowedMentions.none()


def channel_of(client: discord.Client, guild: str, channel_id: int) -> discord.PartialMessageable:
    return client.get_partial_messageable(
        channel_id, guild_id=int(guild) if guild.isdigit() else None
    )


async def edit_message(
    client: discord.Client, guild: str, channel_id: int, message_id: int, **fields: Any
) -> None:
    """Edit a message by its ids, with the bot token."""
    message = channel_of(client, guild, channel_id).get_partial_message(message_id)
    await message.edit(allowed_mentions=NO_MENTIONS, **fields)


class InteractionEditor:
    def __init__(
        self,
        *,
        interaction: discord.Interaction,
        client: discord.Client,
        guild: str,
        clock: Callable[[], float],
    ) -> None:
        self._interaction = interaction
        self._client = client
        self._guild = guild
        self._clock = clock
        self._token_until = clock() + TOKEN_LIFETIME - TOKEN_MARGIN
        self.message_id: int | None = None
        self.channel_id: int | None = None
        self.ready = True  # the deferred response exists: it can always show an error

    async def post(self, **fields: Any) -> int:
        await self.edit(**fields)
        assert self.message_id is not None
        return self.message_id

    async def edit(self, **fields: Any) -> None:
        if self.message_id is None or self._clock() < self._token_until:
            try:
                message = await self._interaction.edit_original_response(
                    allowed_mentions=NO_MENTIONS, **fields
                )
            except discord.HTTPException as exc:
                if self.message_id is None or exc.status not in (401, 404):
                    raise
                log.info("interaction token refused (%s); editing with the bot token", exc.code)
                self._token_until = 0.0
            else:
                self.message_id, self.channel_id = message.id, message.channel.id
                return
        assert self.channel_id is not None and self.message_id is not None
        await edit_message(self._client, self._guild, self.channel_id, self.message_id, **fields)


class ReplyEditor:
    def __init__(self, *, source: discord.Message) -> None:
        self._source = source
        self._reply: discord.Message | None = None
        self.message_id: int | None = None
        self.channel_id: int | None = None

    @property
    def ready(self) -> bool:
        return self._reply is not None

    async def post(self, **fields: Any) -> int:
        self._reply = await self._source.reply(
            mention_author=False, allowed_mentions=NO_MENTIONS, **fields
        )
        self.message_id, self.channel_id = self._reply.id, self._reply.channel.id
        return self._source.channel.id

    async def edit(self, **fields: Any) -> None:
        assert self._reply is not None
        self._reply = await self._reply.edit(allowed_mentions=NO_MENTIONS, **fields)


class ThreadEditor:
    def __init__(self, *, client: discord.Client, guild: str, thread: int) -> None:
        self._client = client
        self._guild = guild
        self._thread = thread
        self.message_id: int | None = None
        self.channel_id: int | None = None

    @property
    def ready(self) -> bool:
        return self.message_id is not None

    async def post(self, **fields: Any) -> int:
        channel = channel_of(self._client, self._guild, self._thread)
        message = await channel.send(allowed_mentions=NO_MENTIONS, **fields)
        self.message_id, self.channel_id = message.id, message.channel.id
        return self._thread

    async def edit(self, **fields: Any) -> None:
        assert self.channel_id is not None and self.message_id is not None
        await edit_message(self._client, self._guild, self.channel_id, self.message_id, **fields)


class StoredEditor:
    def __init__(
        self, *, client: discord.Client, guild: str, channel_id: int, message_id: int, thread: int
    ) -> None:
        self._client = client
        self._guild = guild
        self._thread = thread
        self.channel_id: int | None = channel_id
        self.message_id: int | None = message_id
        self.ready = True

    async def post(self, **fields: Any) -> int:
        await self.edit(view=None, **fields)  # the Retry button goes
        return self._thread

    async def edit(self, **fields: Any) -> None:
        assert self.channel_id is not None and self.message_id is not None
        await edit_message(self._client, self._guild, self.channel_id, self.message_id, **fields)
