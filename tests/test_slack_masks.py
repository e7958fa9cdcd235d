"""Region edits on Slack at the wire: a reply with a mask sends the tool's `input_image_mask`
(valid against OpenAI's spec), and a mask that cannot mark the image is refused in words with
nothing sent to OpenAI."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from adapters.runtime import Runtime
from tests.buttons import decoded, images_of, thread_messages
from tests.conftest import CHANNEL, SlackSender, settle
from tests.fakes.openai_server import FakeOpenAI, Script, make_png
from tests.fakes.slack_server import FakeSlack
from tests.slack import block_text, root_message
from tests.specs import assert_valid, openai_validator


def mask_png(size: tuple[int, int], *, hole: bool = True) -> bytes:
    """Opaque, with its top-left quarter transparent (the region to change) unless not `hole`."""
    image = Image.new("RGBA", size, (0, 0, 0, 255))
    if hole:
        image.paste((0, 0, 0, 0), (0, 0, size[0] // 2, size[1] // 2))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


async def drawn(easel: Runtime, slack: SlackSender, slack_fake: FakeSlack) -> str:
    await slack.command("a cat on a sofa")
    await settle(easel)
    return str(root_message(slack_fake)["ts"])


async def test_an_image_and_its_mask_send_the_tools_input_image_mask(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    thread = await drawn(easel, slack, slack_fake)
    photo, mask = make_png((48, 32), seed=3, blur=0), mask_png((48, 32))
    files = [slack_fake.add_file(photo, "photo.png", CHANNEL)]
    files.append(slack_fake.add_file(mask, "mask.png", CHANNEL))
    await slack.event(slack.reply_event(thread_ts=thread, text="a hat on the cat", files=files))
    await settle(easel)

    request = openai_fake.requests[-1]
    assert_valid(openai_validator("CreateResponse"), request)
    assert decoded(request["tools"][0]["input_image_mask"]["image_url"]) == mask
    assert images_of(request) == [photo]  # the mask is not an input image
    assert request["input"][0]["content"][0]["text"] == "a hat on the cat"
    assert request["previous_response_id"] == openai_fake.known_response_ids[0]
    assert "Reply in this thread" in block_text(thread_messages(slack_fake, thread)[-1]["blocks"])


@pytest.mark.parametrize(
    ("size", "name", "text"),
    [((64, 64), "region.png", "mask: a red hat"), ((64, 48), "cat_mask.png", "a red hat")],
    ids=["said with mask:", "named as a mask"],
)
async def test_a_mask_alone_marks_the_threads_last_image(
    easel: Runtime,
    slack: SlackSender,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
    size: tuple[int, int],
    name: str,
    text: str,
) -> None:
    openai_fake.push(Script(image_size=size))
    thread = await drawn(easel, slack, slack_fake)
    mask = mask_png(size)
    files = [slack_fake.add_file(mask, name, CHANNEL)]
    await slack.event(slack.reply_event(thread_ts=thread, text=text, files=files))
    await settle(easel)

    request = openai_fake.requests[-1]
    assert_valid(openai_validator("CreateResponse"), request)
    assert decoded(request["tools"][0]["input_image_mask"]["image_url"]) == mask
    assert images_of(request) == [next(iter(openai_fake.images_sent.values()))]
    assert request["input"][0]["content"][0]["text"] == "a red hat"  # `mask:` is not drawn
    assert request["previous_response_id"] == openai_fake.known_response_ids[0]


async def test_a_mask_of_another_size_is_refused_in_words_and_nothing_is_sent(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    thread = await drawn(easel, slack, slack_fake)
    files = [
        slack_fake.add_file(make_png((48, 32), seed=3, blur=0), "photo.png", CHANNEL),
        slack_fake.add_file(mask_png((32, 32)), "mask.png", CHANNEL),
    ]
    await slack.event(slack.reply_event(thread_ts=thread, text="a hat on the cat", files=files))
    await settle(easel)

    assert len(openai_fake.requests) == 1
    [message] = thread_messages(slack_fake, thread)
    shown = block_text(message["blocks"])
    assert "The mask mask.png is 32x32, but the image it marks is 48x32" in shown
    assert "same size" in shown


async def test_a_mask_with_no_transparent_pixel_is_refused_in_words_and_nothing_is_sent(
    easel: Runtime, slack: SlackSender, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(image_size=(64, 64)))
    thread = await drawn(easel, slack, slack_fake)
    files = [slack_fake.add_file(mask_png((64, 64), hole=False), "mask.png", CHANNEL)]
    await slack.event(slack.reply_event(thread_ts=thread, text="a red hat", files=files))
    await settle(easel)

    assert len(openai_fake.requests) == 1
    [message] = thread_messages(slack_fake, thread)
    assert "The mask mask.png has no transparent pixel" in block_text(message["blocks"])
