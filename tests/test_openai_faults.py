"""The OpenAI backend against every fault shape of the fake, at the wire: the real
OpenAIImageBackend over the real openai.AsyncOpenAI over the SDK's DefaultAioHttpClient (as
adapters/runtime.py builds it), and the exact bot.errors type and words a person reads.

After each fault the same backend draws again, so no fault leaves the client broken.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import httpx2
import openai
import pybase64
import pytest

from bot import errors
from bot.models import FinalImage, ImageOptions, Preview
from bot.openai.backend import OpenAIImageBackend
from bot.openai.errors import map_api_error, map_transport_error
from tests.fakes.faults import DISCONNECT, HANG, RESET, TRUNCATE, Fault, rate_limited, status
from tests.fakes.openai_server import FakeOpenAI, Script

TIMEOUT = httpx2.Timeout(0.5, connect=0.5)
OPTIONS = ImageOptions(partial_images=1)
Item = Preview | FinalImage
Error = type[errors.EaselError]

BUSY = "busy right now"
UNREACHABLE = "could not reach the image service"
DROPPED = "connection to the image service dropped"
TOO_LONG = "took too long"
UNREADABLE = "could not read the image service's answer"
NO_MODEL = "An admin must choose another one"

CREATE_FAULTS: dict[str, tuple[Fault, Error, str]] = {
    "503-json": (status(503), errors.ServiceBusy, BUSY),
    "503-html": (status(503, body="html"), errors.ServiceBusy, BUSY),
    "503-text": (status(503, body="text"), errors.ServiceBusy, BUSY),
    "503-empty": (status(503, body="empty"), errors.ServiceBusy, BUSY),
    "500": (status(500), errors.ServiceBusy, BUSY),
    "429-retry-after": (rate_limited(2), errors.ServiceBusy, BUSY),
    "429-bare": (rate_limited(None), errors.ServiceBusy, BUSY),
    "reset": (RESET, errors.ServiceBusy, UNREACHABLE),
    "disconnect": (DISCONNECT, errors.ServiceBusy, UNREACHABLE),
    "hang": (HANG, errors.ServiceTimeout, TOO_LONG),
    "truncate": (TRUNCATE, errors.ServiceBusy, DROPPED),
}
MISSING = "The model `gpt-image-9` does not exist or you do not have access to it."
RETIRED = (
    "The model `gpt-image-0` has been deprecated, learn more here: "
    "https://platform.openai.com/docs/deprecations"
)


def aiohttp_client() -> httpx2.AsyncClient:
    return openai.DefaultAioHttpClient()


@pytest.fixture
async def backend(openai_fake: FakeOpenAI) -> AsyncIterator[OpenAIImageBackend]:
    async with aiohttp_client() as http:
        yield make_backend(openai_fake.base_url, http)


def make_backend(base_url: str, http: httpx2.AsyncClient) -> OpenAIImageBackend:
    client = openai.AsyncOpenAI(
        api_key="sk-test", base_url=base_url, http_client=http, max_retries=0, timeout=TIMEOUT
    )
    return OpenAIImageBackend(client=client)


async def attempt(backend: OpenAIImageBackend) -> tuple[list[Item], errors.EaselError | None]:
    """What one drawing yielded, and the bot.errors type it ended with, if any. Anything else
    raised (a raw exception leaking out of generate()) fails the test."""
    items: list[Item] = []
    try:
        async for item in backend.generate(
            prompt="a lighthouse", options=OPTIONS, previous_response_id=None, images=()
        ):
            items.append(item)
    except errors.EaselError as exc:
        return items, exc
    return items, None


def assert_error(error: errors.EaselError | None, kind: Error, *words: str) -> None:
    assert type(error) is kind, f"{type(error).__name__}: {error!r}"
    for word in words:
        assert word in error.user_message


async def assert_draws(backend: OpenAIImageBackend, fake: FakeOpenAI) -> FinalImage:
    """A normal drawing: its previews, then one final image, the one the fake sent."""
    items, error = await attempt(backend)
    assert error is None
    finals = [item for item in items if isinstance(item, FinalImage)]
    assert len(finals) == 1 and items[-1] is finals[0]
    assert finals[0].data == fake.images_sent[finals[0].image_call_id]
    return finals[0]


@pytest.mark.parametrize("shape", list(CREATE_FAULTS))
async def test_a_failed_create_says_what_happened(
    openai_fake: FakeOpenAI, backend: OpenAIImageBackend, shape: str
) -> None:
    fault, kind, words = CREATE_FAULTS[shape]
    openai_fake.faults.set("responses.create", fault)
    items, error = await attempt(backend)
    assert items == [] and openai_fake.faults.fired == [("responses.create", fault)]
    assert_error(error, kind, words)
    await assert_draws(backend, openai_fake)
    assert len(openai_fake.requests) == 2  # no retry hid the fault


@pytest.mark.parametrize("shape", ["reset", "disconnect", "hang"])
async def test_silences_read_the_same_over_httpx2(openai_fake: FakeOpenAI, shape: str) -> None:
    """The SDK's own transport raises other types for the same silences: the same words."""
    fault, kind, words = CREATE_FAULTS[shape]
    async with httpx2.AsyncClient() as http:
        backend = make_backend(openai_fake.base_url, http)
        openai_fake.faults.set("responses.create", fault)
        assert_error((await attempt(backend))[1], kind, words)
        await assert_draws(backend, openai_fake)


async def test_nothing_listening_is_unreachable() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: the connection is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with aiohttp_client() as http:
        _, error = await attempt(make_backend(f"http://127.0.0.1:{port}/v1", http))
    assert_error(error, errors.ServiceBusy, UNREACHABLE)


