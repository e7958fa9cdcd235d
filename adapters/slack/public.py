"""Short-lived, unguessable preview URLs served by easel itself (HTTP mode behind a host).

With EASEL_PUBLIC_URL set, a preview needs no upload and no processing wait: Slack fetches
the image from easel. Each URL dies after `ttl` seconds and is forgotten when replaced.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from aiohttp import web


class PreviewHost:
    def __init__(
        self, *, public_url: str, ttl: float = 600.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._base = public_url.rstrip("/")
        self._ttl = ttl
        self._clock = clock
        self._images: dict[str, tuple[float, str, bytes]] = {}

    def put(self, data: bytes, *, mime_type: str, replaces: str | None = None) -> str:
        """Serve `data` at a new URL; forget the one it replaces. Returns the URL."""
        self._expire()
        if replaces is not None:
            self.drop(replaces)
        token = secrets.token_urlsafe(24)
        self._images[token] = (self._clock() + self._ttl, mime_type, data)
        return f"{self._base}/previews/{token}"

    def drop(self, url: str) -> None:
        self._images.pop(url.rsplit("/", 1)[-1], None)

    def _expire(self) -> None:
        now = self._clock()
        for token in [t for t, (until, _, _) in self._images.items() if until <= now]:
            del self._images[token]

    async def handle(self, request: web.Request) -> web.Response:
        entry = self._images.get(request.match_info["token"])
        if entry is None or entry[0] <= self._clock():
            raise web.HTTPNotFound()
        _, mime_type, data = entry
        return web.Response(
            body=data, content_type=mime_type, headers={"Cache-Control": "no-store"}
        )

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/previews/{token}", self.handle)]
