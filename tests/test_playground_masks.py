"""Edit region at the wire: the page's reply carries `mask.png`, and OpenAI gets it as the
image_generation tool's `input_image_mask`, beside the image the mask marks."""

from __future__ import annotations

import base64
import io
from typing import Any

import httpx2
from PIL import Image

from adapters.runtime import Runtime
from tests.fakes.openai_server import FakeOpenAI
from tests.playground import Events, done, drawn


def mask_for(image: bytes, *, size: tuple[int, int] | None = None, hole: bool = True) -> bytes:
    """A mask as the page paints one: opaque black, transparent in a square at the centre."""
    with Image.open(io.BytesIO(image)) as opened:
        width, height = size or opened.size
    mask = Image.new("RGBA", (width, height), (0, 0, 0, 255))
    if hole:
        mask.paste((0, 0, 0, 0), (width // 4, height // 4, width * 3 // 4, height * 3 // 4))
    out = io.BytesIO()
    mask.save(out, format="PNG")
    return out.getvalue()


def data_url(data: bytes, mime_type: str = "image/png") -> str:
    return f"data:{mime_type};base64,{base64.b64encode(data).decode()}"


async def reply(
    http: httpx2.AsyncClient, thread: str, prompt: str, *files: tuple[str, bytes], id: str
) -> None:
    """The reply the page sends from Edit region: the words, the mask, maybe the drawing."""
    answer = await http.post(
        "/api/draw",
        data={"prompt": prompt, "thread": thread, "id": id},
        files=[("image", (name, data, "image/png")) for name, data in files],
    )
    assert answer.status_code == 202, answer.text


def sent_images(body: dict[str, Any]) -> list[str]:
    return [p["image_url"] for p in body["input"][0]["content"] if p["type"] == "input_image"]


async def test_a_painted_region_reaches_openai_as_the_mask_of_the_drawing(
    http: httpx2.AsyncClient, events: Events, openai_fake: FakeOpenAI, playground: Runtime
) -> None:
    first = await drawn(http, events, "a harbour at night")
    drawing = (await http.get(first["image"])).content
    mask = mask_for(drawing)

    # The thread's last drawing: the mask goes alone, and marks that drawing.
    await reply(http, first["thread"], "a full moon", ("mask.png", mask), id="m1")
    second = await events.until(lambda m: done(m) and m["id"] != first["id"])
    body = openai_fake.requests[1]
    assert body["tools"][0]["input_image_mask"] == {"image_url": data_url(mask)}
    assert sent_images(body) == [data_url(drawing)]
    assert body["input"][0]["content"][0]["text"] == "a full moon"
    assert body["previous_response_id"] == openai_fake.known_response_ids[0]
    yours = [m for m in events.messages.values() if m["author"] == "you"]
    assert (yours[-1]["text"], yours[-1]["line"]) == ("a full moon", "attached: mask.png")

    # An earlier drawing: the page sends it beside its mask, and the mask marks it.
    await reply(
        http,
        first["thread"],
        "a lantern on the quay",
        ("mask.png", mask),
        ("drawing.png", drawing),
        id="m2",
    )
    await events.until(lambda m: done(m) and m["id"] not in (first["id"], second["id"]))
    body = openai_fake.requests[2]
    assert body["tools"][0]["input_image_mask"] == {"image_url": data_url(mask)}
    assert sent_images(body) == [data_url(drawing)]
    await playground.turns.join()
    assert len(openai_fake.requests) == 3


async def test_a_mask_that_cannot_mark_the_drawing_is_answered_in_words(
    http: httpx2.AsyncClient, events: Events, openai_fake: FakeOpenAI, playground: Runtime
) -> None:
    first = await drawn(http, events, "a quiet field")
    drawing = (await http.get(first["image"])).content
    with Image.open(io.BytesIO(drawing)) as opened:
        width, height = opened.size
    wrong = mask_for(drawing, size=(width + 8, height))
    await reply(http, first["thread"], "a scarecrow", ("mask.png", wrong), id="w1")
    failed = await events.until(lambda m: m["state"] == "failed")
    assert failed["thread"] == first["thread"]
    assert failed["note"] == (
        f"The mask mask.png is {width + 8}x{height}, but the image it marks is "
        f"{width}x{height}: they must be the same size."
    )
    opaque = mask_for(drawing, hole=False)
    await reply(http, first["thread"], "a scarecrow", ("mask.png", opaque), id="w2")
    refused = await events.until(lambda m: m["state"] == "failed" and m["id"] != failed["id"])
    assert "has no transparent pixel" in refused["note"]
    await playground.turns.join()
    assert len(openai_fake.requests) == 1  # neither was paid for
