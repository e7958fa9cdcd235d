"""The image string is cut out of an event's bytes before its JSON is parsed: the event reads
exactly as the whole JSON would, with the image's base64 in its place."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.models import FinalImage, ImageOptions, Preview
from bot.openai.events import LONG, _parse, cut_image, events, translate, unwanted_images
from bot.openai.sse import HEAD

IMAGE = base64.b64encode(os.urandom(3 * LONG))  # long enough to be cut


def as_read(event: dict[str, Any]) -> dict[str, Any]:
    """The parsed event with any cut image turned back into text, to compare with json."""

    def plain(value: Any) -> Any:
        if isinstance(value, memoryview):
            return value.tobytes().decode()
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        return value

    return dict(plain(event))


EVENTS: list[dict[str, Any]] = [
    {
        "type": "response.image_generation_call.partial_image",
        "partial_image_index": 0,
        "partial_image_b64": IMAGE.decode(),
        "size": "1024x1024",
    },
    {
        "type": "response.output_item.done",
        "item": {
            "type": "image_generation_call",
            "id": "ig_1",
            "result": IMAGE.decode(),
            "revised_prompt": 'say "result": "no"',  # the key's words inside a string
        },
    },
    {
        "type": "response.completed",
        "response": {
            "id": "resp_1",
            "metadata": {"result": "short"},  # a short string under the same key: kept
            "output": [{"type": "image_generation_call", "result": IMAGE.decode()}],
            "usage": {"total_tokens": 9},
        },
    },
]


@pytest.mark.parametrize("compact", [True, False])
@pytest.mark.parametrize("event", EVENTS, ids=[e["type"] for e in EVENTS])
def test_an_event_reads_as_its_whole_json(event: dict[str, Any], compact: bool) -> None:
    separators = (",", ":") if compact else (", ", ": ")
    data = json.dumps(event, separators=separators).encode()
    _, image = cut_image(data)
    assert image is not None and image.tobytes() == IMAGE  # cut, not copied or decoded
    assert as_read(_parse(data)) == event


def test_an_escaped_string_is_left_to_the_json_parser() -> None:
    event = {"type": "x", "result": IMAGE.decode().replace("/", "\\/")}
    data = json.dumps(event).replace("\\\\/", "\\/").encode()  # `\/`, as JSON allows
    assert cut_image(data)[1] is None
    assert _parse(data) == json.loads(data)


def test_short_events_are_parsed_whole() -> None:
    data = b'{"type": "response.created", "response": {"id": "r", "result": "x"}}'
    assert cut_image(data) == (data, None)
    assert _parse(data) == json.loads(data)


def sse(events: list[dict[str, Any]], separators: tuple[str, str]) -> bytes:
    return b"".join(
        b"event: %s\ndata: %s\n\n"
        % (e["type"].encode(), json.dumps(e, separators=separators).encode())
        for e in events
    )


@pytest.mark.parametrize("compact", [True, False])
async def test_the_image_response_completed_repeats_is_let_go_unread(compact: bool) -> None:
    separators = (",", ":") if compact else (", ", ": ")
    created = {"type": "response.created", "response": {"id": "resp_1"}}
    body = sse([created, EVENTS[1], EVENTS[2]], separators)  # the final, then its copy
    completed = body.index(b"data: ", body.index(b"event: response.completed"))
    at = unwanted_images()(body[completed : completed + HEAD])
    assert at is not None and body[completed + at :].startswith(IMAGE)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16_384):
            yield body[start : start + 16_384]

    read = [event async for event in events(chunks())]
    assert read[2]["response"]["output"][0]["result"] == ""  # let go while it arrived

    async def replay() -> AsyncIterator[dict[str, Any]]:
        for event in read:
            yield event

    [final] = [item async for item in translate(replay(), ImageOptions())]
    assert isinstance(final, FinalImage)
    assert final.data == base64.b64decode(IMAGE)
    assert (final.response_id, final.usage) == ("resp_1", {"total_tokens": 9})


def partial(index: int) -> dict[str, Any]:
    return {**EVENTS[0], "partial_image_index": index}


async def test_a_partial_image_nobody_could_see_is_let_go_unread() -> None:
    created = {"type": "response.created", "response": {"id": "resp_1"}}
    body = sse([created, partial(0), partial(1), EVENTS[1], EVENTS[2]], (",", ":"))
    answers = [False, True]  # no edit to spare for the first frame; one for the second
    asked: list[bool] = []

    def wanted() -> bool:
        asked.append(answers[len(asked)])
        return asked[-1]

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 16_384):
            yield body[start : start + 16_384]

    items = [item async for item in translate(events(chunks(), wanted=wanted), ImageOptions())]
    assert asked == [False, True]  # asked once per partial image, never for the final
    previews = [i for i in items if isinstance(i, Preview)]
    assert [p.index for p in previews] == [1]
    assert previews[0].data == base64.b64decode(IMAGE)
    assert isinstance(items[-1], FinalImage) and items[-1].data == base64.b64decode(IMAGE)
