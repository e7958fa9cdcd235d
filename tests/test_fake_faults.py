"""Every fault shape of the fakes against the REAL client libraries: what each one raises.

The product's error classifier relies on this table; each row is asserted below. Observed with
slack_sdk 3.47, discord.py 2.7.1, openai 3.54 (over httpx2 2.16 and over its aiohttp 3.14
transport, DefaultAioHttpClient, as easel runs it), on Linux.

Slack: AsyncWebClient(retry_handlers=[], timeout=0.5)
| shape            | raised                          | what it holds                             |
|------------------|---------------------------------|-------------------------------------------|
| 503 JSON         | SlackApiError                   | .response.status_code 503, .response.data |
|                  |                                 | {"ok": false, "error": ...}               |
| 503 HTML         | SlackApiError                   | .data {}: the page is dropped unread      |
| 503 text/plain   | SlackApiError                   | .data the text, a str: .get("error")      |
|                  |                                 | raises AttributeError                     |
| 503 empty        | SlackApiError                   | .data {}                                  |
| 429 Retry-After  | SlackApiError                   | .data error "ratelimited"; .headers       |
| 429 bare         | SlackApiError                   | the same, no Retry-After                  |
| reset (RST)      | aiohttp.ClientOSError           | errno 104 (ECONNRESET)                    |
| disconnect (FIN) | aiohttp.ServerDisconnectedError |                                           |
| hang             | TimeoutError                    | after the client's timeout                |
| truncate         | aiohttp.ClientPayloadError      | a ContentLengthError inside               |
| upload URL 503   | SlackRequestError               | "Failed to upload a file (status: 503,    |
|                  | (files_upload_v2)               | body: None, ...)" whatever the body       |
slack_sdk's default handlers retry a reset or a disconnect once. AsyncRateLimitErrorRetryHandler
waits Retry-After plus up to 1 s of jitter (1 s plus jitter when the header is missing).

Discord: discord.py's HTTPClient (REST) and its webhook adapter (interaction callback, @original)
| shape                       | raised                                                        |
|-----------------------------|---------------------------------------------------------------|
| 503 JSON, HTML, text, empty | DiscordServerError: .status 503, .code 0, .text the message,  |
|                             | the page, the text or ""; REST does not retry it              |
| 500, 502, 504 (REST)        | DiscordServerError after 5 tries, sleeping 1, 3, 5, 7, 9 s    |
| any 5xx (webhook adapter)   | DiscordServerError after 5 tries, sleeping 1, 3, 5, 7, 9 s    |
| 429 JSON with retry_after   | none: it sleeps `retry_after` from the body, then retries     |
| 429 JSON, no retry_after    | KeyError('retry_after')                                       |
| 429 HTML (no Via header)    | HTTPException (not DiscordServerError): .status 429           |
| reset                       | aiohttp.ClientOSError errno 104: discord.py retries a reset   |
|                             | only for errno 54 and 10054 (macOS, Windows)                  |
| disconnect                  | aiohttp.ServerDisconnectedError                               |
| hang                        | nothing before aiohttp's default 5 minutes: bound it yourself |
| truncate                    | aiohttp.ClientPayloadError                                    |
| reset/disconnect on a GET,  | none: aiohttp itself retries an idempotent request once       |
| PUT or DELETE               |                                                               |
| any error on /gateway/bot   | GatewayNotFound                                               |
| CDN 403, 5xx (get_from_cdn) | Forbidden, HTTPException (.text "failed to get asset")        |

OpenAI: openai.AsyncOpenAI(max_retries=0, timeout=0.5); responses.create and models.retrieve
| shape       | raised                   | what it holds                                          |
|-------------|--------------------------|--------------------------------------------------------|
| 503 JSON    | InternalServerError      | .body the inner error object, .code from it, .message  |
|             |                          | "Error code: 503 - <message>"                          |
| 503 HTML    | InternalServerError      | .body the page as a str, stripped; .code None;         |
| 503 text    |                          | .message "Error code: 503"                             |
| 503 empty   | InternalServerError      | .body ""                                               |
| 429 ± R-A   | RateLimitError           | .code "rate_limit_exceeded"; response.headers          |
| reset       | httpx2: APIConnectionError from httpx2.ReadError;                                 |
|             | aiohttp: APITimeoutError from httpx2.ConnectTimeout("[Errno 104] ...")            |
| disconnect  | httpx2: APIConnectionError from httpx2.RemoteProtocolError;                       |
|             | aiohttp: APITimeoutError from httpx2.ConnectTimeout("Server disconnected")        |
| hang        | APITimeoutError from httpx2.ReadTimeout                                           |
| truncate    | APIConnectionError from RemoteProtocolError (httpx2) or ReadError (aiohttp); a    |
|             | streamed create returns its stream first and raises while it is read              |
Over aiohttp a GET (models.retrieve) is retried once by aiohttp after a reset or disconnect.

OpenAI streams: the SDK's typed events, and `with_streaming_response` read raw (easel's way)
| Script field  | typed iteration                           | raw iter_bytes()                    |
|---------------|-------------------------------------------|-------------------------------------|
| cut_mid_event | APIConnectionError from httpx2's          | httpx2.RemoteProtocolError (httpx2) |
|               | RemoteProtocolError or ReadError          | or ReadError (aiohttp), unwrapped,  |
|               |                                           | after half of the ~4 MB event       |
| not_json      | json.JSONDecodeError: a ValueError, not   | the line as sent; the stream ends   |
|               | an openai.APIError                        | normally                            |
| unknown_event | yielded unvalidated as the union's first  | as sent                             |
|               | model (ResponseAudioDeltaEvent) whose     |                                     |
|               | .type is the unknown one; with strict     |                                     |
|               | validation: APIResponseValidationError    |                                     |
| final_twice   | two ResponseOutputItemDoneEvent, one item | both, as sent                       |
"""

