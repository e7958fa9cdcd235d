"""Builds every resource from the configuration, runs them, and shuts them down in order."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx2
import openai
from aiohttp import web

from adapters.discord.client import DiscordDeps
from adapters.discord.files import DiscordFiles
from adapters.discord.runner import DiscordRunner
from adapters.slack.runner import SlackRunner, slack_runner
from adapters.web.app import Playground
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.images import MAX_INPUT_BYTES
from bot.offline import OfflineImageBackend
from bot.openai_backend import OpenAIImageBackend
from bot.ports import ImageBackend, Reopen
from bot.service import DrawService
from bot.store import SqliteStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Runtime:
    service: DrawService
    store: SqliteStore
    slack: SlackRunner | None
    discord: DiscordRunner | None
    playground: Playground | None
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


def openai_client(config: Config, *, http: httpx2.AsyncClient) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        api_key=config.openai_api_key,
        base_url=config.openai_base_url,
        http_client=http,
        max_retries=config.openai_max_retries,
        timeout=httpx2.Timeout(config.openai_timeout, connect=10.0),
    )


def backend(config: Config, *, http: httpx2.AsyncClient) -> ImageBackend:
    if config.backend == "offline":
        log.warning(
            "drawing with the offline backend: pictures are made locally and labelled "
            "'offline preview' (set OPENAI_API_KEY to draw with OpenAI)"
        )
        return OfflineImageBackend()
    return OpenAIImageBackend(client=openai_client(config, http=http))


def web_app(
    *,
    store: SqliteStore,
    slack: SlackRunner | None,
    discord: DiscordRunner | None,
    playground: Playground | None,
) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        checks = {"store": await _store_ok(store)}
        if slack is not None:
            checks["slack"] = await slack.connected()
        if discord is not None:
            checks["discord"] = discord.connected()
        ok = all(checks.values())
        return web.json_response({"ok": ok, **checks}, status=200 if ok else 503)

    # The playground takes image uploads; Slack's own requests are small.
    app = web.Application(client_max_size=MAX_INPUT_BYTES + 2**20 if playground else 2**20)
    app.add_routes([web.get("/healthz", healthz)])
    if slack is not None:
        app.add_routes(slack.routes())
    if playground is not None:
        app.add_routes(playground.routes())
    return app


async def _store_ok(store: SqliteStore) -> bool:
    try:
        return await store.ping()
    except Exception:
        log.warning("health check: the store is not reachable", exc_info=True)
        return False


@asynccontextmanager
async def running(config: Config, *, clock: Clock | None = None) -> AsyncIterator[Runtime]:
    """Everything easel runs, started; on exit: stop intake, drain turns, close resources."""
    clock = clock or SystemClock()
    async with AsyncExitStack() as stack:
        # The SDK's aiohttp-backed httpx2 client: aiohttp's C HTTP parser reads a drawing's
        # ~14 MB of streamed events with 40% less CPU than httpx2's default transport.
        http = await stack.enter_async_context(
            openai.DefaultAioHttpClient(
                timeout=httpx2.Timeout(config.openai_timeout, connect=10.0),
                limits=httpx2.Limits(max_connections=200, max_keepalive_connections=50),
                follow_redirects=False,
            )
        )
        store = await stack.enter_async_context(SqliteStore(path=config.db_path, clock=clock))
        service = DrawService(
            store=store,
            backend=backend(config, http=http),
            defaults=config.defaults,
            prices=config.prices,
            clock=clock,
            delivery_max_pause=config.delivery_max_pause,
        )
        slack = None
        if config.slack is not None:
            slack = await stack.enter_async_context(
                slack_runner(
                    config=config, slack=config.slack, service=service, store=store, http=http
                )
            )
        discord = None
        if config.discord is not None:
            deps = DiscordDeps(
                service=service,
                store=store,
                files=DiscordFiles(http=http, api_url=config.discord.api_url),
                preview_interval=config.preview_interval,
                clock=clock,
            )
            discord = DiscordRunner(discord_config=config.discord, deps=deps)
        playground = None
        if config.playground:
            playground = Playground(service=service, store=store, preview_interval=0.2)
        runner = web.AppRunner(
            web_app(store=store, slack=slack, discord=discord, playground=playground),
            access_log=None,
        )
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        if playground is not None:
            stack.callback(playground.close)
        site = web.TCPSite(runner, config.host, config.port)
        await site.start()
        port = int(runner.addresses[0][1])
        log.info("listening on %s:%d", config.host, port)
        if discord is not None:
            # Closed after the drain below: running turns still edit their messages.
            stack.push_async_callback(discord.stop)
            await discord.start()
        stack.push_async_callback(service.aclose, grace=config.shutdown_grace)
        reopen: dict[str, Reopen] = {}
        if discord is not None and discord.client is not None:
            reopen["discord"] = discord.client.reopen
        if slack is not None:
            reopen["slack"] = slack.reopen
        if playground is not None:
            reopen["web"] = playground.reopen
        # What the last run left unfinished, before the first new turn can arrive.
        await service.recover(reopen)
        if slack is not None:
            stack.push_async_callback(slack.stop)
            await slack.start()
        yield Runtime(
            service=service,
            store=store,
            slack=slack,
            discord=discord,
            playground=playground,
            port=port,
        )
