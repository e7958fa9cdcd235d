"""The chat platforms' configuration: Slack's and Discord's variables."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from bot.env import ConfigError, get, number, whole


@dataclass(frozen=True, slots=True)
class SlackConfig:
    bot_token: str
    app_token: str | None  # set: Socket Mode; unset: HTTP mode
    signing_secret: str | None
    api_url: str | None
    admins: frozenset[str] = frozenset()  # user ids that may change settings besides admins
    edits_per_minute: float = 50.0  # chat.update per workspace (Slack's Tier 3)
    edit_burst: float = 15.0  # ... of which this many at once

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


@dataclass(frozen=True, slots=True)
class DiscordConfig:
    token: str
    guild_id: int | None  # set: commands sync to this server only (instant, for development)
    api_url: str | None  # another REST base (a rate-limit proxy, tests); gateway from it too
    # Seconds discord.py waits after connecting for the servers' data before it says ready.
    guild_ready_timeout: float = 2.0
    # Set: this process runs gateway shards `shard_ids` of `shard_count` (all of them when
    # DISCORD_SHARD_IDS is unset); unset: one unsharded connection, as a plain bot has.
    shard_count: int | None = None
    shard_ids: tuple[int, ...] = ()


def slack_config(env: Mapping[str, str]) -> SlackConfig | None:
    bot_token = get(env, "SLACK_BOT_TOKEN")
    if bot_token is None:
        if get(env, "SLACK_APP_TOKEN") or get(env, "SLACK_SIGNING_SECRET"):
            raise ConfigError("Slack is half configured: set SLACK_BOT_TOKEN (xoxb-…) too")
        return None
    slack = SlackConfig(
        bot_token=bot_token,
        app_token=get(env, "SLACK_APP_TOKEN"),
        signing_secret=get(env, "SLACK_SIGNING_SECRET"),
        api_url=get(env, "SLACK_API_URL"),
        admins=frozenset(re.split(r"[\s,]+", get(env, "EASEL_SLACK_ADMINS") or "")) - {""},
        edits_per_minute=number(env, "EASEL_SLACK_EDITS_PER_MINUTE", 50.0, low=1, high=6000),
        edit_burst=number(env, "EASEL_SLACK_EDIT_BURST", 15.0, low=1, high=1000),
    )
    if not slack.socket_mode and slack.signing_secret is None:
        raise ConfigError(
            "SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) nor "
            "SLACK_SIGNING_SECRET (HTTP mode) is: set one of them"
        )
    return slack


_DISCORD_EXTRAS = ("DISCORD_GUILD_ID", "DISCORD_SHARD_COUNT", "DISCORD_SHARD_IDS")


def discord_config(env: Mapping[str, str]) -> DiscordConfig | None:
    token = get(env, "DISCORD_TOKEN")
    if token is None:
        for name in _DISCORD_EXTRAS:
            if get(env, name):
                raise ConfigError(f"{name} is set but DISCORD_TOKEN is not: set the bot token")
        return None
    guild = get(env, "DISCORD_GUILD_ID")
    if guild is not None and not guild.isdigit():
        raise ConfigError(f"DISCORD_GUILD_ID must be a server's numeric id, not {guild!r}")
    api_url = get(env, "DISCORD_API_URL")
    if api_url is not None and not api_url.startswith(("https://", "http://")):
        raise ConfigError(f"DISCORD_API_URL must be an http(s) URL, not {api_url!r}")
    shard_count = whole(env, "DISCORD_SHARD_COUNT", 0, low=1) or None
    return DiscordConfig(
        token=token,
        guild_id=int(guild) if guild else None,
        api_url=api_url.rstrip("/") if api_url else None,
        guild_ready_timeout=number(env, "DISCORD_READY_TIMEOUT", 2.0, high=60),
        shard_count=shard_count,
        shard_ids=_shard_ids(env, shard_count),
    )


def _shard_ids(env: Mapping[str, str], shard_count: int | None) -> tuple[int, ...]:
    """The shards this process runs: DISCORD_SHARD_IDS, distinct and in 0..count-1; every
    shard when only DISCORD_SHARD_COUNT is set; none (unsharded) when neither is."""
    raw = get(env, "DISCORD_SHARD_IDS")
    if shard_count is None:
        if raw is not None:
            raise ConfigError(
                "DISCORD_SHARD_IDS is set but DISCORD_SHARD_COUNT is not: set the number of "
                "shards across all processes too"
            )
        return ()
    if raw is None:
        return tuple(range(shard_count))
    ids: list[int] = []
    for item in (part for part in re.split(r"[\s,]+", raw) if part):
        if not (item.isascii() and item.isdigit()):
            raise ConfigError(f"DISCORD_SHARD_IDS must list shard numbers (e.g. 0,1), not {item!r}")
        shard = int(item)
        if shard >= shard_count:
            raise ConfigError(
                f"DISCORD_SHARD_IDS: shard {shard} does not exist with DISCORD_SHARD_COUNT="
                f"{shard_count} (shards are 0 to {shard_count - 1})"
            )
        if shard in ids:
            raise ConfigError(f"DISCORD_SHARD_IDS lists shard {shard} twice")
        ids.append(shard)
    if not ids:
        raise ConfigError(f"DISCORD_SHARD_IDS must list shard numbers (e.g. 0,1), not {raw!r}")
    return tuple(ids)
