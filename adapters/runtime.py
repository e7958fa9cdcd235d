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

from adapters.discord.runner import DiscordRunner, discord_runner
from adapters.errors import StartupError
from adapters.metrics import exported
from adapters.openai_http import openai_http
from adapters.serving import Platforms, Readiness, serve, web_app
from adapters.slack.runner import SlackRunner, slack_runner
from adapters.web.app import Playground
from bot.clock import Clock, SystemClock
from bot.config import Config
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


def store_for(config: Config, *, clock: Clock) -> SqlStore:
    """PostgreSQL when EASEL_DB is its URL (several replicas), else the SQLite file."""
    if config.db_url is not None:
        return PostgresStore(url=config.db_url, clock=clock, lease_seconds=config.lease_seconds)
    return SqliteStore(path=config.db_path, clock=clock, lease_seconds=config.lease_seconds)


@dataclass(frozen=True, slots=True)
class _Core:
    turns: DrawService
    workspaces: Workspaces
    models: ModelWatch


async def _platforms(
    stack: AsyncExitStack,
    config: Config,
    core: _Core,
    *,
    store: SqlStore,
    http: httpx2.AsyncClient,
    clock: Clock,
    telemetry: Telemetry,
) -> Platforms:
    """The configured chat platforms, built but not yet connected."""
    turns, workspaces = core.turns, core.workspaces
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
    return Platforms(slack=slack, discord=discord, playground=playground)


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
        turns = core.turns
        await _watch_models(stack, core.models, model_tick)
        on = await _platforms(
            stack, config, core, store=store, http=http, clock=clock, telemetry=telemetry
        )
        readiness = Readiness()
        app = web_app(on, store=store, readiness=readiness, models=core.models)
        port = await serve(stack, config, app)
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
            workspaces=core.workspaces,
            models=core.models,
            store=store,
            slack=on.slack,
            discord=on.discord,
            playground=on.playground,
            port=port,
            metrics_port=metrics.port,
        )
