"""The HTTP client under the OpenAI SDK reads a streamed body in large pieces, not the
transport's 16 KiB: a drawing's 10 MB of events make a tenth of the hops up the stack."""

from __future__ import annotations

from aiohttp import web

from adapters.openai_http import READ_LIMIT, openai_http
from bot.config import load_config
from tests.fakes.server import LocalServer

BODY = 4 * 2**20


async def stream(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
    await response.prepare(request)
    piece = b"x" * 2**20
    for _ in range(BODY // len(piece)):
        await response.write(piece)
    await response.write_eof()
    return response


async def test_a_streamed_body_arrives_whole_in_pieces_larger_than_16_kib(
    env: dict[str, str],
) -> None:
    app = web.Application()
    app.router.add_get("/stream", stream)
    async with (
        LocalServer(app) as server,
        openai_http(load_config(env)) as http,
        http.stream("GET", f"{server.origin}/stream") as response,
    ):
        sizes = [len(chunk) async for chunk in response.aiter_raw()]
    assert sum(sizes) == BODY
    assert max(sizes) <= READ_LIMIT
    assert len(sizes) < BODY // (64 * 1024)  # 256 reads of 16 KiB before
