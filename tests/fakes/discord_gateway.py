"""The fake Discord's gateway, sharded as Discord shards it.

HELLO, then IDENTIFY: READY with the servers of the connection's shard and a GUILD_CREATE
for each; heartbeats acked; RESUME of a known session answered RESUMED (an unknown one,
INVALID_SESSION). IDENTIFY's `shard: [id, count]` is recorded per connection; without one
the connection is shard 0 of 1, which holds every server. A server's events go only to the
connections holding its shard, `(guild_id >> 22) % count` as Discord routes them, and events
without a server to shard 0. A shard outside its count is closed with 4010, and a connection
with fewer shards than `required_shards` with 4011 (sharding required), as Discord does.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from aiohttp import WSMsgType, web

_Json = dict[str, Any]
INVALID_SHARD = 4010
SHARDING_REQUIRED = 4011
GOING_DOWN = 4000


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that carries a server's events, as Discord computes it."""
    return (guild_id >> 22) % shard_count


class Server(Protocol):
    """What the gateway reads from the rest of the fake: its servers and their payloads."""

    guilds: list[int]

    def ready_payload(self, *, guilds: Sequence[int], session_id: str) -> _Json: ...

    def guild(self, guild_id: int) -> _Json: ...


@dataclass
class Session:
    """One identified gateway session; it outlives its connection for a RESUME."""

    id: str
    shard: tuple[int, int]  # (shard id, shard count)
    _seq: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def holds(self, guild_id: int | None) -> bool:
        shard_id, count = self.shard
        return shard_id == (0 if guild_id is None else shard_of(guild_id, count))

    def frame(self, event: str, data: _Json) -> str:
        return json.dumps({"op": 0, "t": event, "s": next(self._seq), "d": data})


class Gateway:
    """`down()` closes connections (all, or one shard's) and refuses new ones until `up()`."""

    def __init__(self, server: Server) -> None:
        self._server = server
        self.identified: list[_Json] = []  # IDENTIFY payloads, in order
        self.resumed: list[_Json] = []  # RESUME payloads, in order
        self.refused_connections = 0  # connections refused while it is down
        self.accepting = True
        self.required_shards = 1  # fewer shards than this: closed with 4011
        self.ready = asyncio.Event()  # a client has identified and been sent READY
        self._sessions: dict[str, Session] = {}
        self._open: dict[web.WebSocketResponse, Session] = {}

    @property
    def connected(self) -> bool:
        return bool(self._open)

    @property
    def shards(self) -> list[tuple[int, int]]:
        """The (shard id, count) of every open connection, in order."""
        return sorted(session.shard for session in self._open.values())

    async def dispatch(self, event: str, data: _Json) -> None:
        """Send an event to the connections holding its server's shard (shard 0 without one)."""
        guild = data.get("guild_id")
        guild_id = int(guild) if guild is not None else None
        for ws, session in list(self._open.items()):
            if session.holds(guild_id):
                await ws.send_str(session.frame(event, data))

    async def down(self, *, shard: int | None = None) -> None:
        """Close the connections (of `shard` only, when given) with 4000, as Discord does
        before a reconnect, and refuse new connections until `up()`."""
        self.accepting = False
        if shard is None:
            self.ready.clear()
        for ws, session in list(self._open.items()):
            if shard is None or session.shard[0] == shard:
                await ws.close(code=GOING_DOWN, message=b"gateway going down")

    def up(self) -> None:
        self.accepting = True

    async def close_all(self) -> None:
        for ws in list(self._open):
            await ws.close()

    async def serve(self, request: web.Request) -> web.StreamResponse:
        if not self.accepting:
            self.refused_connections += 1
            raise web.HTTPServiceUnavailable()
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 41_250}})
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                await self._receive(ws, json.loads(msg.data))
        self._open.pop(ws, None)
        return ws

    async def _receive(self, ws: web.WebSocketResponse, frame: _Json) -> None:
        if frame["op"] == 1:
            await ws.send_json({"op": 11})
        elif frame["op"] == 2:
            await self._identify(ws, frame["d"])
        elif frame["op"] == 6:
            await self._resume(ws, frame["d"])

    async def _identify(self, ws: web.WebSocketResponse, payload: _Json) -> None:
        self.identified.append(payload)
        shard = _shard(payload.get("shard"))
        if shard is None:
            await ws.close(code=INVALID_SHARD, message=b"Invalid shard.")
            return
        if shard[1] < self.required_shards:
            await ws.close(code=SHARDING_REQUIRED, message=b"Sharding required.")
            return
        session = Session(id=f"session-{len(self._sessions) + 1}", shard=shard)
        self._sessions[session.id] = session
        guilds = [g for g in self._server.guilds if session.holds(g)]
        ready = self._server.ready_payload(guilds=guilds, session_id=session.id)
        if "shard" in payload:
            ready["shard"] = list(shard)
        await ws.send_str(session.frame("READY", ready))
        for guild_id in guilds:
            await ws.send_str(session.frame("GUILD_CREATE", self._server.guild(guild_id)))
        self._open[ws] = session
        self.ready.set()

    async def _resume(self, ws: web.WebSocketResponse, payload: _Json) -> None:
        self.resumed.append(payload)
        session = self._sessions.get(payload.get("session_id", ""))
        if session is None:
            await ws.send_json({"op": 9, "d": False})
            return
        await ws.send_str(session.frame("RESUMED", {}))
        self._open[ws] = session
        self.ready.set()


def _shard(given: object) -> tuple[int, int] | None:
    """IDENTIFY's `shard` as (id, count); (0, 1) when absent; None when it is not valid."""
    if given is None:
        return (0, 1)
    if not isinstance(given, list) or len(given) != 2:
        return None
    shard_id, count = given
    if not (isinstance(shard_id, int) and isinstance(count, int) and 0 <= shard_id < count):
        return None
    return (shard_id, count)


def guild_create(guild_id: int, *, name: str, channel_id: int, threads: list[_Json]) -> _Json:
    """GUILD_CREATE's payload: a server with one text channel and `threads`."""
    everyone = {
        "id": str(guild_id),
        "name": "@everyone",
        "permissions": "1071698660929",
        "position": 0,
        "color": 0,
        "hoist": False,
        "managed": False,
        "mentionable": False,
        "flags": 0,
    }
    channel = {
        "id": str(channel_id),
        "type": 0,
        "name": "art",
        "position": 0,
        "guild_id": str(guild_id),
        "permission_overwrites": [],
        "nsfw": False,
    }
    return {
        "id": str(guild_id),
        "name": name,
        "unavailable": False,
        "owner_id": "1",
        "roles": [everyone],
        "channels": [channel],
        "threads": threads,
        "members": [],
        "emojis": [],
        "stickers": [],
        "features": [],
        "member_count": 3,
        "premium_tier": 0,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "mfa_level": 0,
        "system_channel_flags": 0,
        "preferred_locale": "en-US",
        "nsfw_level": 0,
        "premium_progress_bar_enabled": False,
        "joined_at": datetime.now(UTC).isoformat(),
        "large": False,
        "voice_states": [],
        "presences": [],
        "stage_instances": [],
        "guild_scheduled_events": [],
        "soundboard_sounds": [],
    }
