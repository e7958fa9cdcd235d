"""Short-lived, unguessable preview URLs served by easel itself (HTTP mode behind a host).

With EASEL_PUBLIC_URL set, a preview needs no upload and no processing wait: Slack fetches
the image from easel. Each URL dies after `ttl` seconds and is forgotten when replaced. The
images live in the store, so behind a load balancer any replica answers for any preview.
"""

from __future__ import annotations

import secrets

from aiohttp import web

from bot.ports import PublicPreviews


class PreviewHost:
    def __init__(self, *, public_url: str, previews: PublicPreviews, ttl: float = 600.0) -> None:
        self._base = public_url.rstrip("/")
        self._previews = previews
        self._ttl = ttl

    async def put(self, data: bytes, *, mime_type: str, replaces: str | None = None) -> str:
        """Serve `data` at a new URL; forget the one it replaces. Returns the URL."""
        if replaces is not None:
            await self.drop(replaces)
        token = secrets.token_urlsafe(24)
        await self._previews.put(token, mime_type=mime_type, data=data, ttl=self._ttl)
        return f"{self._base}/previews/{token}"

    async def drop(self, url: str) -> None:
        await self._previews.drop(url.rsplit("/", 1)[-1])

    async def handle(self, request: web.Request) -> web.Response:
        entry = await self._previews.get(request.match_info["token"])
        if entry is None:
            raise web.HTTPNotFound()
        mime_type, data = entry
        return web.Response(
            body=data, content_type=mime_type, headers={"Cache-Control": "no-store"}
        )

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/previews/{token}", self.handle)]
