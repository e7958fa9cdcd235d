"""The fake Responses API server, driven by the real `openai` SDK."""

from __future__ import annotations

import asyncio
import base64
import io
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import openai
import pytest
from openai.types.responses import ResponseStreamEvent
from PIL import Image

from tests.fakes.openai_server import FakeOpenAI, Script
from tests.specs import assert_valid, openai_validator

TOOL: dict[str, Any] = {"type": "image_generation", "partial_images": 2, "size": "1024x1024"}

SUCCESS_2 = [
    "ResponseCreatedEvent",
    "ResponseInProgressEvent",
    "ResponseOutputItemAddedEvent",
    "ResponseImageGenCallInProgressEvent",
    "ResponseImageGenCallGeneratingEvent",
    "ResponseImageGenCallPartialImageEvent",
    "ResponseImageGenCallPartialImageEvent",
    "ResponseImageGenCallCompletedEvent",
    "ResponseOutputItemDoneEvent",
    "ResponseCompletedEvent",
]


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient() as client:
        yield client


def make_client(
    fake: FakeOpenAI,
    http: httpx2.AsyncClient,
    *,
    strict: bool = True,
    max_retries: int = 0,
    timeout: float = 10.0,
) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=fake.base_url,
        api_key="test-key",
        http_client=http,
        max_retries=max_retries,
        timeout=timeout,
        _strict_response_validation=strict,  # pydantic-validate every event, not just construct
    )


async def collect(client: openai.AsyncOpenAI, **overrides: Any) -> list[ResponseStreamEvent]:
    body: dict[str, Any] = {"model": "gpt-5", "input": "draw a cat", "tools": [TOOL], **overrides}
    stream = await client.responses.create(stream=True, **body)
    return [event async for event in stream]


def names(events: list[ResponseStreamEvent]) -> list[str]:
    return [type(event).__name__ for event in events]


def png_size(b64: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(base64.b64decode(b64))) as img:
        assert img.format == "PNG"
        return img.size


async def test_success_stream_parses_into_typed_events(
    fake: FakeOpenAI, http: httpx2.AsyncClient
) -> None:
    events = await collect(make_client(fake, http), instructions="be nice")

    assert names(events) == SUCCESS_2
    assert [e.sequence_number for e in events] == list(range(len(events)))

    created, completed = events[0], events[-1]
    assert created.type == "response.created" and completed.type == "response.completed"
    assert created.response.status == "in_progress" and created.response.output == []
    assert created.response.model == "gpt-5" and created.response.instructions == "be nice"
    assert completed.response.status == "completed"
    assert completed.response.usage is not None and completed.response.usage.total_tokens > 0
    assert fake.known_response_ids == [completed.response.id] == ["resp_1"]

    partials = [e for e in events if e.type == "response.image_generation_call.partial_image"]
    assert [p.partial_image_index for p in partials] == [0, 1]
    assert all(p.item_id == "ig_1" and p.size == "1024x1024" for p in partials)
    assert [base64.b64decode(p.partial_image_b64) for p in partials] == [
        png for _, _, png in fake.partials_sent
    ]
    done = events[-2]
    assert done.type == "response.output_item.done"
    item = done.item
    assert item.type == "image_generation_call" and item.status == "completed"
    assert item.result is not None and item.revised_prompt == "a revised prompt"
    assert base64.b64decode(item.result) == fake.images_sent["ig_1"]
    assert png_size(item.result) == (64, 64)
    assert completed.response.output == [item]
    frames = [fake.images_sent["ig_1"], *(png for _, _, png in fake.partials_sent)]
    assert len(set(frames)) == 3

    assert fake.requests[0]["tools"] == [TOOL] and fake.requests[0]["stream"] is True
    assert fake.headers[0]["authorization"] == "Bearer test-key"


