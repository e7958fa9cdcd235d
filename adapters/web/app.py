"""The playground's HTTP side: the page, live updates over SSE, the page's posts, images."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from aiohttp import web
from aiohttp_sse import EventSourceResponse, sse_response

from adapters.web.guard import Guard
from adapters.web.hub import Hub
from adapters.web.posts import Posts
from adapters.web.surface import WebSurface
from bot.models import DrawRequest, StoredTurn
from bot.turns.service import DrawService

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
ICON = "icon.svg"  # easel's own icon, also served as /favicon.ico
TOKEN_PLACEHOLDER = "{{easel-token}}"  # in index.html; the page's token, filled in when served
PAGE_HEADERS = {
    "Cache-Control": "no-store",  # the token is this process's; a restart makes a new one
    "Content-Security-Policy": "frame-ancestors 'none'",  # no other site frames the page
}


class Playground:
    """A third adapter on the same DrawService: it builds DrawRequests and WebSurfaces."""

    def __init__(self, *, turns: DrawService, preview_interval: float) -> None:
        self.hub = Hub()
        self._guard = Guard()
        self._page = (
            (STATIC / "index.html").read_text("utf-8").replace(TOKEN_PLACEHOLDER, self._guard.token)
        )
        self._assets = {p.name for p in STATIC.iterdir() if p.is_file()} - {"index.html"}
        self._closing = asyncio.Event()
        self._interval = preview_interval
        self.posts = Posts(hub=self.hub, turns=turns, preview_interval=preview_interval)
        turns.reopen_with("web", self.reopen)

    def reopen(self, turn: StoredTurn, *, request: DrawRequest | None = None) -> WebSurface:
        """A surface for a stored turn: its message when it is still on the page (to delete
        it, or draw it again), else one that says how a turn of an earlier run ended."""
        drawn = request or turn.retried_by(turn.user_id)
        return WebSurface(
            hub=self.hub,
            request=drawn,
            preview_interval=self._interval,
            message=self.hub.find(turn.message.get("id")),
        )

    def routes(self) -> list[web.RouteDef]:
        guard = self._guard
        return [
            web.get("/", guard.page(self.index)),
            web.get("/static/{name}", guard.page(self.static)),
            web.get("/events", guard.stream(self.events)),
            web.post("/api/draw", guard.action(self.posts.draw)),
            web.post("/api/press", guard.action(self.posts.press)),
            web.get("/favicon.ico", guard.page(self.favicon)),
            web.get("/images/{token}", guard.page(self.image)),
        ]

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=self._page, content_type="text/html", headers=PAGE_HEADERS)

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in self._assets:
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name)

    async def favicon(self, request: web.Request) -> web.StreamResponse:
        icon = (STATIC / ICON).read_bytes()
        headers = {"Cache-Control": "public, max-age=86400"}
        return web.Response(body=icon, content_type="image/svg+xml", headers=headers)

    async def events(self, request: web.Request) -> web.StreamResponse:
        queue = self.hub.subscribe()
        try:
            async with sse_response(request) as stream:
                try:
                    await self._follow(queue, stream)
                except (ConnectionResetError, TimeoutError) as exc:
                    # A closed tab or a stalled one: nothing is wrong with easel.
                    log.debug("a playground tab went away (%s)", type(exc).__name__)
        finally:
            self.hub.unsubscribe(queue)
        return stream

    async def _follow(self, queue: asyncio.Queue[str], stream: EventSourceResponse) -> None:
        for message in self.hub.snapshot():
            await stream.send(json.dumps({"type": "message", "message": message}))
        while (payload := await self._next(queue, stream)) is not None:
            await stream.send(payload)

    async def _next(self, queue: asyncio.Queue[str], stream: EventSourceResponse) -> str | None:
        """The next update, or None once the tab has gone or easel is shutting down."""
        while stream.is_connected() and not self._closing.is_set():
            update = asyncio.ensure_future(queue.get())
            closing = asyncio.ensure_future(self._closing.wait())
            # Wake now and then to notice a tab that went away without a word.
            await asyncio.wait({update, closing}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
            closing.cancel()
            if update.done():
                return update.result()
            update.cancel()
        return None

    def close(self) -> None:
        """End every live stream, so shutting down does not wait for open tabs."""
        self._closing.set()

    async def image(self, request: web.Request) -> web.StreamResponse:
        found = self.hub.image(request.match_info["token"])
        if found is None:
            raise web.HTTPNotFound()
        mime_type, data = found
        headers = {"Cache-Control": "private, max-age=3600"}
        if name := request.query.get("download"):
            headers["Content-Disposition"] = f'attachment; filename="{_safe(name)}"'
        return web.Response(body=data, content_type=mime_type, headers=headers)


def _safe(name: str) -> str:
    return "".join(c for c in name if c.isalnum() or c in "._-") or "easel.png"