from __future__ import annotations

import asyncio
import json
import types
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import date, timedelta
from typing import Any

import aiohttp
import discord
import discord.http
import discord.webhook.async_
import httpx2
import openai
import pytest
import slack_sdk.http_retry.async_handler
import slack_sdk.http_retry.builtin_async_handlers
from discord.http import HTTPClient, MultipartParameters, Route
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.discord_server import APP_ID, CHANNEL_ID, FakeDiscord
from tests.fakes.faults import (
    DISCONNECT,
    HANG,
    HTML_PAGE,
    NO_ANSWER,
    PROXY_TEXT,
    RESET,
    TRUNCATE,
    Fault,
    rate_limited,
    status,
)
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.openai_stream import CUT_EVENT_BYTES, NOT_JSON, UNKNOWN_EVENT
from tests.fakes.slack_server import FakeSlack
from tests.specs import assert_valid, openai_validator

HANG_TIMEOUT = 0.5  # the client's timeout where the fake never answers
ECONNRESET = 104  # Linux's errno for "Connection reset by peer"
ANSWERS: dict[str, Fault] = {
    "503-json": status(503),
    "503-html": status(503, body="html"),
    "503-text": status(503, body="text"),
    "503-empty": status(503, body="empty"),
    "429-retry-after": rate_limited(2),
    "429-bare": rate_limited(None),
}
SILENCES: dict[str, Fault] = {
    "reset": RESET,
    "disconnect": DISCONNECT,
    "hang": HANG,
    "truncate": TRUNCATE,
}
SILENT_DROPS = ("reset", "disconnect")  # no answer, the connection closed or reset
HTML_503 = HTML_PAGE.format(status=503, phrase="Service Unavailable")


class QuickSleeps(types.ModuleType):
    """Stands in for `asyncio` inside a library module: records each sleep, sleeps none."""

    def __init__(self) -> None:
        super().__init__("asyncio")
        self.delays: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, delay: float, result: Any = None) -> Any:
        if delay > 0:
            self.delays.append(delay)
        await asyncio.sleep(0)
        return result


def quick_sleeps(monkeypatch: pytest.MonkeyPatch, *modules: types.ModuleType) -> list[float]:
    """The delays the library in `modules` waits, recorded instead of waited."""
    quick = QuickSleeps()
    for module in modules:
        monkeypatch.setattr(module, "asyncio", quick)
    return quick.delays


# -- Slack: slack_sdk's AsyncWebClient ---------------------------------------------------


def bare(fake: FakeSlack) -> AsyncWebClient:
    """A client without retry handlers (slack_sdk's default retries a dropped connection)."""
    return fake.client(retry_handlers=[], timeout=HANG_TIMEOUT)


@pytest.mark.parametrize(
    ("shape", "data", "retry_after"),
    [
        ("503-json", {"ok": False, "error": "service_unavailable"}, None),
        ("503-html", {}, None),  # not JSON, not text/plain: read as nothing
        ("503-text", PROXY_TEXT, None),  # text/plain: kept as a str
        ("503-empty", {}, None),
        ("429-retry-after", {"ok": False, "error": "ratelimited"}, "2"),
        ("429-bare", {"ok": False, "error": "ratelimited"}, None),
    ],
)
async def test_slack_error_answers_raise_slack_api_error(
    slack_fake: FakeSlack, shape: str, data: object, retry_after: str | None
) -> None:
    slack_fake.faults.set("chat.postMessage", ANSWERS[shape])
    with pytest.raises(SlackApiError) as caught:
        await bare(slack_fake).chat_postMessage(channel="C1", text="x")
    response = caught.value.response
    assert (response.status_code, response.data) == (ANSWERS[shape].status, data)
    assert response.headers.get("Retry-After") == retry_after
    if isinstance(data, str):  # the dict-like access the SDK offers breaks on a str
        with pytest.raises(AttributeError):
            response.get("error")
    assert [c.status for c in slack_fake.calls] == [ANSWERS[shape].status]


