"""The playground's HTTP side: the page, live updates over SSE, /draw, and the images."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path

from aiohttp import BodyPartReader, web
from aiohttp_sse import EventSourceResponse, sse_response

from adapters.web.guard import Guard
from adapters.web.hub import Hub, Message
from adapters.web.surface import WebSurface
from bot.errors import EaselError
from bot.images import MAX_INPUT_BYTES
from bot.models import DrawRequest, StoredTurn
from bot.turns.service import DrawService

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
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
        self._closing = asyncio.Event()
        self._turns = turns
        self._interval = preview_interval
        turns.reopen_with("web", self.reopen)

    def reopen(self, turn: StoredTurn, *, request: DrawRequest | None = None) -> WebSurface:
        """A surface for a turn of an earlier run (whose page is gone): says how it ended."""
        drawn = request or turn.retried_by(turn.user_id)
        return WebSurface(hub=self.hub, request=drawn, preview_interval=self._interval)

    def routes(self) -> list[web.RouteDef]:
        guard = self._guard
        return [
            web.get("/", guard.page(self.index)),
            web.get("/static/{name}", guard.page(self.static)),
            web.get("/events", guard.stream(self.events)),
            web.post("/api/draw", guard.action(self.draw)),
            web.get("/images/{token}", guard.page(self.image)),
        ]

    async def index(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text=self._page, content_type="text/html", headers=PAGE_HEADERS)

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if name not in {"app.js", "style.css"}:
            raise web.HTTPNotFound()
        return web.FileResponse(STATIC / name)

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

    async def draw(self, request: web.Request) -> web.StreamResponse:
        fields, files = await _read_form(request)
        prompt = fields.get("prompt", "").strip()
        if prompt.startswith("/draw"):
            prompt = prompt.removeprefix("/draw").strip()
        thread = fields.get("thread") or None
        if thread is not None and thread not in self.hub.threads:
            return web.json_response({"error": "That thread is not easel's."}, status=404)
        request_id = fields.get("id") or uuid.uuid4().hex
        draw = DrawRequest(
            platform="web",
            workspace="local",
            channel="playground",
            user_id="you",
            prompt=prompt,
            thread=thread,
            dedupe_key=f"web:{request_id}",
            attachment_count=len(files),
        )
        try:
            await self._turns.draw(
                draw,
                lambda admitted: WebSurface(
                    hub=self.hub, request=admitted, attached=files, preview_interval=self._interval
                ),
            )
        except EaselError as exc:
            return web.json_response({"error": exc.user_message}, status=400)
        if thread is not None:
            self.hub.add(Message(id=self.hub.new_id(), thread=thread, author="you", text=prompt))
        return web.json_response({"ok": True}, status=202)


async def _read_form(request: web.Request) -> tuple[dict[str, str], list[tuple[str, bytes]]]:
    """Text fields and image files of a multipart form, reading at most MAX_INPUT_BYTES."""
    fields: dict[str, str] = {}
    files: list[tuple[str, bytes]] = []
    if not request.content_type.startswith("multipart/"):
        form = await request.post()
        return {k: str(v) for k, v in form.items()}, files
    reader = await request.multipart()
    total = 0
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader):
            continue
        if part.filename:
            chunks = []
            while chunk := await part.read_chunk():
                total += len(chunk)
                if total > MAX_INPUT_BYTES:
                    raise web.HTTPRequestEntityTooLarge(
                        max_size=MAX_INPUT_BYTES,
                        actual_size=total,
                        text="easel takes up to 20 MB of images per message.",
                    )
                chunks.append(chunk)
            files.append((part.filename, b"".join(chunks)))
        elif part.name:
            fields[part.name] = await part.text()
    return fields, files


def _safe(name: str) -> str:
    return "".join(c for c in name if c.isalnum() or c in "._-") or "easel.png"
