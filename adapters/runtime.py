"""The composition root: builds every resource from the configuration, runs them, and shuts
them down in order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

import httpx2
import openai
from aiohttp import web

from adapters.discord.runner import DiscordRunner, discord_runner
from adapters.errors import StartupError
from adapters.metrics import exported
from adapters.openai_http import openai_http
from adapters.slack.runner import SlackRunner, slack_runner
from adapters.web.app import Playground
from bot.clock import Clock, SystemClock
from bot.config import Config
from bot.images import MAX_INPUT_BYTES
from bot.offline import OfflineImageBackend, OfflineModelCatalog
from bot.openai.backend import OpenAIImageBackend
from bot.openai.models import OpenAIModelCatalog
from bot.ports import ImageBackend, ModelCatalog, Telemetry
from bot.store.sqlite import PostgresStore, SqliteStore, SqlStore
from bot.turns.safety import KEY_NAME as SAFETY_KEY
from bot.turns.safety import SafetyIds
from bot.turns.service import DrawService
from bot.workspace.settings import WorkspaceSettings
from bot.workspace.watch import DAY, ModelWatch, Tick
from bot.workspace.workspaces import Workspaces

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Runtime:
    turns: DrawService
    workspaces: Workspaces
    models: ModelWatch
    store: SqlStore
    slack: SlackRunner | None
    discord: DiscordRunner | None
    playground: Playground | None
    port: int
    metrics_port: int | None = None  # where /metrics is served (EASEL_METRICS_PORT)

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


def backend(
    config: Config, *, http: httpx2.AsyncClient, clock: Clock, telemetry: Telemetry | None = None
) -> tuple[ImageBackend, ModelCatalog]:
    """What draws, and what says which models exist: both over one OpenAI client."""
    if config.backend == "offline":
        log.warning(
            "drawing with the offline backend: pictures are made locally and labelled "
            "'offline preview' (set OPENAI_API_KEY to draw with OpenAI)"
        )
        return OfflineImageBackend(), OfflineModelCatalog()
    client = openai_client(config, http=http)
    draws = OpenAIImageBackend(client=client, telemetry=telemetry)
    return draws, OpenAIModelCatalog(client=client, clock=clock)


@dataclass(slots=True)
class Readiness:
    """Whether easel has settled what the last run left and is taking requests."""

    ready: bool = False


def web_app(
    *,
    store: SqlStore,
    slack: SlackRunner | None,
    discord: DiscordRunner | None,
    playground: Playground | None,
    readiness: Readiness,
    models: ModelWatch,
) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        checks = {"ready": readiness.ready, "store": await _store_ok(store)}
        if slack is not None:
            checks["slack"] = await slack.connected()
        if discord is not None:
            checks["discord"] = discord.connected()
        ok = all(checks.values())
        body: dict[str, object] = {"ok": ok, **checks}
        if checks["store"] and (warnings := await _model_warnings(models)):
            body["warnings"] = warnings  # said, without failing the check
        return web.json_response(body, status=200 if ok else 503)

    # The playground takes image uploads; Slack's own requests are small.
    app = web.Application(client_max_size=MAX_INPUT_BYTES + 2**20 if playground else 2**20)
    app.add_routes([web.get("/healthz", healthz)])
    if slack is not None:
        app.add_routes(slack.routes())
    if playground is not None:
        app.add_routes(playground.routes())
    return app


def store_for(config: Config, *, clock: Clock) -> SqlStore:
    """PostgreSQL when EASEL_DB is its URL (several replicas), else the SQLite file."""
    if config.db_url is not None:
        return PostgresStore(url=config.db_url, clock=clock, lease_seconds=config.lease_seconds)
    return SqliteStore(path=config.db_path, clock=clock, lease_seconds=config.lease_seconds)


async def _store_ok(store: SqlStore) -> bool:
    try:
        return await store.ping()
    except Exception:
        log.warning("health check: the store is not reachable", exc_info=True)
        return False


async def _model_warnings(models: ModelWatch) -> list[str]:
    try:
        return await models.warnings()
    except Exception:
        log.warning("health check: the models in use could not be read", exc_info=True)
        return []


async def _serve(stack: AsyncExitStack, config: Config, app: web.Application) -> int:
    """Start the web server (events in HTTP mode, /healthz, previews, the playground)."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    stack.push_async_callback(runner.cleanup)
    await web.TCPSite(runner, config.host, config.port).start()
    port = int(runner.addresses[0][1])
    log.info("listening on %s:%d", config.host, port)
    return port


@dataclass(frozen=True, slots=True)
class _Platforms:
    slack: SlackRunner | None
    discord: DiscordRunner | None
    playground: Playground | None