@pytest.mark.parametrize(
    ("shape", "error"),
    [
        ("reset", aiohttp.ClientOSError),
        ("disconnect", aiohttp.ServerDisconnectedError),
        ("hang", TimeoutError),
        ("truncate", aiohttp.ClientPayloadError),
    ],
)
async def test_slack_silences_raise_aiohttp_errors(
    slack_fake: FakeSlack, shape: str, error: type[BaseException]
) -> None:
    slack_fake.faults.set("chat.update", SILENCES[shape])
    with pytest.raises(error) as caught:
        await bare(slack_fake).chat_update(channel="C1", ts="1.000100", text="x")
    assert not isinstance(caught.value, SlackApiError)
    if shape == "reset":
        assert isinstance(caught.value, OSError) and caught.value.errno == ECONNRESET
    assert [c.status for c in slack_fake.calls] == [200 if shape == "truncate" else NO_ANSWER]


@pytest.mark.parametrize("shape", ["reset", "disconnect"])
async def test_slack_default_handlers_retry_a_dropped_connection_once(
    slack_fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, shape: str
) -> None:
    delays = quick_sleeps(monkeypatch, slack_sdk.http_retry.async_handler)
    slack_fake.faults.set("chat.postMessage", SILENCES[shape], times=2)
    client = slack_fake.client()  # AsyncConnectionErrorRetryHandler(max_retry_count=1)
    with pytest.raises(aiohttp.ClientConnectionError):
        await client.chat_postMessage(channel="C1", text="x")
    assert [c.status for c in slack_fake.calls] == [NO_ANSWER, NO_ANSWER] and len(delays) == 1
    slack_fake.faults.set("chat.postMessage", SILENCES[shape])
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]
    assert [c.status for c in slack_fake.calls[2:]] == [NO_ANSWER, 200]


@pytest.mark.parametrize(("retry_after", "low"), [(30, 30), (None, 1)])
async def test_slack_rate_limit_handler_waits_retry_after_or_a_second(
    slack_fake: FakeSlack, monkeypatch: pytest.MonkeyPatch, retry_after: int | None, low: int
) -> None:
    """AsyncRateLimitErrorRetryHandler waits Retry-After (1 s without it) plus up to 1 s."""
    delays = quick_sleeps(monkeypatch, slack_sdk.http_retry.builtin_async_handlers)
    slack_fake.faults.set("chat.update", rate_limited(retry_after))
    slack_fake.faults.add("chat.update", status(503, body="html"))  # ends the retries at once
    client = slack_fake.client(retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)])
    with pytest.raises(SlackApiError):
        await client.chat_update(channel="C1", ts="1.000100", text="x")
    assert [c.status for c in slack_fake.calls] == [429, 503]
    assert len(delays) == 1 and low <= delays[0] < low + 1


@pytest.mark.parametrize(
    ("fault", "error"),
    [(status(503, body="json"), SlackRequestError), (RESET, aiohttp.ClientOSError)],
)
async def test_slack_upload_step_of_files_upload_v2(
    slack_fake: FakeSlack, fault: Fault, error: type[BaseException]
) -> None:
    slack_fake.faults.set("upload", fault)
    with pytest.raises(error) as caught:
        await bare(slack_fake).files_upload_v2(file=b"\x89PNG\r\n\x1a\n", filename="a.png")
    if error is SlackRequestError:  # whatever the body, only the status is told
        assert str(caught.value).startswith("Failed to upload a file (status: 503, body: None")
    assert [c.method for c in slack_fake.calls] == ["files.getUploadURLExternal", "upload"]
    assert not any(f.completed for f in slack_fake.files.values())


async def test_the_switch_counts_queues_clears_and_refuses_unknown_names(
    slack_fake: FakeSlack,
) -> None:
    client = bare(slack_fake)
    slack_fake.faults.set("auth.test", status(500), times=2)
    slack_fake.faults.add("auth.test", rate_limited(1))
    codes = []
    for _ in range(4):
        try:
            codes.append((await client.auth_test()).status_code)
        except SlackApiError as e:
            codes.append(e.response.status_code)
    assert codes == [500, 500, 429, 200]
    slack_fake.faults.set("auth.test", status(503), times=None)
    for _ in range(3):
        with pytest.raises(SlackApiError):
            await client.auth_test()
    slack_fake.faults.clear("auth.test")
    assert (await client.auth_test())["ok"]
    assert [name for name, _ in slack_fake.faults.fired] == ["auth.test"] * 6
    with pytest.raises(KeyError, match=r"chat\.udpate"):
        slack_fake.faults.set("chat.udpate", RESET)
    slack_fake.unavailable("chat.postMessage")  # the older knobs ride on the switch
    slack_fake.unavailable("chat.postMessage", 0)
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]


