"""Starts the Slack side: Socket Mode connection or the HTTP endpoint on the web server."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

import aiohttp
import httpx2
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from adapters.errors import StartupError
from adapters.failures import Caller
from adapters.slack.budget import EditBudgets
from adapters.slack.deps import SlackDeps
from adapters.slack.failures import classify, error_code
from adapters.slack.files import SlackDownloader
from adapters.slack.listeners import register
from adapters.slack.public import PreviewHost
from bot.chat_config import SlackConfig
from bot.config import Config
from bot.ports import PublicPreviews, Telemetry, Timing
from bot.telemetry import NoTelemetry
from bot.turns.service import DrawService
from bot.workspace.workspaces import Workspaces

log = logging.getLogger(__name__)


class RateLimitRetries(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 retries (Retry-After slept inside the call), except for chat.update:
    its 429s go to the workspace's EditBudget, which drops a preview and makes a final wait
    its turn, instead of holding the turn in a sleep."""

    async def _can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if request.url.endswith("/chat.update"):
            return False
        return await super()._can_retry_async(
            state=state, request=request, response=response, error=error
        )


def web_client(slack: SlackConfig, *, session: aiohttp.ClientSession) -> AsyncWebClient:
    """The Web API client: shared session, and retries on 429 (honouring Retry-After), which
    Slack answers before doing anything, but for chat.update (see RateLimitRetries). A
    dropped connection is not retried blindly here: the call may have been carried out (a
    message posted, an upload completed), so easel decides (it looks in the thread before
    putting a file there again)."""
    return AsyncWebClient(
        token=slack.bot_token,
        base_url=slack.api_url.rstrip("/") + "/" if slack.api_url else AsyncWebClient.BASE_URL,
        session=session,
        retry_handlers=[RateLimitRetries(max_retry_count=5)],
    )


def build_app(*, deps: SlackDeps, signing_secret: str | None) -> AsyncApp:
    """The Bolt app. With a signing secret every HTTP request is verified (HTTP mode)."""
    app = AsyncApp(
        client=deps.client,
        signing_secret=signing_secret or "",
        request_verification_enabled=signing_secret is not None,
    )
    register(app, deps)
    return app


class SlackRunner:
    """The Slack platform connection; `routes()` are mounted on the shared web server."""

    def __init__(
        self,
        *,
        app: AsyncApp,
        slack: SlackConfig,
        preview_host: PreviewHost | None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.app = app
        self._slack = slack
        self._host = preview_host
        self._telemetry = telemetry or NoTelemetry()
        self._socket: AsyncSocketModeHandler | None = None
        secret = slack.signing_secret
        self._verifier = SignatureVerifier(secret) if secret and not slack.socket_mode else None

    async def connected(self) -> bool:
        if self._socket is None:
            return True  # HTTP mode: Slack calls us; being up is being reachable
        return bool(await self._socket.client.is_connected())

    def routes(self) -> list[web.RouteDef]:
        routes = self._host.routes() if self._host is not None else []
        if not self._slack.socket_mode:
            routes.append(web.post("/slack/events", self._timed))
        return routes

    async def _timed(self, request: web.Request) -> web.Response:
        """The handler, its time from request in to response out observed (the ack time)."""
        began = time.monotonic()
        try:
            return await self._handle(request)
        finally:
            self._telemetry.observe(Timing.ACK, time.monotonic() - began, platform="slack")

    async def _handle(self, request: web.Request) -> web.Response:
        """Slack's signature is checked on the raw body before anything reads it: a request
        Slack did not sign (or signed more than five minutes ago) is refused unparsed."""
        try:
            body = (await request.read()).decode("utf-8")
        except UnicodeDecodeError:
            # Slack sends UTF-8; such a body cannot even be checked for its signature.
            log.warning("refused a request to /slack/events whose body is not UTF-8")
            return web.Response(status=400, text="The request body is not UTF-8.")
        if not self._signed(body, request.headers):
            log.warning(
                "refused a request to /slack/events not signed by Slack (%s)", request.remote
            )
            return web.Response(status=401, text="The request is not signed by Slack.")
        headers: dict[str, str | Sequence[str]] = dict(request.headers)
        try:
            bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=headers)
        except (ValueError, RecursionError, AttributeError, TypeError) as exc:
            # Signed, yet not a payload Slack sends (JSON that is not an object, or too deep).
            log.warning(
                "refused a signed request to /slack/events that cannot be read (%s)",
                type(exc).__name__,
            )
            return web.Response(status=400, text="The request body cannot be read.")
        bolt_response = await self.app.async_dispatch(bolt_request)
        return await to_aiohttp_response(bolt_response)

    def _signed(self, body: str, headers: Mapping[str, str]) -> bool:
        if self._verifier is None:
            return False
        try:
            return self._verifier.is_valid_request(body, headers)
        except ValueError:  # a timestamp that is not a number
            return False

    async def start(self) -> None:
        if self._slack.app_token is None:
            log.info("Slack: HTTP mode, events at /slack/events")
            return
        await self._check_app_token(self._slack.app_token)
        self._socket = AsyncSocketModeHandler(self.app, self._slack.app_token)
        await self._socket.connect_async()  # type: ignore[no-untyped-call]
        log.info("Slack: connected in Socket Mode")

    async def _check_app_token(self, app_token: str) -> None:
        """Fail fast on a wrong token: the Socket Mode client would retry it for ever."""
        try:
            await self.app.client.apps_connections_open(app_token=app_token)
        except SlackApiError as exc:
            error = error_code(exc)
            if error in (
                "invalid_auth",
                "not_allowed_token_type",
                "token_revoked",
                "not_authed",
                "account_inactive",
                "token_expired",
            ):
                raise StartupError(
                    f"Slack refused SLACK_APP_TOKEN ({error}): use the app-level token "
                    "(xapp-…) with the connections:write scope"
                ) from exc
            raise

    async def stop(self) -> None:
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None


@asynccontextmanager
async def slack_runner(
    *,
    config: Config,
    slack: SlackConfig,
    turns: DrawService,
    workspaces: Workspaces,
    previews: PublicPreviews,
    http: httpx2.AsyncClient,
    telemetry: Telemetry | None = None,
) -> AsyncIterator[SlackRunner]:
    """Build the Slack side; its Web API session closes when the block ends."""
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=config.chat_timeout)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        host = (
            PreviewHost(public_url=config.public_url, previews=previews)
            if config.public_url
            else None
        )
        deps = SlackDeps(
            client=web_client(slack, session=session),
            call=Caller(
                classify,
                timeout=config.chat_timeout,
                platform="slack",
                telemetry=telemetry or NoTelemetry(),
            ),
            turns=turns,
            workspaces=workspaces,
            downloader=SlackDownloader(
                http=http, token=slack.bot_token, api_url=slack.api_url, silence=config.chat_timeout
            ),
            preview_host=host,
            preview_interval=config.preview_interval,
            admins=slack.admins,
            edits=EditBudgets(per_minute=slack.edits_per_minute, burst=slack.edit_burst),
        )
        app = build_app(deps=deps, signing_secret=slack.signing_secret)
        yield SlackRunner(app=app, slack=slack, preview_host=host, telemetry=telemetry)
