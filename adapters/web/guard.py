"""Whom the playground answers: this machine, at the page's own address, with the page's token.

The playground has no accounts, so a request must come from a loopback peer, name this server
by its own loopback address in `Host` (a rebound DNS name is someone else's page), and, to read
the stream or draw, carry the per-process token that only the served page holds. A drawing
must also come from the page's own origin: another site's tab on this machine cannot post one.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

TOKEN_HEADER = "X-Easel-Token"  # on the page's posts: /api/draw and /api/press
TOKEN_QUERY = "token"  # on GET /events: EventSource cannot set headers
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
SAME_SITE = frozenset({"same-origin", "none"})


class Guard:
    """Wraps the playground's handlers in the checks each kind of route needs."""

    def __init__(self) -> None:
        self.token = secrets.token_urlsafe(32)

    def page(self, handler: Handler) -> Handler:
        """For what the page reads by URL: the page, its assets, its images."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            _check_address(request)
            return await handler(request)

        return guarded

    def stream(self, handler: Handler) -> Handler:
        """For the event stream: every prompt and image of this process."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            _check_address(request)
            self._check_token(request.query.get(TOKEN_QUERY))
            return await handler(request)

        return guarded

    def action(self, handler: Handler) -> Handler:
        """For requests that change something (and may spend money): the page's own posts."""

        async def guarded(request: web.Request) -> web.StreamResponse:
            _check_address(request)
            _check_origin(request)
            self._check_token(request.headers.get(TOKEN_HEADER))
            return await handler(request)

        return guarded

    def _check_token(self, given: str | None) -> None:
        expected = self.token.encode()
        if given is None or not hmac.compare_digest(given.encode("utf-8", "replace"), expected):
            log.warning("refused a playground request without the page's token")
            raise web.HTTPForbidden(
                text="This request lacks the playground page's token: reload it."
            )


def _check_address(request: web.Request) -> None:
    if not _loopback(request.remote):
        raise web.HTTPForbidden(text="The easel playground answers only this machine.")
    host = request.headers.get("Host", "")
    bound = _bound(request)
    if bound is None or host.lower() not in own_hosts(*bound):
        log.warning("refused a playground request for host %r", host[:100])
        port = bound[1] if bound else "PORT"
        raise web.HTTPMisdirectedRequest(
            text=f"The easel playground answers only at http://127.0.0.1:{port}/ on this machine."
        )


def _check_origin(request: web.Request) -> None:
    origin = request.headers.get("Origin")
    if origin is not None:
        same = origin.lower() == f"http://{request.headers.get('Host', '').lower()}"
    else:  # browsers that send no Origin still say where a request comes from
        same = request.headers.get("Sec-Fetch-Site", "none") in SAME_SITE
    if not same:
        log.warning("refused a cross-site playground request from %r", (origin or "")[:100])
        raise web.HTTPForbidden(text="easel's playground takes drawings only from its own page.")


def own_hosts(address: str, port: int) -> set[str]:
    """This server's names: the loopback ones, and the address it was reached at if local."""
    names = set(LOOPBACK_NAMES)
    if _loopback(address):
        names.add(f"[{address}]" if ":" in address else address)
    hosts = {f"{name}:{port}" for name in names}
    return hosts | names if port == 80 else hosts  # a browser omits the default port


def _loopback(address: str | None) -> bool:
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def _bound(request: web.Request) -> tuple[str, int] | None:
    """The local address and port this request arrived at."""
    name = request.transport.get_extra_info("sockname") if request.transport else None
    return (str(name[0]), int(name[1])) if isinstance(name, tuple) else None