async def test_slack_tier3_limits_chat_update_per_workspace(slack_fake: FakeSlack) -> None:
    now = [1000.0]
    slack_fake.limit_chat_update(burst=3, per_minute=60, clock=lambda: now[0])
    client = bare(slack_fake)
    ts = (await client.chat_postMessage(channel="C1", text="x"))["ts"]

    async def update() -> str | None:
        try:
            await client.chat_update(channel="C1", ts=ts, text="y")
        except SlackApiError as e:
            assert (e.response.status_code, e.response["error"]) == (429, "ratelimited")
            return str(e.response.headers["Retry-After"])
        return None

    assert [await update() for _ in range(4)] == [None, None, None, "1"]
    now[0] += 0.5
    assert await update() == "1"  # half a token: still a whole second to wait
    now[0] += 0.5
    assert [await update() for _ in range(2)] == [None, "1"]
    for _ in range(5):  # other methods are not metered by it
        await client.chat_postMessage(channel="C1", text="x")
    slack_fake.limit_chat_update(burst=1, per_minute=6, clock=lambda: now[0])
    assert [await update() for _ in range(2)] == [None, "10"]
    assert [c.status for c in slack_fake.calls_to("chat.update")].count(429) == 4


# -- Discord: discord.py's HTTPClient and its webhook adapter ----------------------------