async def test_a_stream_cut_mid_event_says_the_connection_dropped(
    openai_fake: FakeOpenAI, backend: OpenAIImageBackend
) -> None:
    openai_fake.push(Script(cut_mid_event=True))
    items, error = await attempt(backend)
    assert_error(error, errors.ServiceBusy, DROPPED)
    assert items and all(isinstance(item, Preview) for item in items)
    await assert_draws(backend, openai_fake)


async def test_stream_data_that_is_not_json(
    openai_fake: FakeOpenAI, backend: OpenAIImageBackend
) -> None:
    openai_fake.push(Script(not_json=True))
    items, error = await attempt(backend)
    assert items == []
    assert_error(error, errors.GenerationFailed, UNREADABLE)
    await assert_draws(backend, openai_fake)


async def test_an_unknown_event_is_ignored(
    openai_fake: FakeOpenAI, backend: OpenAIImageBackend
) -> None:
    openai_fake.push(Script(unknown_event=True))
    final = await assert_draws(backend, openai_fake)
    assert final.response_id == "resp_1"


def count_decodes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every image the stream's base64 was decoded into (pybase64, watched, not replaced)."""
    decoded: list[bytes] = []
    real: Callable[..., bytes] = pybase64.b64decode

    def watched(*args: Any, **kwargs: Any) -> bytes:
        decoded.append(real(*args, **kwargs))
        return decoded[-1]

    monkeypatch.setattr(pybase64, "b64decode", watched)
    return decoded


async def test_the_final_sent_twice_is_decoded_once(
    openai_fake: FakeOpenAI, backend: OpenAIImageBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    openai_fake.push(Script(final_twice=True))
    decoded = count_decodes(monkeypatch)
    final = await assert_draws(backend, openai_fake)
    assert decoded.count(final.data) == 1
    assert len(decoded) == 1 + OPTIONS.partial_images


@pytest.mark.parametrize(
    ("script", "words"),
    [
        (Script(http_error=(404, "model_not_found", MISSING)), ("gpt-image-9", "not available")),
        (Script(http_error=(404, "model_not_found", RETIRED)), ("gpt-image-0", "retired")),
        (Script(stream_error_event=("model_not_found", RETIRED)), ("gpt-image-0", "retired")),
        (Script(failed=("model_not_found", MISSING)), ("gpt-image-9", "not available")),
    ],
    ids=["http-missing", "http-retired", "stream-retired", "failed-missing"],
)
async def test_a_model_that_is_gone_asks_an_admin_to_choose_another(
    openai_fake: FakeOpenAI, backend: OpenAIImageBackend, script: Script, words: tuple[str, str]
) -> None:
    openai_fake.push(script)
    _, error = await attempt(backend)
    assert_error(error, errors.GenerationFailed, *words, NO_MODEL)
    await assert_draws(backend, openai_fake)


def timed_out(*beneath: BaseException) -> openai.APITimeoutError:
    """The SDK's timeout error over what its transport raised, each the cause of the one before
    it, as the SDK and its aiohttp transport chain them."""
    error = openai.APITimeoutError(request=httpx2.Request("POST", "http://127.0.0.1/v1"))
    outer: BaseException = error
    for inner in beneath:
        outer.__cause__ = inner
        outer = inner
    return error


CHAINS: dict[str, tuple[openai.APIError, Error, str]] = {
    "reset": (
        timed_out(
            httpx2.ConnectTimeout("[Errno 104] Connection reset by peer"), ConnectionResetError()
        ),
        errors.ServiceBusy,
        UNREACHABLE,
    ),
    "reset, text only": (
        timed_out(httpx2.ConnectTimeout("[Errno 104] Connection reset by peer")),
        errors.ServiceBusy,
        UNREACHABLE,
    ),
    "disconnect": (
        timed_out(httpx2.ConnectTimeout("x"), aiohttp.ServerDisconnectedError()),
        errors.ServiceBusy,
        UNREACHABLE,
    ),
    "disconnect, text only": (
        timed_out(httpx2.ConnectTimeout("Server disconnected")),
        errors.ServiceBusy,
        UNREACHABLE,
    ),
    "refused": (
        timed_out(httpx2.ConnectTimeout("x"), ConnectionRefusedError(111, "refused")),
        errors.ServiceBusy,
        UNREACHABLE,
    ),
    "connect timeout": (
        timed_out(httpx2.ConnectTimeout("x"), aiohttp.ConnectionTimeoutError("x")),
        errors.ServiceTimeout,
        TOO_LONG,
    ),
    "connect timeout, text only": (
        timed_out(httpx2.ConnectTimeout("Connection timeout to host")),
        errors.ServiceTimeout,
        TOO_LONG,
    ),
    "read timeout": (
        timed_out(httpx2.ReadTimeout("x"), aiohttp.SocketTimeoutError("x")),
        errors.ServiceTimeout,
        TOO_LONG,
    ),
    "read timeout, text only": (timed_out(httpx2.ReadTimeout("")), errors.ServiceTimeout, TOO_LONG),
}


@pytest.mark.parametrize("chain", list(CHAINS))
def test_the_exception_chain_tells_a_drop_from_a_silence(chain: str) -> None:
    error, kind, words = CHAINS[chain]
    assert_error(map_api_error(error), kind, words)


def test_a_drop_while_reading_after_an_answer() -> None:
    dropped = map_transport_error(httpx2.ReadError("payload"), answered=True)
    assert_error(dropped, errors.ServiceBusy, DROPPED)
    silent = map_transport_error(httpx2.ReadTimeout("quiet"), answered=True)
    assert_error(silent, errors.ServiceTimeout, TOO_LONG)
