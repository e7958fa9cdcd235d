"""Region edits on Discord at the wire: a reply in a drawing's thread carrying a PNG mask
(named mask.png, *-mask.png or *_mask.png, or the last PNG of a reply that begins "mask:")
reaches OpenAI as the image_generation tool's input_image_mask; a mask alone marks the
thread's last image; a mask that cannot mark its image is refused in words, unpaid."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from adapters.runtime import Runtime
from tests.conftest import draw
from tests.core.test_masks import png
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, make_png
from tests.test_discord_buttons import final_of, input_images, reply

DRAWN = (64, 64)  # the size of the fake's drawings


async def reply_with(
    fake: FakeDiscord, runtime: Runtime, thread: int, text: str, *files: tuple[str, bytes]
) -> dict[str, Any]:
    """A reply in the thread with `files` (name, PNG bytes) attached; easel's answer once its
    turn has ended."""
    attachments = [fake.upload(data, name) for name, data in files]
    return await reply(fake, runtime, thread, text, attachments=attachments)


def mask_of(request: dict[str, Any]) -> bytes:
    """The mask a Responses request sends, decoded from its data URL."""
    url = request["tools"][0]["input_image_mask"]["image_url"]
    assert url.startswith("data:image/png;base64,")
    return base64.b64decode(url.partition(",")[2])


@pytest.mark.parametrize("name", ["mask.png", "harbour-mask.png", "harbour_mask.png"])
async def test_a_reply_with_an_image_and_a_named_mask_sends_both(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI, name: str
) -> None:
    thread = await draw(discord_fake, easel_discord, "a harbour")
    photo, mask = make_png((96, 96), 5, 0), png((96, 96))

    answer = await reply_with(
        discord_fake, easel_discord, thread, "a boat here", (name, mask), ("photo.png", photo)
    )

    edit = openai_fake.requests[1]
    assert edit["input"][0]["content"][0] == {"type": "input_text", "text": "a boat here"}
    assert input_images(edit) == [photo]  # the mask is not sent as an image
    assert mask_of(edit) == mask
    assert edit["previous_response_id"] == openai_fake.known_response_ids[0]
    assert [a["filename"][:6] for a in answer["attachments"]] == ["easel-"]


async def test_a_reply_beginning_mask_makes_its_last_png_the_mask(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    thread = await draw(discord_fake, easel_discord, "a harbour")
    photo, brush = make_png((96, 96), 5, 0), png((96, 96))

    await reply_with(
        discord_fake,
        easel_discord,
        thread,
        "mask: a lighthouse here",
        ("photo.png", photo),
        ("brush.png", brush),
    )

    edit = openai_fake.requests[1]
    assert edit["input"][0]["content"][0] == {"type": "input_text", "text": "a lighthouse here"}
    assert input_images(edit) == [photo] and mask_of(edit) == brush


async def test_a_mask_alone_marks_the_threads_last_image(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    thread = await draw(discord_fake, easel_discord, "a harbour")
    answer = await reply_with(discord_fake, easel_discord, thread, "at night")
    mask = png(DRAWN)

    await reply_with(discord_fake, easel_discord, thread, "a moon here", ("mask.png", mask))

    edit = openai_fake.requests[2]
    assert input_images(edit) == [final_of(discord_fake, answer)]  # fetched back from Discord
    assert mask_of(edit) == mask
    assert edit["previous_response_id"] == openai_fake.known_response_ids[1]


@pytest.mark.parametrize(
    ("mask", "words"),
    [
        (png((32, 32)), "The mask mask.png is 32x32, but the image it marks is 64x64"),
        (png(DRAWN, hole=False), "The mask mask.png has no transparent pixel"),
        (png(DRAWN, hole=False, mode="RGB"), "The mask mask.png has no transparent pixel"),
    ],
    ids=["wrong size", "opaque", "no alpha"],
)
async def test_a_mask_that_cannot_mark_the_image_is_refused_in_words_unpaid(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    mask: bytes,
    words: str,
) -> None:
    thread = await draw(discord_fake, easel_discord, "a harbour")

    answer = await reply_with(discord_fake, easel_discord, thread, "a moon", ("mask.png", mask))

    assert len(openai_fake.requests) == 1  # nothing was sent to OpenAI
    assert words in answer["content"] and answer["attachments"] == []
    assert answer["components"] == []  # no drawing, no buttons


async def test_a_mask_in_a_new_drawing_says_what_to_attach(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    mask = discord_fake.upload(png((1024, 1024)), "mask.png")
    mid = await draw(discord_fake, easel_discord, "a red hat", attachment=mask)

    assert openai_fake.requests == []
    message = discord_fake.messages[mid]
    assert "A mask marks a region of an image: attach the image beside it" in message["content"]
    assert mid not in discord_fake.threads