@pytest.fixture
async def discord_http(
    discord_fake: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[HTTPClient]:
    monkeypatch.setattr(Route, "BASE", discord_fake.api_url)
    http = HTTPClient(asyncio.get_running_loop())
    await http.static_login(discord_fake.token)
    yield http
    await http.close()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def post_message(http: HTTPClient) -> Awaitable[Any]:
    route = Route("POST", "/channels/{channel_id}/messages", channel_id=CHANNEL_ID)
    return http.request(route, json={"content": "drawing…"})


def discord_calls(fake: FakeDiscord) -> list[int]:
    return [c.status for c in fake.calls if c.path != "/users/@me"]


@pytest.mark.parametrize(
    ("shape", "error", "text"),
    [
        ("503-json", discord.DiscordServerError, "503: Service Unavailable"),
        ("503-html", discord.DiscordServerError, HTML_503),
        ("503-text", discord.DiscordServerError, PROXY_TEXT),
        ("503-empty", discord.DiscordServerError, ""),
        (
            "429-html",
            discord.HTTPException,
            HTML_PAGE.format(status=429, phrase="Too Many Requests"),
        ),
    ],
)
async def test_discord_error_answers(
    discord_fake: FakeDiscord,
    discord_http: HTTPClient,
    shape: str,
    error: type[discord.HTTPException],
    text: str,
) -> None:
    """A 503 is not retried; a 429 that is not Discord's own (no `Via`, or not JSON, as a
    Cloudflare ban answers) raises at once."""
    fault = rate_limited(None, body="html") if shape == "429-html" else ANSWERS[shape]
    discord_fake.faults.set("message_create", fault)
    with pytest.raises(discord.HTTPException) as caught:
        await post_message(discord_http)
    assert type(caught.value) is error
    assert (caught.value.status, caught.value.code, caught.value.text) == (fault.status, 0, text)
    assert discord_calls(discord_fake) == [fault.status]


async def test_discord_429_json_is_waited_out_by_its_body(
    discord_fake: FakeDiscord, discord_http: HTTPClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    delays = quick_sleeps(monkeypatch, discord.http)
    discord_fake.faults.set("message_create", rate_limited(2))
    assert (await post_message(discord_http))["content"] == "drawing…"
    assert delays == [2] and discord_calls(discord_fake) == [429, 200]
    discord_fake.faults.set("message_create", rate_limited(None))  # no `retry_after` in it
    with pytest.raises(KeyError, match="retry_after"):
        await post_message(discord_http)


@pytest.mark.parametrize("code", [500, 502, 504])
async def test_discord_rest_retries_some_5xx_five_times(
    discord_fake: FakeDiscord,
    discord_http: HTTPClient,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
) -> None:
    delays = quick_sleeps(monkeypatch, discord.http)
    discord_fake.faults.set("message_create", status(code, body="html"), times=None)
    with pytest.raises(discord.DiscordServerError) as caught:
        await post_message(discord_http)
    assert caught.value.status == code
    assert delays == [1, 3, 5, 7, 9] and discord_calls(discord_fake) == [code] * 5


async def test_discord_interaction_webhooks_retry_every_5xx_five_times(
    discord_fake: FakeDiscord, session: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Route, "BASE", discord_fake.api_url)
    delays = quick_sleeps(monkeypatch, discord.webhook.async_)
    interaction = discord_fake.interaction("a cat")
    adapter = discord.webhook.async_.async_context.get()
    await adapter.create_interaction_response(
        int(interaction["id"]), interaction["token"], session=session, params=DEFER
    )
    discord_fake.faults.set("edit_original", status(503, body="text"), times=None)
    with pytest.raises(discord.DiscordServerError):
        await adapter.edit_original_interaction_response(
            APP_ID, interaction["token"], session=session, payload={"content": "done"}
        )
    assert delays == [1, 3, 5, 7, 9] and discord_calls(discord_fake) == [200] + [503] * 5


@pytest.mark.parametrize(
    ("shape", "error"),
    [
        ("reset", aiohttp.ClientOSError),
        ("disconnect", aiohttp.ServerDisconnectedError),
        ("hang", TimeoutError),
        ("truncate", aiohttp.ClientPayloadError),
    ],
)
async def test_discord_silences_raise_aiohttp_errors(
    discord_fake: FakeDiscord, discord_http: HTTPClient, shape: str, error: type[BaseException]
) -> None:
    """discord.py retries a reset only for errno 54 and 10054 (macOS, Windows): not Linux's."""
    message = discord_fake.person_message(CHANNEL_ID, "a cat")
    discord_fake.faults.set("message_edit", SILENCES[shape])
    route = Route(
        "PATCH",
        "/channels/{channel_id}/messages/{message_id}",
        channel_id=CHANNEL_ID,
        message_id=message["id"],
    )
    with pytest.raises(error):
        async with asyncio.timeout(HANG_TIMEOUT):  # discord.py sets none of its own
            await discord_http.request(route, json={"content": "done"})
    assert discord_calls(discord_fake) == [200 if shape == "truncate" else NO_ANSWER]
    session: aiohttp.ClientSession = discord_http._HTTPClient__session  # type: ignore[attr-defined]
    assert session.timeout.total == 300  # aiohttp's default: a hang lasts 5 minutes


@pytest.mark.parametrize("shape", ["reset", "disconnect"])
async def test_aiohttp_itself_retries_an_idempotent_request_once(
    discord_fake: FakeDiscord, discord_http: HTTPClient, shape: str
) -> None:
    message = discord_fake.person_message(CHANNEL_ID, "a cat")
    discord_fake.faults.set("message_get", SILENCES[shape])
    got = await discord_http.get_message(CHANNEL_ID, int(message["id"]))
    assert got["id"] == message["id"]
    assert discord_calls(discord_fake) == [NO_ANSWER, 200]


DEFER = MultipartParameters(payload={"type": 5}, multipart=None, files=None)


async def call_route(
    name: str, fake: FakeDiscord, http: HTTPClient, session: aiohttp.ClientSession
) -> Callable[[], Awaitable[Any]]:
    """A call of the route `name` through discord.py, with what it needs in place."""
    mid = fake.person_message(CHANNEL_ID, "a cat")["id"]
    if name == "message_delete":  # easel deletes only its own messages
        mid = fake.bot_message(CHANNEL_ID, {"content": "a cat"})["id"]
    interaction = fake.interaction("a cat")
    iid, token = int(interaction["id"]), interaction["token"]
    adapter = discord.webhook.async_.async_context.get()
    if name in ("edit_original", "original_get", "followup"):
        await adapter.create_interaction_response(iid, token, session=session, params=DEFER)
    one = "/channels/{channel_id}/messages/{message_id}"
    where = {"channel_id": CHANNEL_ID, "message_id": mid}
    blob = fake.upload(b"\x89PNG\r\n\x1a\n", "a.png")["url"]
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "interaction_callback": lambda: adapter.create_interaction_response(
            iid, token, session=session, params=DEFER
        ),
        "edit_original": lambda: adapter.edit_original_interaction_response(
            APP_ID, token, session=session, payload={"content": "done"}
        ),
        "original_get": lambda: adapter.get_original_interaction_response(
            APP_ID, token, session=session
        ),
        "followup": lambda: adapter.execute_webhook(
            APP_ID, token, session=session, payload={"content": "done"}
        ),
        "message_create": lambda: post_message(http),
        "message_edit": lambda: http.request(Route("PATCH", one, **where), json={"content": "x"}),
        "message_get": lambda: http.request(Route("GET", one, **where)),
        "message_delete": lambda: http.request(Route("DELETE", one, **where)),
        "thread_create": lambda: http.request(
            Route("POST", one + "/threads", **where), json={"name": "a cat"}
        ),
        "commands_sync": lambda: http.bulk_upsert_global_commands(APP_ID, []),
        "gateway_bot": http.get_bot_gateway,
        "application_me": http.application_info,
        "user_me": lambda: http.request(Route("GET", "/users/@me")),
        "cdn": lambda: http.get_from_cdn(blob),
    }
    return calls[name]


@pytest.mark.parametrize(
    ("name", "error"),
    [
        ("interaction_callback", discord.Forbidden),
        ("edit_original", discord.Forbidden),
        ("original_get", discord.Forbidden),
        ("followup", discord.Forbidden),
        ("message_create", discord.Forbidden),
        ("message_edit", discord.Forbidden),
        ("message_get", discord.Forbidden),
        ("message_delete", discord.Forbidden),
        ("thread_create", discord.Forbidden),
        ("commands_sync", discord.Forbidden),
        ("gateway_bot", discord.GatewayNotFound),  # any HTTPException, renamed
        ("application_me", discord.Forbidden),
        ("user_me", discord.Forbidden),
        ("cdn", discord.Forbidden),
    ],
)
async def test_discord_routes_answer_to_their_names(
    discord_fake: FakeDiscord,
    discord_http: HTTPClient,
    session: aiohttp.ClientSession,
    name: str,
    error: type[discord.DiscordException],
) -> None:
    call = await call_route(name, discord_fake, discord_http, session)
    fault = status(403)
    discord_fake.faults.set(name, fault)
    with pytest.raises(error):
        await call()
    assert discord_fake.faults.fired == [(name, fault)]
    await call()  # the fault was for one call, and the route works


async def test_discord_cdn_errors_are_plain_http_exceptions(
    discord_fake: FakeDiscord, discord_http: HTTPClient
) -> None:
    url = discord_fake.upload(b"\x89PNG\r\n\x1a\n", "a.png")["url"]
    discord_fake.faults.set("cdn", status(503, body="html"))
    with pytest.raises(discord.HTTPException) as caught:
        await discord_http.get_from_cdn(url)
    assert type(caught.value) is discord.HTTPException and caught.value.status == 503
    assert caught.value.text == "failed to get asset"


async def test_discord_gateway_handshake_fails_by_name(
    discord_fake: FakeDiscord, session: aiohttp.ClientSession
) -> None:
    discord_fake.faults.set("gateway", status(503, body="html"))
    with pytest.raises(aiohttp.WSServerHandshakeError) as caught:
        await session.ws_connect(f"{discord_fake.base_url}/gateway")
    assert caught.value.status == 503


# -- Downloads over httpx2, as easel fetches people's images -----------------------------


@pytest.mark.parametrize(
    ("shape", "error"),
    [
        ("reset", httpx2.ReadError),
        ("disconnect", httpx2.RemoteProtocolError),
        ("hang", httpx2.ReadTimeout),
        ("truncate", httpx2.RemoteProtocolError),
    ],
)
@pytest.mark.parametrize("platform", ["slack", "discord"])
async def test_file_downloads_over_httpx2(
    slack_fake: FakeSlack,
    discord_fake: FakeDiscord,
    platform: str,
    shape: str,
    error: type[Exception],
) -> None:
    if platform == "slack":
        url = slack_fake.add_file(b"\x89PNG\r\n\x1a\n", "a.png", "C1")["url_private"]
        slack_fake.faults.set("download", SILENCES[shape])
    else:
        url = discord_fake.upload(b"\x89PNG\r\n\x1a\n", "a.png")["url"]
        discord_fake.faults.set("cdn", SILENCES[shape])
    headers = {"Authorization": f"Bearer {slack_fake.token}"}
    async with httpx2.AsyncClient(timeout=HANG_TIMEOUT, headers=headers) as http:
        with pytest.raises(error):
            await http.get(url)
        assert (await http.get(url)).content == b"\x89PNG\r\n\x1a\n"


# -- OpenAI: the openai SDK, over httpx2 and over its aiohttp transport ------------------

TOOL: dict[str, Any] = {"type": "image_generation", "partial_images": 1}
BODY: dict[str, Any] = {"model": "gpt-5", "input": "a cat", "tools": [TOOL], "stream": True}


@pytest.fixture(params=["httpx2", "aiohttp"])
async def client(openai_fake: FakeOpenAI, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """openai.AsyncOpenAI without retries, over httpx2 (the SDK's default) or aiohttp (the
    SDK's DefaultAioHttpClient, as easel runs it)."""
    transport = request.param
    http = httpx2.AsyncClient() if transport == "httpx2" else openai.DefaultAioHttpClient()
    async with http:
        yield openai.AsyncOpenAI(
            base_url=openai_fake.base_url,
            api_key="sk-test",
            max_retries=0,
            timeout=HANG_TIMEOUT,
            http_client=http,
        )


def transport(client: openai.AsyncOpenAI) -> str:
    return "aiohttp" if isinstance(client._client, openai.DefaultAioHttpClient) else "httpx2"


async def call_openai(client: openai.AsyncOpenAI, operation: str) -> list[Any]:
    """responses.create read to its end, or models.retrieve."""
    if operation == "models.retrieve":
        return [await client.models.retrieve("gpt-5")]
    stream = await client.responses.create(**BODY)
    return [event async for event in stream]


@pytest.mark.parametrize("operation", ["responses.create", "models.retrieve"])
@pytest.mark.parametrize(
    ("shape", "error", "body"),
    [
        ("503-json", openai.InternalServerError, dict),
        ("503-html", openai.InternalServerError, HTML_503.strip()),  # stripped
        ("503-text", openai.InternalServerError, PROXY_TEXT),
        ("503-empty", openai.InternalServerError, ""),
        ("429-retry-after", openai.RateLimitError, dict),
        ("429-bare", openai.RateLimitError, dict),
    ],
)
async def test_openai_error_answers(
    openai_fake: FakeOpenAI,
    client: openai.AsyncOpenAI,
    operation: str,
    shape: str,
    error: type[openai.APIStatusError],
    body: object,
) -> None:
    fault = ANSWERS[shape]
    openai_fake.faults.set(operation, fault)
    with pytest.raises(openai.APIStatusError) as caught:
        await call_openai(client, operation)
    exc = caught.value
    assert type(exc) is error and exc.status_code == fault.status
    if body is dict:  # the error object inside {"error": ...}, its code read out
        assert isinstance(exc.body, dict) and exc.body["type"] in ("server_error", "requests")
        assert exc.message.startswith(f"Error code: {fault.status} - ")
        assert exc.code == ("rate_limit_exceeded" if fault.status == 429 else None)
    else:  # the text as it came, and no code
        assert (exc.body, exc.message, exc.code) == (body, f"Error code: {fault.status}", None)
    retry_after = exc.response.headers.get("retry-after")
    assert retry_after == (None if fault.retry_after is None else "2")


@pytest.mark.parametrize("operation", ["responses.create", "models.retrieve"])
@pytest.mark.parametrize("shape", ["reset", "disconnect", "hang", "truncate"])
async def test_openai_silences(
    openai_fake: FakeOpenAI, client: openai.AsyncOpenAI, operation: str, shape: str
) -> None:
    """Over aiohttp a dropped connection reads as a connect timeout, and aiohttp itself
    retries a GET once; over httpx2 it is a connection error, never retried."""
    openai_fake.faults.set(operation, SILENCES[shape], times=None)
    over = transport(client)
    with pytest.raises(openai.APIConnectionError) as caught:
        await call_openai(client, operation)
    expected: dict[tuple[str, str], tuple[type[Exception], type[Exception]]] = {
        ("httpx2", "reset"): (openai.APIConnectionError, httpx2.ReadError),
        ("httpx2", "disconnect"): (openai.APIConnectionError, httpx2.RemoteProtocolError),
        ("httpx2", "hang"): (openai.APITimeoutError, httpx2.ReadTimeout),
        ("httpx2", "truncate"): (openai.APIConnectionError, httpx2.RemoteProtocolError),
        ("aiohttp", "reset"): (openai.APITimeoutError, httpx2.ConnectTimeout),
        ("aiohttp", "disconnect"): (openai.APITimeoutError, httpx2.ConnectTimeout),
        ("aiohttp", "hang"): (openai.APITimeoutError, httpx2.ReadTimeout),
        ("aiohttp", "truncate"): (openai.APIConnectionError, httpx2.ReadError),
    }
    error, cause = expected[over, shape]
    assert type(caught.value) is error and type(caught.value.__cause__) is cause
    tries = (
        2 if (over, operation) == ("aiohttp", "models.retrieve") and shape in SILENT_DROPS else 1
    )
    asked = openai_fake.model_requests if operation == "models.retrieve" else openai_fake.requests
    assert len(asked) == tries


async def read_typed(
    client: openai.AsyncOpenAI, *, strict: bool = False
) -> tuple[list[Any], BaseException | None]:
    """The SDK's typed events, and what iterating them raised, if anything."""
    if strict:
        client = openai.AsyncOpenAI(
            base_url=client.base_url,
            api_key="sk-test",
            max_retries=0,
            http_client=client._client,
            _strict_response_validation=True,
        )
    events: list[Any] = []
    try:
        async for event in await client.responses.create(**BODY):
            events.append(event)
    except (openai.APIError, ValueError) as exc:
        return events, exc
    return events, None


async def read_raw(client: openai.AsyncOpenAI) -> tuple[bytes, BaseException | None]:
    """The raw bytes of `with_streaming_response` (easel's way in), and what reading raised."""
    got = bytearray()
    try:
        async with client.responses.with_streaming_response.create(**BODY) as response:
            async for chunk in response.iter_bytes():
                got += chunk
    except httpx2.TransportError as exc:
        return bytes(got), exc
    return bytes(got), None


def event_types(raw: bytes) -> list[str]:
    return [line[7:] for line in raw.decode().split("\n") if line.startswith("event: ")]


async def test_stream_cut_mid_event(openai_fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    openai_fake.push(Script(cut_mid_event=True), Script(cut_mid_event=True))
    cause = httpx2.RemoteProtocolError if transport(client) == "httpx2" else httpx2.ReadError
    events, error = await read_typed(client)
    assert type(error) is openai.APIConnectionError and type(error.__cause__) is cause
    assert events[-1].type == "response.image_generation_call.completed"
    raw, error = await read_raw(client)
    assert type(error) is cause  # not wrapped by the SDK
    assert CUT_EVENT_BYTES // 2 < len(raw) < CUT_EVENT_BYTES
    assert event_types(raw)[-1] == "response.output_item.done" and not raw.endswith(b"\n\n")
    assert openai_fake.images_sent == {} and openai_fake.known_response_ids == []


async def test_stream_data_that_is_not_json(
    openai_fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    openai_fake.push(Script(not_json=True), Script(not_json=True))
    events, error = await read_typed(client)
    assert type(error) is json.JSONDecodeError  # a ValueError, not an openai.APIError
    assert [e.type for e in events] == ["response.created", "response.in_progress"]
    raw, error = await read_raw(client)
    assert error is None and NOT_JSON.encode() in raw
    assert event_types(raw)[-1] == "response.completed"


async def test_stream_unknown_event(openai_fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    openai_fake.push(Script(unknown_event=True), Script(unknown_event=True))
    events, error = await read_typed(client)
    assert error is None and events[-1].type == "response.completed"
    unknown = [e for e in events if e.type == UNKNOWN_EVENT]
    # Built, unvalidated, as the first model of the SDK's event union: branch on `.type`.
    assert [type(e).__name__ for e in unknown] == ["ResponseAudioDeltaEvent"]
    events, error = await read_typed(client, strict=True)
    assert type(error) is openai.APIResponseValidationError
    assert events[-1].type == "response.in_progress"


async def test_stream_final_item_twice(openai_fake: FakeOpenAI, client: openai.AsyncOpenAI) -> None:
    openai_fake.push(Script(final_twice=True))
    events, error = await read_typed(client)
    assert error is None and events[-1].type == "response.completed"
    done = [e for e in events if e.type == "response.output_item.done"]
    assert len(done) == 2 and done[0].item == done[1].item
    assert done[0].sequence_number + 1 == done[1].sequence_number


# -- OpenAI models ----------------------------------------------------------------------


async def test_models_shutdown_dates_and_unknown_models(
    openai_fake: FakeOpenAI, client: openai.AsyncOpenAI
) -> None:
    soon, gone = date.today() + timedelta(days=30), date.today() - timedelta(days=30)
    openai_fake.shutdown_dates.update({"gpt-image-1": soon, "gpt-4.5-preview": gone})
    openai_fake.unknown_models.add("gpt-nope")
    assert (await client.models.retrieve("gpt-5")).shutdown_date is None
    assert (await client.models.retrieve("gpt-image-1")).shutdown_date == soon.isoformat()
    assert (await client.models.retrieve("gpt-4.5-preview")).shutdown_date == gone.isoformat()
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("gpt-nope")
    assert caught.value.code == "model_not_found"
    assert caught.value.message.startswith("Error code: 404 - The model `gpt-nope` does not")
    models = [r.model for r in openai_fake.model_requests]
    assert models == ["gpt-5", "gpt-image-1", "gpt-4.5-preview", "gpt-nope"]
    assert openai_fake.model_requests[0].headers["authorization"] == "Bearer sk-test"


@pytest.mark.parametrize("gateway", ["html", "text"])
async def test_models_behind_a_gateway_that_does_not_serve_them(
    openai_fake: FakeOpenAI, client: openai.AsyncOpenAI, gateway: str
) -> None:
    openai_fake.models_gateway = "html" if gateway == "html" else "text"
    with pytest.raises(openai.NotFoundError) as caught:
        await client.models.retrieve("gpt-5")
    assert isinstance(caught.value.body, str) and "404" in caught.value.body
    assert (caught.value.code, caught.value.message) == (None, "Error code: 404")
    assert len(openai_fake.model_requests) == 1


async def test_model_bodies_match_the_spec(openai_fake: FakeOpenAI) -> None:
    openai_fake.shutdown_dates["gpt-image-1"] = date(2026, 10, 23)
    openai_fake.unknown_models.add("gpt-nope")
    async with httpx2.AsyncClient() as http:
        for model, schema in [
            ("gpt-5", "Model"),
            ("gpt-image-1", "Model"),
            ("gpt-nope", "ErrorResponse"),
        ]:
            reply = await http.get(f"{openai_fake.base_url}/models/{model}")
            assert reply.headers["content-type"] == "application/json"
            assert_valid(openai_validator(schema), reply.json())