async def _platforms(
    stack: AsyncExitStack,
    config: Config,
    *,
    turns: DrawService,
    workspaces: Workspaces,
    store: SqlStore,
    http: httpx2.AsyncClient,
    clock: Clock,
    telemetry: Telemetry,
) -> _Platforms:
    """The configured chat platforms, built but not yet connected."""
    slack = discord = playground = None
    if config.slack is not None:
        slack = await stack.enter_async_context(
            slack_runner(
                config=config,
                slack=config.slack,
                turns=turns,
                workspaces=workspaces,
                previews=store.previews,
                http=http,
                telemetry=telemetry,
            )
        )
    if config.discord is not None:
        discord = discord_runner(
            discord_config=config.discord,
            turns=turns,
            workspaces=workspaces,
            http=http,
            preview_interval=config.preview_interval,
            chat_timeout=config.chat_timeout,
            clock=clock,
            facts=store.facts,
            telemetry=telemetry,
        )
    if config.playground:
        playground = Playground(turns=turns, preview_interval=0.2)
    return _Platforms(slack=slack, discord=discord, playground=playground)


@dataclass(frozen=True, slots=True)
class _Core:
    turns: DrawService
    workspaces: Workspaces
    models: ModelWatch


async def _core(
    config: Config, *, store: SqlStore, http: httpx2.AsyncClient, clock: Clock, telemetry: Telemetry
) -> _Core:
    draws, catalog = backend(config, http=http, clock=clock, telemetry=telemetry)
    models = ModelWatch(
        catalog=catalog, settings=store.settings, defaults=config.defaults, clock=clock
    )
    workspaces = Workspaces(
        settings=store.settings,
        usage=store.usage,
        defaults=WorkspaceSettings.from_defaults(config.defaults),
        prices=config.prices,
        clock=clock,
        models=models,
    )
    turns = DrawService(
        store=store,
        backend=draws,
        workspaces=workspaces,
        prices=config.prices,
        safety=SafetyIds(await store.secrets.key(SAFETY_KEY)),
        delivery_max_pause=config.delivery_max_pause,
        telemetry=telemetry,
    )
    return _Core(turns=turns, workspaces=workspaces, models=models)


async def _watch_models(stack: AsyncExitStack, models: ModelWatch, tick: Tick | None) -> None:
    """Check the configured models now (stopping easel for one set in the environment that is
    gone), then once a day (or at each `tick`) until shutdown."""
    refusals = await models.start()
    if refusals:
        raise StartupError(". ".join(refusals))
    task = asyncio.create_task(_recheck(models, tick), name="model-watch")

    async def cancel() -> None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    stack.push_async_callback(cancel)


async def _recheck(models: ModelWatch, tick: Tick | None) -> None:
    wait = tick or (lambda: asyncio.sleep(DAY))
    while True:
        await wait()
        try:
            await models.recheck()
        except Exception:
            log.exception("the daily check of the models in use failed; it runs again tomorrow")


@asynccontextmanager
async def running(
    config: Config, *, clock: Clock | None = None, model_tick: Tick | None = None
) -> AsyncIterator[Runtime]:
    """Everything easel runs, started; on exit: stop intake, drain turns, close resources.
    `model_tick`: what the model watch waits for between checks (default: a day)."""
    clock = clock or SystemClock()
    async with AsyncExitStack() as stack:
        metrics = await stack.enter_async_context(exported(config))  # closed last
        telemetry = metrics.telemetry
        http = await stack.enter_async_context(openai_http(config))
        store = await stack.enter_async_context(store_for(config, clock=clock))
        core = await _core(config, store=store, http=http, clock=clock, telemetry=telemetry)
        turns, workspaces = core.turns, core.workspaces
        await _watch_models(stack, core.models, model_tick)
        on = await _platforms(
            stack,
            config,
            turns=turns,
            workspaces=workspaces,
            store=store,
            http=http,
            clock=clock,
            telemetry=telemetry,
        )
        readiness = Readiness()
        app = web_app(
            store=store,
            slack=on.slack,
            discord=on.discord,
            playground=on.playground,
            readiness=readiness,
            models=core.models,
        )
        port = await _serve(stack, config, app)
        if on.playground is not None:
            stack.callback(on.playground.close)  # before the server's cleanup: open tabs end
        if on.discord is not None:
            # Closed after the drain below: running turns still edit their messages.
            stack.push_async_callback(on.discord.stop)
            await on.discord.start()
        stack.push_async_callback(turns.aclose, grace=config.shutdown_grace)
        # What the last run left unfinished, before the first new turn can arrive.
        await turns.recover()
        if on.slack is not None:
            stack.push_async_callback(on.slack.stop)
            await on.slack.start()
        readiness.ready = True
        yield Runtime(
            turns=turns,
            workspaces=workspaces,
            models=core.models,
            store=store,
            slack=on.slack,
            discord=on.discord,
            playground=on.playground,
            port=port,
            metrics_port=metrics.port,
        )
