"""A fake Discord API over real local HTTP: REST, interaction webhooks, a CDN and a gateway.

discord.py is pointed at it (`Route.BASE` via DISCORD_API_URL) and dials its gateway, which
`GET /gateway/bot` names (see discord_gateway: HELLO, IDENTIFY with or without a shard, READY
and a GUILD_CREATE per server of the shard, heartbeats acked), and `dispatch()` pushes events
(INTERACTION_CREATE, MESSAGE_CREATE) down the real WebSocket of the shard that holds their
server. The fake knows the servers `guilds` (one, GUILD_ID, unless told), each with one text
channel (`channel_of()`). `gateway_down()` closes the gateway's connections (or one shard's)
and refuses new ones until `gateway_up()`; a client that comes back RESUMEs its session, as
against Discord. The interactions tests dispatch (commands, button presses, forms) and
easel's answers to them are discord_interactions' (`interaction()`, `press()`,
`submit_modal()`, `told()`...). A message is deleted only when it exists and is easel's own
(403 otherwise); a thread started from it stays.
Every REST call is recorded; `faults` fails any route by name (`route_name()`),
`rate_limit(path, times)` answers 429 with Discord's headers, `unavailable()` 503;
`expire(token)` makes an interaction token answer 401 "Invalid Webhook Token" (50027).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from aiohttp import BodyPartReader, web

from tests.fakes.discord_gateway import Gateway, guild_create
from tests.fakes.discord_interactions import (
    APP_ID,
    BOT_ID,
    COMMAND_ID,
    EPHEMERAL,
    GUILD_ID,
    MANAGE_GUILD,
    MEMBER_PERMISSIONS,
    USER_ID,
    Interactions,
    now_iso,
    user,
)
from tests.fakes.faults import Fault, Faults, Kind, json_response, rate_limited, status
from tests.fakes.server import LocalServer

_Json = dict[str, Any]
CHANNEL_ID = 1400
MESSAGE_CONTENT_LIMITED = 1 << 19
MISSING_PERMISSIONS = {"message": "Missing Permissions", "code": 50013}
__all__ = [
    "APP_ID",
    "BOT_ID",
    "CHANNEL_ID",
    "COMMAND_ID",
    "GUILD_ID",
    "MANAGE_GUILD",
    "MEMBER_PERMISSIONS",
    "USER_ID",
    "Call",
    "FakeDiscord",
    "now_iso",
    "user",
    "wait_ready",
]


@dataclass
class Call:
    method: str
    path: str
    at: float
    status: int = 200
    payload: _Json = field(default_factory=dict)
    files: list[tuple[str, int]] = field(default_factory=list)  # (filename, bytes)


class FakeDiscord(LocalServer):
    """`faults` fails a route by the name `route_name()` gives it (see ROUTES)."""

    def __init__(
        self, *, token: str = "discord-test-token", guilds: Sequence[int] = (GUILD_ID,)
    ) -> None:
        app = web.Application(client_max_size=64 * 1024**2)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/cdn/attachments/{id}/{name}", self._cdn)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        app.on_shutdown.append(self._close_sockets)
        super().__init__(app)
        self.token = token
        self.app_flags = MESSAGE_CONTENT_LIMITED
        self.calls: list[Call] = []
        self.messages: dict[int, _Json] = {}
        self.threads: dict[int, _Json] = {}
        self.blobs: dict[int, bytes] = {}
        self.commands: dict[str, list[_Json]] = {}  # "global" or guild id -> synced commands
        self._attached_names: dict[str, str] = {}  # attachment id -> file name, as sent
        self.downloads: list[int] = []  # attachment ids fetched from the CDN, in order
        self.faults = Faults(names=lambda: ROUTES, render=_error_json, closing=self.closing)
        self._ids = itertools.count(10_000)
        self.guilds = list(guilds)
        self.recommended_shards = 1  # GET /gateway/bot's `shards`
        self._channels = {g: CHANNEL_ID if g == GUILD_ID else self.new_id() for g in guilds}
        self.gateway = Gateway(self)
        # What tests read of the gateway, by the names they always had.
        self.identified = self.gateway.identified  # IDENTIFY payloads, in order
        self.resumed = self.gateway.resumed  # RESUME payloads, in order
        self.ready = self.gateway.ready  # a client has identified and been sent READY
        self.interactions = Interactions(self)
        # The payloads tests dispatch, and what easel answered, by the names they always had.
        self.interaction = self.interactions.interaction
        self.autocomplete = self.interactions.autocomplete
        self.command = self.interactions.command
        self.press = self.interactions.press
        self.submit_modal = self.interactions.submit_modal
        self.told = self.interactions.told
        self.callbacks = self.interactions.callbacks
        self.originals = self.interactions.originals
        self.forms = self.interactions.forms
        self.followups = self.interactions.followups
        self.expired = self.interactions.expired

    # -- lifecycle -----------------------------------------------------------------------

    async def _close_sockets(self, app: web.Application) -> None:
        await self.gateway.close_all()

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/v10"

    def rate_limit(self, path_prefix: str, times: int = 1) -> None:
        """The next `times` calls under `path_prefix` answer 429 as Discord does."""
        where = _under(path_prefix)
        self.faults.add(f"429 {path_prefix}", rate_limited(0.2), times=times, where=where)

    def unavailable(self, method: str, path_prefix: str, times: int = 1_000_000) -> None:
        """The next `times` `method` calls under `path_prefix` answer 503, as during an
        outage (discord.py does not retry a 503 itself); `times=0` ends it."""
        fault = status(503, body="text")
        where = _under(path_prefix, method)
        self.faults.set(f"503 {method} {path_prefix}", fault, times=times, where=where)

    def expire(self, token: str) -> None:
        self.expired.add(token)

    def new_id(self) -> int:
        return next(self._ids)

    # -- gateway ---------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self.gateway.connected

    @property
    def refused_connections(self) -> int:
        return self.gateway.refused_connections

    async def dispatch(self, event: str, data: _Json) -> None:
        await self.gateway.dispatch(event, data)

    async def gateway_down(self, *, shard: int | None = None) -> None:
        """Close the gateway's connections (or only those of `shard`) and refuse new ones
        until gateway_up()."""
        await self.gateway.down(shard=shard)

    def gateway_up(self) -> None:
        self.gateway.up()

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        if (faulty := await self.faults.intercept("gateway", request)) is not None:
            return faulty
        return await self.gateway.serve(request)

    def ready_payload(self, *, guilds: Sequence[int], session_id: str) -> _Json:
        return {
            "v": 10,
            "user": user(BOT_ID, "easel", bot=True),
            "guilds": [{"id": str(g), "unavailable": True} for g in guilds],
            "session_id": session_id,
            "resume_gateway_url": f"ws://{self.base_url[7:]}/gateway",
            "application": {"id": str(APP_ID), "flags": self.app_flags},
        }

    def guild(self, guild_id: int = GUILD_ID) -> _Json:
        """GUILD_CREATE's payload for one of the fake's servers."""
        return guild_create(
            guild_id,
            name="Test Server" if guild_id == GUILD_ID else f"Server {guild_id}",
            channel_id=self._channels[guild_id],
            threads=[t for t in self.threads.values() if t["guild_id"] == str(guild_id)],
        )

    def channel_of(self, guild_id: int) -> int:
        """The text channel of one of the fake's servers."""
        return self._channels[guild_id]

    def guild_of(self, channel_id: int) -> int:
        """The server of a channel or thread (GUILD_ID for one the fake does not know)."""
        if channel_id in self.threads:
            return int(self.threads[channel_id]["guild_id"])
        guilds = [g for g, c in self._channels.items() if c == channel_id]
        return guilds[0] if guilds else GUILD_ID

    # -- payloads tests inject -----------------------------------------------------------

    def upload(
        self,
        data: bytes,
        filename: str,
        content_type: str = "image/png",
        *,
        size: int | None = None,
        url: str | None = None,
    ) -> _Json:
        """An attachment a person uploaded, stored on this fake's CDN."""
        aid = self.new_id()
        self.blobs[aid] = data
        return {
            "id": str(aid),
            "filename": filename,
            "size": len(data) if size is None else size,
            "content_type": content_type,
            "url": url or f"{self.base_url}/cdn/attachments/{aid}/{filename}",
            "proxy_url": f"{self.base_url}/cdn/attachments/{aid}/{filename}",
        }

    def person_message(
        self,
        thread: int,
        content: str,
        *,
        author: _Json | None = None,
        attachments: list[_Json] | None = None,
    ) -> _Json:
        mid = self.new_id()
        message = self._message(
            mid, thread, content, author or user(USER_ID, "painter"), attachments or []
        )
        self.messages[mid] = message
        return {
            **message,
            "guild_id": str(self.guild_of(thread)),
            "member": {"roles": [], "joined_at": now_iso(), "flags": 0},
        }

    def person_thread(self, name: str, *, owner: int = USER_ID) -> _Json:
        """A thread a person started on their own message in the channel (THREAD_CREATE's
        payload): a thread in the server that easel did not open."""
        starter = self.person_message(CHANNEL_ID, name, author=user(owner, "painter"))
        thread = {
            "id": starter["id"],
            "type": 11,
            "guild_id": str(GUILD_ID),
            "parent_id": str(CHANNEL_ID),
            "name": name,
            "owner_id": str(owner),
            "message_count": 0,
            "member_count": 1,
            "thread_metadata": {
                "archived": False,
                "locked": False,
                "auto_archive_duration": 1440,
                "archive_timestamp": now_iso(),
            },
            "newly_created": True,
        }
        self.threads[int(starter["id"])] = thread
        return thread

    # -- REST ----------------------------------------------------------------------------

    def bot_message(self, channel: int, payload: _Json) -> _Json:
        """A message of easel's made by an interaction's answer or follow-up (`channel` 0:
        one the fake did not send). An ephemeral one is its presser's alone: it is in no
        channel's history."""
        mid = self.new_id()
        bot = user(BOT_ID, "easel", bot=True)
        message = self._message(mid, channel or CHANNEL_ID, payload.get("content", ""), bot, [])
        self._edit(message, payload, [])
        message["flags"] = int(payload.get("flags") or 0) & EPHEMERAL
        self.messages[mid] = message
        return message

    def _message(
        self, mid: int, channel: int, content: str, author: _Json, attachments: list[_Json]
    ) -> _Json:
        return {
            "id": str(mid),
            "channel_id": str(channel),
            "author": author,
            "content": content,
            "timestamp": now_iso(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": attachments,
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
            "components": [],
        }

    async def _read(self, request: web.Request) -> tuple[_Json, list[tuple[str, bytes]]]:
        if request.content_type.startswith("multipart/"):
            payload: _Json = {}
            files: list[tuple[str, bytes]] = []
            reader = await request.multipart()
            async for part in reader:
                assert isinstance(part, BodyPartReader)
                if part.name == "payload_json":
                    payload = json.loads(await part.text())
                else:
                    files.append((part.filename or "file", bytes(await part.read())))
            return payload, files
        if request.can_read_body:
            return await request.json(), []
        return {}, []

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["path"]
        payload, files = await self._read(request)
        call = Call(
            request.method,
            path,
            time.monotonic(),
            payload=payload,
            files=[(name, len(data)) for name, data in files],
        )
        self.calls.append(call)
        fault = self.faults.take(route_name(request.method, path), request)
        if fault is not None:
            call.status = fault.recorded_status
            if fault.kind is not Kind.LOST:
                return await self.faults.answer(fault, request)
        response = self._answer(request, path, payload, files, call)
        return self.faults.lose(request, response) if fault is not None else response

    def _answer(
        self,
        request: web.Request,
        path: str,
        payload: _Json,
        files: list[tuple[str, bytes]],
        call: Call,
    ) -> web.StreamResponse:
        needs_bot_token = not path.startswith(("/webhooks/", "/interactions/"))
        if needs_bot_token and request.headers.get("Authorization") != f"Bot {self.token}":
            call.status = 401
            return json_response({"message": "401: Unauthorized", "code": 0}, 401)
        try:
            status, body = self._route(request.method, path, payload, files)
        except KeyError:
            status, body = 404, {"message": "Unknown Message", "code": 10008}
        call.status = status
        if status == 204:
            return web.Response(status=204)
        return json_response(body, status)

    def _route(
        self, method: str, path: str, payload: _Json, files: list[tuple[str, bytes]]
    ) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if path == "/users/@me":
            return 200, user(BOT_ID, "easel", bot=True)
        if path == "/oauth2/applications/@me":
            return 200, {
                "id": str(APP_ID),
                "name": "easel",
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "verify_key": "0" * 64,
                "flags": self.app_flags,
                "owner": user(1, "owner"),
                "team": None,
                "summary": "",
                "interactions_endpoint_url": None,
            }
        if path == "/gateway/bot":
            return 200, {
                "url": f"ws://{self.base_url[7:]}/gateway",
                "shards": self.recommended_shards,
                "session_start_limit": {
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            }
        if parts[0] == "applications" and parts[-1] == "commands" and method == "PUT":
            where = parts[3] if len(parts) == 5 else "global"
            synced = [
                {
                    **c,
                    "id": str(COMMAND_ID),
                    "application_id": str(APP_ID),
                    "version": "1",
                    "default_member_permissions": None,
                    "type": 1,
                }
                for c in payload
            ]  # type: ignore[union-attr]
            self.commands[where] = synced
            return 200, synced
        if parts[0] == "interactions" and parts[-1] == "callback":
            return self.interactions.callback(int(parts[1]), parts[2], payload)
        if parts[0] == "webhooks" and len(parts) == 3 and method == "POST":
            return self.interactions.followup(parts[2], payload)
        if parts[0] == "webhooks" and parts[-1] == "@original":
            token = parts[2]
            if token in self.expired:
                return 401, {"message": "Invalid Webhook Token", "code": 50027}
            mid = self.originals[token]
            if method == "PATCH":
                self._edit(self.messages[mid], payload, files)
            return 200, self.messages[mid]
        if parts[0] == "channels":
            return self._channel(method, parts, payload, files)
        return 404, {"message": "404: Not Found", "code": 0}

    def _channel(
        self, method: str, parts: list[str], payload: _Json, files: list[tuple[str, bytes]]
    ) -> tuple[int, Any]:
        cid = int(parts[1])
        if len(parts) == 3 and method == "POST":  # create a message
            mid = self.new_id()
            message = self._message(
                mid, cid, payload.get("content", ""), user(BOT_ID, "easel", bot=True), []
            )
            self._edit(message, payload, files)
            if "message_reference" in payload:
                message["message_reference"] = payload["message_reference"]
            self.messages[mid] = message
            return 200, message
        mid = int(parts[3])
        message = self.messages[mid]
        if int(message["channel_id"]) != cid:
            raise KeyError(mid)
        if len(parts) == 5 and parts[4] == "threads" and method == "POST":
            thread = {
                "id": str(mid),
                "type": 11,
                "guild_id": str(self.guild_of(cid)),
                "parent_id": str(cid),
                "name": payload["name"],
                "owner_id": str(BOT_ID),
                "message_count": 0,
                "member_count": 1,
                "thread_metadata": {
                    "archived": False,
                    "locked": False,
                    "auto_archive_duration": payload.get("auto_archive_duration", 1440),
                    "archive_timestamp": now_iso(),
                },
            }
            self.threads[mid] = thread
            return 201, thread
        if method == "PATCH":
            self._edit(message, payload, files)
        if method == "DELETE":
            # A bot deletes its own messages; others' need Manage Messages, which easel is not
            # given. A thread started from the message stays, with its messages.
            if message["author"]["id"] != str(BOT_ID):
                return 403, MISSING_PERMISSIONS
            del self.messages[mid]
            return 204, None
        return 200, message

    def blobs_by_name(self, prefix: str) -> list[str]:
        """Ids of the files easel attached whose names start with `prefix`, oldest first."""
        return [aid for aid, name in self._attached_names.items() if name.startswith(prefix)]

    def _edit(self, message: _Json, payload: _Json, files: list[tuple[str, bytes]]) -> None:
        if "content" in payload:
            message["content"] = payload["content"]
        if "components" in payload:
            message["components"] = payload["components"] or []
        if "attachments" in payload or files:
            kept = {a["id"]: a for a in message["attachments"]}
            new: list[_Json] = []
            for spec in payload.get("attachments", []):
                if str(spec["id"]) in kept:
                    new.append(kept[str(spec["id"])])
            for name, data in files:
                aid = self.new_id()
                self.blobs[aid] = data
                self._attached_names[str(aid)] = name
                new.append(
                    {
                        "id": str(aid),
                        "filename": name,
                        "size": len(data),
                        "content_type": _content_type(name),
                        "url": f"{self.base_url}/cdn/attachments/{aid}/{name}",
                        "proxy_url": f"{self.base_url}/cdn/attachments/{aid}/{name}",
                    }
                )
            message["attachments"] = new
        message["edited_timestamp"] = now_iso()

    async def _cdn(self, request: web.Request) -> web.StreamResponse:
        if (faulty := await self.faults.intercept("cdn", request)) is not None:
            return faulty
        aid = int(request.match_info["id"])
        data = self.blobs.get(aid)
        if data is None:
            raise web.HTTPNotFound()
        self.downloads.append(aid)
        return web.Response(body=data, content_type=_content_type(request.match_info["name"]))

    # -- views for assertions ------------------------------------------------------------

    def rest(self, method: str, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    def bot_messages_in(self, channel: int) -> list[_Json]:
        return [
            m
            for m in self.messages.values()
            if int(m["channel_id"]) == channel
            and m["author"]["id"] == str(BOT_ID)
            and not m.get("flags", 0) & EPHEMERAL
        ]


def _error_json(fault: Fault) -> tuple[_Json, dict[str, str]]:
    """Discord's body and headers for an HTTP error status."""
    if fault.status != 429:
        message = f"{fault.status}: {HTTPStatus(fault.status).phrase}"
        return {"message": message, "code": 0}, {}
    body: _Json = {"message": "You are being rate limited.", "global": False}
    headers = {
        "Via": "1.1 google",
        "X-RateLimit-Limit": "5",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Bucket": "fake-bucket",
        "X-RateLimit-Scope": "user",
    }
    if fault.retry_after is not None:
        body["retry_after"] = fault.retry_after
        headers["X-RateLimit-Reset-After"] = str(fault.retry_after)
    return body, headers


def _under(prefix: str, method: str | None = None) -> Callable[[web.Request], bool]:
    """Whether a REST request is `method` (any when None) on a path under `prefix`."""

    def matches(request: web.Request) -> bool:
        path = request.match_info.get("path")
        if path is None or (method is not None and request.method != method):
            return False
        return ("/" + path).startswith(prefix)

    return matches


def route_name(method: str, path: str) -> str:
    """The name of a REST route, as `faults` knows it; "rest" for one the fake lacks."""
    parts = path.strip("/").split("/")
    if parts[0] == "interactions" and parts[-1] == "callback":
        return "interaction_callback"
    if parts[0] == "webhooks" and parts[-1] == "@original":
        return "edit_original" if method == "PATCH" else "original_get"
    if parts[0] == "webhooks" and len(parts) == 3:
        return "followup"
    if parts[0] == "applications" and parts[-1] == "commands":
        return "commands_sync"
    if parts[0] == "channels" and len(parts) == 3:
        return "message_create"
    if parts[0] == "channels" and len(parts) == 5 and parts[4] == "threads":
        return "thread_create"
    if parts[0] == "channels" and len(parts) == 4:
        return _MESSAGE_ROUTES.get(method, "rest")
    return _FIXED_ROUTES.get(path, "rest")


_MESSAGE_ROUTES = {"GET": "message_get", "PATCH": "message_edit", "DELETE": "message_delete"}
_FIXED_ROUTES = {
    "/users/@me": "user_me",
    "/oauth2/applications/@me": "application_me",
    "/gateway/bot": "gateway_bot",
}
ROUTES = frozenset(
    {
        "interaction_callback",
        "edit_original",
        "original_get",
        "followup",
        "commands_sync",
        "message_create",
        "thread_create",
        *_MESSAGE_ROUTES.values(),
        *_FIXED_ROUTES.values(),
        "rest",  # any other REST path
        "cdn",  # attachment downloads
        "gateway",  # the gateway's WebSocket handshake
    }
)


def _content_type(name: str) -> str:
    ext = name.rsplit(".", 1)[-1].lower()
    return {
        "png": "image/png",
        "jpeg": "image/jpeg",
        "jpg": "image/jpeg",
        "webp": "image/webp",
        "gif": "image/gif",
    }.get(ext, "application/octet-stream")


async def wait_ready(fake: FakeDiscord, within: float = 10) -> None:
    async with asyncio.timeout(within):
        await fake.ready.wait()