async def test_events_match_the_spec_schemas(fake: FakeOpenAI, http: httpx2.AsyncClient) -> None:
    broken = ("server_error", "Something broke.")
    fake.push(Script(), Script(stream_error_event=broken), Script(failed=broken))
    client = make_client(fake, http)
    events = [*await collect(client), *await collect(client), *await collect(client)]
    assert set(names(events)) == {*SUCCESS_2, "ResponseErrorEvent", "ResponseFailedEvent"}
    for event in events:  # the SDK's class names are the spec's schema names
        assert_valid(openai_validator(type(event).__name__), event.to_dict())


async def test_partial_count_follows_tool_or_script(
    fake: FakeOpenAI, http: httpx2.AsyncClient
) -> None:
    client = make_client(fake, http)
    fake.push(Script(partials=0), Script(image_size=(20, 10)))
    none = await collect(client)
    assert "ResponseImageGenCallPartialImageEvent" not in names(none)
    three = await collect(client, tools=[{**TOOL, "partial_images": 3}])
    partials = [e for e in three if e.type == "response.image_generation_call.partial_image"]
    assert [p.partial_image_index for p in partials] == [0, 1, 2]
    assert png_size(partials[0].partial_image_b64) == (20, 10)
    assert fake.known_response_ids == ["resp_1", "resp_2"]


async def test_final_before_partials(fake: FakeOpenAI, http: httpx2.AsyncClient) -> None:
    fake.push(Script(final_before_partials=True))
    events = await collect(make_client(fake, http))
    assert names(events)[5:] == [
        "ResponseImageGenCallPartialImageEvent",
        "ResponseImageGenCallCompletedEvent",
        "ResponseOutputItemDoneEvent",
        "ResponseImageGenCallPartialImageEvent",
        "ResponseCompletedEvent",
    ]


async def test_http_429_raises_rate_limit_error(fake: FakeOpenAI, http: httpx2.AsyncClient) -> None:
    fake.push(Script(http_error=(429, "rate_limit_exceeded", "Slow down."), retry_after=0.01))
    with pytest.raises(openai.RateLimitError) as info:
        await collect(make_client(fake, http))
    assert info.value.code == "rate_limit_exceeded"
    assert info.value.response.headers["retry-after"] == "0.01"
    assert "Slow down." in str(info.value)


async def test_sdk_retry_after_429_then_succeeds(
    fake: FakeOpenAI, http: httpx2.AsyncClient
) -> None:
    fake.push(Script(http_error=(429, "rate_limit_exceeded", "Slow down."), retry_after=0.01))
    events = await collect(make_client(fake, http, max_retries=1))
    assert names(events) == SUCCESS_2
    assert len(fake.requests) == 2 and fake.known_response_ids == ["resp_2"]


async def test_expired_previous_response_id(fake: FakeOpenAI, http: httpx2.AsyncClient) -> None:
    fake.expired_ids.add("resp_old")
    fake.push(Script(partials=1))
    client = make_client(fake, http)
    with pytest.raises(openai.BadRequestError) as info:
        await collect(client, previous_response_id="resp_old")
    assert info.value.code == "previous_response_not_found"
    assert info.value.param == "previous_response_id"
    assert isinstance(info.value.body, dict)
    assert info.value.body["message"] == "Previous response with id 'resp_old' not found."
    events = await collect(client, previous_response_id="resp_1")  # the script was not used up
    assert names(events).count("ResponseImageGenCallPartialImageEvent") == 1
    assert fake.requests[1]["previous_response_id"] == "resp_1"


async def test_stream_error_event(fake: FakeOpenAI, http: httpx2.AsyncClient) -> None:
    fake.push(Script(stream_error_event=("server_error", "Something broke.")))
    events = await collect(make_client(fake, http))
    assert names(events) == ["ResponseCreatedEvent", "ResponseErrorEvent"]
    error = events[-1]
    assert error.type == "error" and error.code == "server_error"
    assert error.message == "Something broke." and error.sequence_number == 1
    assert fake.known_response_ids == []


