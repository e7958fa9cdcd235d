"""A fake Slack Socket Mode endpoint: `apps.connections.open` on a FakeSlack, and a WebSocket.

The real `slack_sdk.socket_mode.aiohttp.SocketModeClient` (what Bolt's AsyncSocketModeHandler
runs) connects to it as to Slack: it calls `apps.connections.open` with the app-level token,
gets a single-use `ws://` URL, receives `hello`, then envelopes, and acknowledges each one
with `{"envelope_id": ..., "payload": ...}`. Like Slack, the app token is good only for
`apps.connections.open`, and a bot token is refused there (`not_allowed_token_type`).

Ack mistakes a careful client must avoid are recorded in `violations`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import uuid
from types import TracebackType
from typing import Any, Self

from aiohttp import WSCloseCode, WSMsgType, web

from tests.fakes.server import LocalServer
from tests.fakes.slack_server import FakeSlack

__all__ = ["FakeSocketMode"]

_Json = dict[str, Any]
ACK_TIMEOUT = 5.0
OPEN_METHOD = "apps.connections.open"


class FakeSocketMode(LocalServer):
    """Slack's side of Socket Mode, served on its own 127.0.0.1 port next to `slack`."""

    def __init__(self, slack: FakeSlack, *, app_token: str = "xapp-test") -> None:
        app = web.Application()
        app.router.add_get("/link/", self._link)
        app.on_shutdown.append(self._close_sockets)
        super().__init__(app)
        self.slack = slack
        self.app_token = app_token
        self.app_id = "A1"
        self.acks: list[_Json] = []  # every envelope acknowledgement, in order of arrival
        self.envelopes: list[_Json] = []  # every envelope sent
        self.other: list[str] = []  # text frames that were not acknowledgements
        self.pings: list[bytes] = []  # payloads of the client's WebSocket pings
        self.violations: list[str] = []
        self.opens = 0  # successful apps.connections.open calls
        self.connections = 0  # WebSockets accepted (each got a hello)
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._accepts_payload: dict[str, bool] = {}
        self._acked: set[str] = set()
        self._waiting: dict[str, asyncio.Future[_Json]] = {}
        self._hello = asyncio.Event()

    # ---- lifecycle

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.slack.tokens.add(self.app_token)
        self.slack._methods[OPEN_METHOD] = self._open
        check = self.slack._authorized

        def authorized(request: web.Request, args: _Json) -> str | None:
            return self._authorized(check, request, args)

        self.slack._authorized = authorized  # type: ignore[method-assign]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.slack._methods.pop(OPEN_METHOD, None)
        self.slack.tokens.discard(self.app_token)
        with contextlib.suppress(AttributeError):
            del self.slack._authorized  # back to the class's own check
        for future in self._waiting.values():
            future.cancel()
        await super().__aexit__(exc_type, exc, tb)

    async def _close_sockets(self, app: web.Application | None = None) -> None:
        await self.drop(message=b"server shutdown")

    # ---- test controls

    @property
    def open_sockets(self) -> int:
        return sum(1 for ws in self._sockets if not ws.closed)

    async def connected(self, within: float = ACK_TIMEOUT) -> None:
        """Wait until a client is connected and has been sent its `hello`."""
        async with asyncio.timeout(within):
            await self._hello.wait()

    async def send(
        self,
        type_: str,
        payload: _Json,
        *,
        accepts_response_payload: bool = False,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> _Json:
        """Send an envelope on the newest connection; return the client's ack (5 s at most)."""
        ws = self._current()
        envelope_id = str(uuid.uuid4())
        envelope: _Json = {
            "envelope_id": envelope_id,
            "type": type_,
            "accepts_response_payload": accepts_response_payload,
            "payload": payload,
        }
        if type_ == "events_api":
            envelope.update(retry_attempt=retry_attempt, retry_reason=retry_reason)
        future: asyncio.Future[_Json] = asyncio.get_running_loop().create_future()
        self._waiting[envelope_id] = future
        self._accepts_payload[envelope_id] = accepts_response_payload
        self.envelopes.append(envelope)
        try:
            await ws.send_json(envelope)
            async with asyncio.timeout(ACK_TIMEOUT):
                return await future
        finally:
            self._waiting.pop(envelope_id, None)

    async def disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the client to reconnect, as Slack does before it retires a connection."""
        ws = self._current()
        await ws.send_json(
            {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}}
        )

    async def drop(self, *, message: bytes = b"going away") -> None:
        """Close every connection from the server side (Slack going away, a network cut)."""
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1):
                    await ws.close(code=WSCloseCode.GOING_AWAY, message=message)

    # ---- Web API side

    def _authorized(self, check: Any, request: web.Request, args: _Json) -> str | None:
        """FakeSlack's token check, plus Slack's rule on token types for Socket Mode."""
        header = request.headers.get("Authorization", "")
        token = header[7:] if header.startswith("Bearer ") else args.get("token")
        error: str | None = check(request, args)
        if error is not None:
            return error
        opening = request.match_info.get("method") == OPEN_METHOD
        if opening != (token == self.app_token):
            return "not_allowed_token_type"
        return None

    def _open(self, args: _Json) -> _Json:
        ticket = secrets.token_hex(16)
        self._tickets.add(ticket)
        self.opens += 1
        url = self.base_url.replace("http://", "ws://", 1)
        return {"url": f"{url}/link/?ticket={ticket}&app_id={self.app_id}"}

    # ---- WebSocket side

    def _current(self) -> web.WebSocketResponse:
        live = [ws for ws in self._sockets if not ws.closed]
        if not live:
            raise RuntimeError("no Socket Mode client is connected")
        return live[-1]

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:  # each URL from apps.connections.open works once
            return web.Response(status=401, text="invalid ticket")
        self._tickets.discard(ticket)
        ws = web.WebSocketResponse(autoping=False, timeout=2.0)
        await ws.prepare(request)
        self._sockets.append(ws)
        self.connections += 1
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": self.open_sockets,
                    "debug_info": {
                        "host": "applink-fake",
                        "build_number": 1,
                        "approximate_connection_time": 18060,
                    },
                    "connection_info": {"app_id": self.app_id},
                }
            )
            self._hello.set()
            async for message in ws:
                if message.type is WSMsgType.TEXT:
                    self._receive(message.data)
                elif message.type is WSMsgType.PING:
                    self.pings.append(message.data)
                    await ws.pong(message.data)
                elif message.type is WSMsgType.BINARY:
                    self.other.append(repr(message.data))
        finally:
            self._sockets.remove(ws)
            if not self.open_sockets:
                self._hello.clear()
        return ws

    def _receive(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            message = None
        if not isinstance(message, dict) or "envelope_id" not in message:
            self.other.append(text)
            return
        envelope_id = message["envelope_id"]
        self.acks.append(message)
        accepts = self._accepts_payload.get(envelope_id)
        if accepts is None:
            self.violations.append(f"ack for an unknown envelope {envelope_id}")
        elif "payload" in message and not accepts:
            self.violations.append(f"ack payload for {envelope_id}, which takes none: {text}")
        if envelope_id in self._acked:
            self.violations.append(f"a second ack for {envelope_id}")
        self._acked.add(envelope_id)
        future = self._waiting.get(envelope_id)
        if future is not None and not future.done():
            future.set_result(message)
