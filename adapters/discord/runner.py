"""Starts and stops the Discord client: login, intents, command sync, gateway address."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging

import discord
import httpx2
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from adapters.discord.client import EaselDiscord, ShardedEaselDiscord
from adapters.discord.deps import DiscordDeps
from adapters.discord.failures import classify
from adapters.discord.files import DiscordFiles
from adapters.errors import StartupError
from adapters.failures import Caller
from bot.chat_config import DiscordConfig
from bot.clock import Clock
from bot.ports import Facts, Telemetry
from bot.telemetry import NoTelemetry
from bot.turns.service import DrawService
from bot.workspace.workspaces import Workspaces

log = logging.getLogger(__name__)


class DiscordStartupError(StartupError):
    """Discord refused to start easel; the message says what to fix."""


SHARDING_REQUIRED = 4011  # the gateway's close code for a bot in too many servers per shard


def point_at(api_url: str | None) -> None:
    """Send discord.py's REST calls (and interaction webhooks) to `api_url`, when set."""
    if api_url:
        Route.BASE = api_url


class DiscordRunner:
    def __init__(
        self,
        *,
        discord_config: DiscordConfig,
        deps: DiscordDeps | None,
        facts: Facts | None = None,
    ) -> None:
        self._config = discord_config
        self._deps = deps
        self._facts = facts  # what was registered last, shared by every replica
        self.client: EaselDiscord | None = None
        self._task: asyncio.Task[None] | None = None

    async def login(self) -> EaselDiscord:
        """Log in, with the Message Content intent only when the application has it enabled."""
        point_at(self._config.api_url)
        client = await self._login(read_replies=True)
        flags = client.application_flags
        if not (flags.gateway_message_content or flags.gateway_message_content_limited):
            log.warning(
                "the Message Content intent is off for this application: /draw works, "
                "replies in threads do not (easel says so in the thread)"
            )
            await client.close()
            client = await self._login(read_replies=False)
        self.client = client
        return client

    async def _login(self, *, read_replies: bool) -> EaselDiscord:
        # easel never joins voice: skip discord.py's warnings about voice libraries.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        client = self._client(read_replies=read_replies)
        try:
            await client.login(self._config.token)
        except discord.LoginFailure as exc:
            await client.close()
            raise DiscordStartupError(
                "Discord refused DISCORD_TOKEN: copy the bot token again from the Developer "
                "Portal (Bot → Reset Token)"
            ) from exc
        return client

    def _client(self, *, read_replies: bool) -> EaselDiscord:
        """Unsharded by default: one gateway connection with no shard in its IDENTIFY, as a
        plain bot has; with DISCORD_SHARD_COUNT, this process's shards only."""
        timeout = self._config.guild_ready_timeout
        count = self._config.shard_count
        if count is None:
            return EaselDiscord(
                deps=self._deps, read_replies=read_replies, guild_ready_timeout=timeout
            )
        return ShardedEaselDiscord(
            deps=self._deps,
            read_replies=read_replies,
            guild_ready_timeout=timeout,
            shard_ids=list(self._config.shard_ids),
            shard_count=count,
        )

    async def sync_commands(self, client: EaselDiscord, *, facts: Facts | None = None) -> int:
        """Register /draw and /draw-settings: on DISCORD_GUILD_ID only when set (instant),
        else globally. With `facts`, only when they changed since they were last registered
        from this database: several replicas starting do not register them again and again."""
        guild = discord.Object(id=self._config.guild_id) if self._config.guild_id else None
        if guild is not None:
            client.tree.copy_global_to(guild=guild)
        fingerprint = _fingerprint(client.tree, guild)
        if facts is not None and await facts.get(COMMANDS_FACT) == fingerprint:
            log.info("the commands are registered already, unchanged")
            return 0
        synced = await client.tree.sync(guild=guild)
        if facts is not None:
            await facts.put(COMMANDS_FACT, fingerprint)
        where = f"server {self._config.guild_id}" if guild else "every server (global)"
        log.info("synced %d command(s) to %s", len(synced), where)
        return len(synced)

    async def start(self) -> None:
        client = await self.login()
        await self.sync_commands(client, facts=self._facts)
        if self._config.api_url:
            # A plain Client dials Discord's own gateway; ask the API we were pointed at.
            _, url, _ = await client.http.get_bot_gateway()
            DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(url)
        if self._config.shard_count is not None:
            log.info(
                "running Discord shards %s of %d",
                ",".join(map(str, self._config.shard_ids)),
                self._config.shard_count,
            )
        self._task = asyncio.create_task(self._connect(client), name="discord-gateway")

    async def _connect(self, client: EaselDiscord) -> None:
        try:
            await client.connect(reconnect=True)
        except discord.PrivilegedIntentsRequired:
            log.error("Discord refused the Message Content intent; restart easel after fixing it")
        except discord.ConnectionClosed as exc:
            if exc.code == SHARDING_REQUIRED:
                log.error(
                    "Discord requires more gateway shards for this bot: set DISCORD_SHARD_COUNT "
                    "(and each process's DISCORD_SHARD_IDS) and restart easel"
                )
            else:
                log.exception("the Discord gateway connection ended")
        except Exception:
            log.exception("the Discord gateway connection ended")

    def connected(self) -> bool:
        """Ready, and every gateway WebSocket of this process open now: discord.py keeps
        is_ready() true while it reconnects, so readiness alone says nothing about a gateway
        (or one shard's) that went away."""
        client = self.client
        if client is None or client.is_closed() or not client.is_ready():
            return False
        if isinstance(client, discord.AutoShardedClient):
            shards = client.shards
            return all(
                shard in shards and not shards[shard].is_closed()
                for shard in self._config.shard_ids
            )
        ws = client.ws
        return ws is not None and ws.open

    async def stop(self) -> None:
        if self.client is not None:
            await self.client.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


def discord_runner(
    *,
    discord_config: DiscordConfig,
    turns: DrawService,
    workspaces: Workspaces,
    http: httpx2.AsyncClient,
    preview_interval: float,
    chat_timeout: float,
    clock: Clock,
    facts: Facts,
    telemetry: Telemetry | None = None,
) -> DiscordRunner:
    """The Discord side, with its dependencies; `start()` logs in and connects."""
    deps = DiscordDeps(
        turns=turns,
        workspaces=workspaces,
        files=DiscordFiles(http=http, api_url=discord_config.api_url, silence=chat_timeout),
        call=Caller(
            classify,
            timeout=chat_timeout,
            platform="discord",
            telemetry=telemetry or NoTelemetry(),
        ),
        preview_interval=preview_interval,
        clock=clock,
    )
    return DiscordRunner(discord_config=discord_config, deps=deps, facts=facts)


COMMANDS_FACT = "discord_commands"


def _fingerprint(tree: app_commands.CommandTree[EaselDiscord], guild: discord.Object | None) -> str:
    """What would be registered, and where, as one hash."""
    commands = [command.to_dict(tree) for command in tree.get_commands(guild=guild)]
    payload = json.dumps(
        {"guild": guild.id if guild else None, "commands": commands}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()


async def sync_only(discord_config: DiscordConfig) -> int:
    """`easel sync-commands`: register the slash commands and exit, without running the bot."""
    runner = DiscordRunner(discord_config=discord_config, deps=None)
    client = await runner.login()
    try:
        return await runner.sync_commands(client)
    finally:
        await client.close()
