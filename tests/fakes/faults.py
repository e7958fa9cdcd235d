"""A fault switch for the fake servers: the next N calls of a named method (or all of them,
until cleared) fail the way real services and the networks in front of them fail.

    fake.faults.set("chat.update", status(503, body="html"), times=2)
    fake.faults.set("message_edit", RESET)
    fake.faults.set("responses.create", rate_limited(retry_after=None), times=None)
    fake.faults.clear("responses.create")

The shapes (`Fault`):
- an answer: any status with a JSON body (the fake's own error body for the status, or one
  given), a load balancer's HTML page, a proxy's text line, or nothing; `Retry-After` when
  `retry_after` is set (`status()`, `rate_limited()`, `answer()`);
- RESET: the connection reset (TCP RST) before any answer;
- DISCONNECT: the connection closed (FIN) before any answer;
- HANG: no answer until the fake closes (then the connection is dropped);
- TRUNCATE: a 200 whose `Content-Length` promises more than is sent before the connection
  closes;
- LOST: the call is carried out, then its answer is lost (the connection reset): the client
  cannot know that it worked.

Each fake names its methods (Slack's Web API methods, Discord's routes, OpenAI's operations)
and renders the JSON body of an error answer as that service does; `set()` refuses a name the
fake does not serve. `where=` arms a fault for every request a predicate matches instead
(the name is then only a label to clear it by).
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections import deque
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from http import HTTPStatus
from typing import Any, Literal

from aiohttp import web

Json = dict[str, Any]
BodyShape = Literal["json", "html", "text", "empty"]
# The JSON body and the extra headers a service answers `fault.status` with.
Render = Callable[["Fault"], tuple[Json, Mapping[str, str]]]
Where = Callable[[web.Request], bool]

HTML_PAGE = (
    "<html>\r\n<head><title>{status} {phrase}</title></head>\r\n"
    "<body>\r\n<center><h1>{status} {phrase}</h1></center>\r\n"
    "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
PROXY_TEXT = (
    "upstream connect error or disconnect/reset before headers. "
    "reset reason: connection termination"
)
NO_ANSWER = 0  # the status recorded for a call that got no HTTP answer


class Kind(StrEnum):
    ANSWER = "answer"
    RESET = "reset"
    DISCONNECT = "disconnect"
    HANG = "hang"
    TRUNCATE = "truncate"
    LOST = "lost"


@dataclass(frozen=True)
class Fault:
    kind: Kind = Kind.ANSWER
    status: int = 503
    body: BodyShape = "json"
    retry_after: float | None = None  # seconds, sent as `Retry-After`
    payload: Json | None = None  # the JSON body; None: the fake's own error body for `status`
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def recorded_status(self) -> int:
        """The status a fake records for the call: NO_ANSWER when none was sent."""
        if self.kind is Kind.TRUNCATE:
            return 200
        return self.status if self.kind is Kind.ANSWER else NO_ANSWER


def status(code: int = 503, *, body: BodyShape = "json", retry_after: float | None = None) -> Fault:
    """An error answer: `code` with a body of the given shape."""
    return Fault(status=code, body=body, retry_after=retry_after)


def rate_limited(retry_after: float | None = 1, *, body: BodyShape = "json") -> Fault:
    """429, with `Retry-After` when `retry_after` is not None."""
    return Fault(status=429, body=body, retry_after=retry_after)


def answer(code: int, payload: Json, *, headers: Mapping[str, str] | None = None) -> Fault:
    """`code` with exactly this JSON body (Slack's `{"ok": false, ...}` at 200, say)."""
    return Fault(status=code, payload=payload, headers=dict(headers or {}))


RESET = Fault(Kind.RESET)
DISCONNECT = Fault(Kind.DISCONNECT)
HANG = Fault(Kind.HANG)
TRUNCATE = Fault(Kind.TRUNCATE)
LOST = Fault(Kind.LOST)


@dataclass
class _Armed:
    fault: Fault
    left: int | None  # None: until cleared
    where: Where | None = None


class Faults:
    """One fake's switch. The fake calls `intercept(name, request)` before answering."""

    def __init__(
        self, *, names: Callable[[], Collection[str]], render: Render, closing: asyncio.Event
    ) -> None:
        self._names = names
        self._render = render
        self._closing = closing
        self._armed: dict[str, deque[_Armed]] = {}
        self.fired: list[tuple[str, Fault]] = []  # (method name, fault), in order

    def set(
        self, name: str, fault: Fault, *, times: int | None = 1, where: Where | None = None
    ) -> None:
        """The next `times` calls of `name` (None: all, until cleared; 0: none) get `fault`,
        replacing whatever was armed for `name`."""
        self.clear(name)
        self.add(name, fault, times=times, where=where)

    def add(
        self, name: str, fault: Fault, *, times: int | None = 1, where: Where | None = None
    ) -> None:
        """Like `set`, but after whatever is armed for `name` has been used up."""
        if where is None and name not in self._names():
            known = ", ".join(sorted(self._names()))
            raise KeyError(f"this fake serves no method {name!r}; it serves {known}")
        if times is None or times > 0:
            self._armed.setdefault(name, deque()).append(_Armed(fault, times, where))

    def clear(self, name: str | None = None) -> None:
        """Disarm `name` (every name when None)."""
        if name is None:
            self._armed.clear()
        else:
            self._armed.pop(name, None)

    def take(self, name: str, request: web.Request) -> Fault | None:
        """The fault this call of `name` gets, if any, counted as used."""
        for key, queue in self._armed.items():
            armed = queue[0] if queue else None
            if armed is None or (armed.where is None and key != name):
                continue
            if armed.where is not None and not armed.where(request):
                continue
            if armed.left is not None:
                armed.left -= 1
                if armed.left <= 0:
                    queue.popleft()
            self.fired.append((name, armed.fault))
            return armed.fault
        return None

    async def intercept(self, name: str, request: web.Request) -> web.StreamResponse | None:
        """The faulty answer for this call of `name`, or None to answer it as usual (a LOST
        fault is answered by `lose()` after the call is carried out)."""
        fault = self.take(name, request)
        if fault is None or fault.kind is Kind.LOST:
            return None
        return await self.answer(fault, request)

    @staticmethod
    def lose(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        """Carried out, and then the answer is lost: the connection resets before it."""
        drop(request, reset=True)
        return response

    async def answer(self, fault: Fault, request: web.Request) -> web.StreamResponse:
        """Answer `request` as `fault` says (an answer, or what stands for none)."""
        if fault.kind is Kind.ANSWER:
            return self._response(fault)
        if fault.kind is Kind.TRUNCATE:
            return await truncate(request)
        if fault.kind is Kind.HANG:
            await self._closing.wait()
        drop(request, reset=fault.kind is Kind.RESET)
        return web.Response(status=fault.recorded_status or 500)  # never reaches the client

    def _response(self, fault: Fault) -> web.Response:
        headers = dict(fault.headers)
        if fault.retry_after is not None:
            headers["Retry-After"] = seconds(fault.retry_after)
        if fault.body == "json":
            if fault.payload is None:
                payload, extra = self._render(fault)
            else:
                payload, extra = fault.payload, {}
            return json_response(payload, fault.status, {**extra, **headers})
        if fault.body == "html":
            phrase = HTTPStatus(fault.status).phrase
            page = HTML_PAGE.format(status=fault.status, phrase=phrase)
            return web.Response(
                status=fault.status, text=page, content_type="text/html", headers=headers
            )
        if fault.body == "text":
            return web.Response(status=fault.status, text=PROXY_TEXT, headers=headers)
        return web.Response(status=fault.status, headers=headers)


def seconds(value: float) -> str:
    """A `Retry-After` value: whole seconds as an integer, anything else as written."""
    return str(int(value)) if float(value).is_integer() else str(value)


def json_response(body: Any, status: int, headers: Mapping[str, str] | None = None) -> web.Response:
    """JSON labelled exactly `application/json` (discord.py parses nothing else as JSON)."""
    return web.Response(
        body=json.dumps(body).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def drop(request: web.Request, *, reset: bool) -> None:
    """Close the request's connection: with a TCP RST when `reset`, else a plain FIN."""
    transport = request.transport
    if transport is None or transport.is_closing():
        return
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:  # SO_LINGER on, timeout 0: close() sends RST at once
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    else:
        transport.close()


async def truncate(request: web.Request) -> web.StreamResponse:
    """A 200 JSON answer whose `Content-Length` counts twice the bytes sent; then FIN."""
    whole = b'{"ok": true, "padding": "' + b"x" * 2048 + b'"}'
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.content_length = len(whole)
    await response.prepare(request)
    await response.write(whole[: len(whole) // 2])
    drop(request, reset=False)
    return response