async def test_stream_error_data_raises_api_error(
    fake: FakeOpenAI, http: httpx2.AsyncClient
) -> None:
    fake.push(Script(stream_error_data=("server_error", "Stream exploded.")))
    with pytest.raises(openai.APIError) as info:
        await collect(make_client(fake, http))
    assert not isinstance(info.value, openai.APIStatusError)
    assert isinstance(info.value.body, dict) and info.value.body["code"] == "server_error"
    assert info.value.message == "Stream exploded."


@pytest.mark.parametrize(
    ("script", "code"),
    [
        (Script(failed=("server_error", "The model failed.")), "server_error"),
        (Script(moderation_blocked=True), "moderation_blocked"),
    ],
)
async def test_failed_response(
    fake: FakeOpenAI, http: httpx2.AsyncClient, script: Script, code: str
) -> None:
    fake.push(script)
    # The SDK's ResponseError.code Literal lacks "moderation_blocked": strict validation rejects it.
    events = await collect(make_client(fake, http, strict=code != "moderation_blocked"))
    assert names(events)[-1] == "ResponseFailedEvent"
    failed = events[-1]
    assert failed.type == "response.failed" and failed.response.status == "failed"
    assert failed.response.error is not None and failed.response.error.code == code
    assert fake.known_response_ids == [] and fake.images_sent == {}


async def test_delay_slows_but_completes(fake: FakeOpenAI, http: httpx2.AsyncClient) -> None:
    fake.push(Script(delay=0.01, partials=1))
    start = time.monotonic()
    events = await collect(make_client(fake, http))
    assert time.monotonic() - start >= 0.01 * (len(events) - 1)
    assert names(events)[-1] == "ResponseCompletedEvent"


async def test_hang_after_partials_times_out_and_shuts_down(http: httpx2.AsyncClient) -> None:
    fake = FakeOpenAI()
    async with fake:
        fake.push(Script(hang_after_partials=True), Script(hang_after_partials=True))
        seen: list[str] = []
        with pytest.raises(openai.APITimeoutError):
            stream = await make_client(fake, http, timeout=0.2).responses.create(
                model="gpt-5", input="x", tools=[TOOL], stream=True
            )
            async for event in stream:
                seen.append(type(event).__name__)
        assert seen == SUCCESS_2[:7]
        stream = await make_client(fake, http).responses.create(
            model="gpt-5", input="x", tools=[TOOL], stream=True
        )
        async for _ in stream:
            if len(fake.partials_sent) == 4:
                break  # leave this one hanging open while the server stops
        start = time.monotonic()
    assert time.monotonic() - start < 1.5
    await stream.close()


async def test_rejects_non_streaming_and_missing_tool(
    fake: FakeOpenAI, http: httpx2.AsyncClient
) -> None:
    client = make_client(fake, http)
    with pytest.raises(openai.BadRequestError, match="only streams"):
        await client.responses.create(model="gpt-5", input="x", tools=[TOOL])
    with pytest.raises(openai.BadRequestError, match="image_generation"):
        await collect(client, tools=[])
    assert len(fake.requests) == 2


async def test_fake_closes_cleanly_under_load(fake: FakeOpenAI, http: httpx2.AsyncClient) -> None:
    client = make_client(fake, http)
    results = await asyncio.gather(*(collect(client) for _ in range(3)))
    assert all(names(events) == SUCCESS_2 for events in results)
    assert sorted(fake.known_response_ids) == ["resp_1", "resp_2", "resp_3"]


async def test_raw_sse_framing(fake: FakeOpenAI, http: httpx2.AsyncClient) -> None:
    body = {"model": "gpt-5", "input": "x", "tools": [TOOL], "stream": True}
    reply = await http.post(f"{fake.base_url}/responses", json=body)
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/event-stream")
    assert reply.headers["x-request-id"] == "req_1"
    blocks = reply.text.split("\n\n")
    assert blocks.pop() == ""
    for block in blocks:
        event_line, data_line = block.split("\n")
        data = json.loads(data_line.removeprefix("data: "))
        assert event_line == f"event: {data['type']}"
    assert len(blocks) == len(SUCCESS_2)
