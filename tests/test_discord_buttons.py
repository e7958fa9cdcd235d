"""The buttons under a finished drawing on Discord, at the wire: what each shows, what reaches
OpenAI, what Discord receives, and that a press draws once."""

from __future__ import annotations

import base64
import io
import logging
from typing import Any

import pytest
from PIL import Image

from adapters.discord.surface import WAITING
from adapters.runtime import Runtime
from bot.models import Action, ThreadKey
from bot.turns.inputs import BIGGER_PROMPT, VARY_PROMPT
from bot.turns.presses import ALREADY
from tests.conftest import draw, eventually, settle
from tests.discord_buttons import (
    DEFERRED_UPDATE,
    MODAL,
    answered,
    buttons,
    custom_id,
    edit,
    finished,
    press,
    press_and_settle,
    told,
)
from tests.fakes.discord_server import GUILD_ID, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, Script, make_png
from tests.test_discord_settings import set_setting

LIMIT = 10 * 1024 * 1024  # an unboosted server's upload limit
SQUARE = (1024, 1024)  # a size the image service makes (the fake's default is a tiny 64x64)


def thread_key(thread: int) -> ThreadKey:
    return ThreadKey("discord", str(GUILD_ID), str(thread), str(thread))


async def reply(
    fake: FakeDiscord,
    runtime: Runtime,
    thread: int,
    text: str,
    *,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A person's reply in the thread; easel's message for its turn, once drawn."""
    before = len(fake.bot_messages_in(thread))
    message = fake.person_message(thread, text, attachments=attachments)
    await fake.dispatch("MESSAGE_CREATE", message)
    await eventually(lambda: len(fake.bot_messages_in(thread)) > before)
    await settle(runtime)
    return fake.bot_messages_in(thread)[-1]


def drawn_in(fake: FakeDiscord, thread: int) -> list[dict[str, Any]]:
    """easel's messages in the thread that carry a final image, oldest first."""
    return [
        m
        for m in fake.bot_messages_in(thread)
        if any(a["filename"].startswith("easel-") for a in m["attachments"])
    ]


def input_images(request: dict[str, Any]) -> list[bytes]:
    """The images a Responses request sends, decoded from their data URLs."""
    content = request["input"][0]["content"]
    urls = [part["image_url"] for part in content if part["type"] == "input_image"]
    return [base64.b64decode(url.partition(",")[2]) for url in urls]


def final_of(fake: FakeDiscord, message: dict[str, Any]) -> bytes:
    return fake.blobs[int(message["attachments"][0]["id"])]


async def test_every_finished_drawing_carries_the_five_buttons_and_keeps_its_file(
    easel_discord: Runtime, discord_fake: FakeDiscord
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    answer = await reply(discord_fake, easel_discord, thread, "at night")

    first = discord_fake.messages[thread]
    assert buttons(first) == finished(1)
    assert [b["label"] for b in first["components"][0]["components"]] == [
        "Redo",
        "Vary",
        "Bigger",
        "Edit",
        "Delete",
    ]
    assert buttons(answer) == finished(2)
    for message in (first, answer):  # the edit that added them kept the image
        assert [a["filename"][:6] for a in message["attachments"]] == ["easel-"]
    # A retried delivery sets the same buttons again; it never adds a second row.
    assert all(len(m["components"]) == 1 for m in (first, answer))


async def test_redo_draws_the_same_prompt_from_the_same_point_as_a_new_message_in_the_thread(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    answer = await reply(discord_fake, easel_discord, thread, "at night")

    pressed = await press_and_settle(discord_fake, easel_discord, int(answer["id"]), Action.REDO, 2)

    assert (await answered(discord_fake, pressed))["type"] == DEFERRED_UPDATE
    assert len(openai_fake.requests) == 3
    redo = openai_fake.requests[2]
    assert redo["input"] == openai_fake.requests[1]["input"]  # "at night" again
    assert redo["previous_response_id"] == openai_fake.known_response_ids[0]  # turn 2's own
    drawn = drawn_in(discord_fake, thread)
    assert len(drawn) == 2 and buttons(drawn[-1]) == finished(3)
    assert "message_reference" not in drawn[-1]  # a message of its own, not a reply
    stored = (await easel_discord.store.ledger.turns(thread_key(thread)))[-1]
    assert (stored["action"], stored["origin"], stored["status"]) == ("redo", 2, "delivered")


async def test_redo_of_a_first_drawing_fetches_its_attachment_again(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    photo = discord_fake.upload(make_png((48, 48), 3, 0), "photo.png")
    thread = await draw(discord_fake, easel_discord, "a lighthouse", attachment=photo)

    await press_and_settle(discord_fake, easel_discord, thread, Action.REDO, 1)

    assert discord_fake.downloads == [int(photo["id"])] * 2
    first, redo = openai_fake.requests
    assert "previous_response_id" not in redo
    assert input_images(redo) == input_images(first) == [discord_fake.blobs[int(photo["id"])]]
    assert len(drawn_in(discord_fake, thread)) == 1  # the redo, in the drawing's thread


async def test_vary_sends_the_drawing_with_the_threads_latest_response(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.push(Script(image_size=SQUARE), Script(image_size=SQUARE))
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    await reply(discord_fake, easel_discord, thread, "at night")

    await press_and_settle(discord_fake, easel_discord, thread, Action.VARY, 1)

    vary = openai_fake.requests[2]
    assert vary["tools"][0]["size"] == "1024x1024"  # the size the drawing came out at
    assert vary["input"][0]["content"][0] == {"type": "input_text", "text": VARY_PROMPT}
    assert input_images(vary) == [final_of(discord_fake, discord_fake.messages[thread])]
    assert vary["previous_response_id"] == openai_fake.known_response_ids[1]
    assert buttons(drawn_in(discord_fake, thread)[-1]) == finished(3)
    shown = drawn_in(discord_fake, thread)[-1]["content"]
    assert "Vary: a variation of this drawing" in shown and VARY_PROMPT not in shown


async def test_bigger_redraws_the_drawing_at_the_workspaces_largest_size(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    assert "is now" in await set_setting(discord_fake, "largest_size", "2048x2048")
    thread = await draw(discord_fake, easel_discord, "a lighthouse")  # 64x64 from the fake

    await press_and_settle(discord_fake, easel_discord, thread, Action.BIGGER, 1)

    bigger = openai_fake.requests[1]
    assert bigger["tools"][0]["size"] == "2048x2048"
    assert bigger["input"][0]["content"][0] == {"type": "input_text", "text": BIGGER_PROMPT}
    assert input_images(bigger) == [final_of(discord_fake, discord_fake.messages[thread])]
    assert bigger["previous_response_id"] == openai_fake.known_response_ids[0]
    assert (
        "Bigger: this drawing redrawn at 2048x2048" in drawn_in(discord_fake, thread)[-1]["content"]
    )


async def test_edit_opens_a_form_whose_text_is_the_threads_next_turn(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")

    submission = await edit(discord_fake, easel_discord, thread, 1, "paint it red")

    [form] = discord_fake.forms.values()
    assert form["custom_id"] == "easel:edit:1"
    [label] = form["components"]
    assert label["type"] == 18 and label["label"] == "What to change"
    field = label["component"]
    assert (field["type"], field["style"], field["required"]) == (4, 2, True)  # a paragraph
    form_press = next(c for c in discord_fake.callbacks if c["type"] == MODAL)
    assert form_press["token"] != submission["token"]
    assert (await answered(discord_fake, submission))["type"] == DEFERRED_UPDATE
    edited = openai_fake.requests[1]
    assert edited["input"][0]["content"] == [{"type": "input_text", "text": "paint it red"}]
    assert edited["previous_response_id"] == openai_fake.known_response_ids[0]
    assert buttons(drawn_in(discord_fake, thread)[-1]) == finished(2)


async def test_an_empty_edit_is_answered_in_words_and_draws_nothing(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    pressed = await press(discord_fake, thread, Action.EDIT, 1)
    submission = discord_fake.submit_modal(pressed, {"prompt": "   "})
    await discord_fake.dispatch("INTERACTION_CREATE", submission)
    assert await told(discord_fake, submission) == "Type what to change in the drawing."
    await settle(easel_discord)
    assert len(openai_fake.requests) == 1


async def test_the_same_press_delivered_twice_draws_once(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.turns.presses")
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    pressed = discord_fake.press(thread, custom_id(Action.REDO, 1))
    for _ in range(2):
        await discord_fake.dispatch("INTERACTION_CREATE", pressed)
    await answered(discord_fake, pressed)
    await settle(easel_discord)

    assert len(openai_fake.requests) == 2
    assert len(drawn_in(discord_fake, thread)) == 1
    assert discord_fake.told(pressed["token"]) == []
    # Discord refused the second answer; the press's claim is what stopped a second drawing.
    assert f"ignoring a repeated press {pressed['id']}" in caplog.text


async def test_a_second_press_while_its_drawing_waits_its_turn_is_told_so(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    openai_fake.push(Script(delay=0.3))  # a reply drawing slowly ahead of the press
    await discord_fake.dispatch("MESSAGE_CREATE", discord_fake.person_message(thread, "at dawn"))
    await eventually(lambda: len(openai_fake.requests) == 2)
    await press(discord_fake, thread, Action.REDO, 1)
    await eventually(
        lambda: any(WAITING in m["content"] for m in discord_fake.bot_messages_in(thread))
    )

    second = await press(discord_fake, thread, Action.REDO, 1)
    assert await told(discord_fake, second) == ALREADY[Action.REDO]
    await settle(easel_discord)
    assert len(openai_fake.requests) == 3

    # Once its drawing has ended, Redo draws again, on purpose.
    await press_and_settle(discord_fake, easel_discord, thread, Action.REDO, 1)
    assert len(openai_fake.requests) == 4
    assert openai_fake.requests[3]["input"] == openai_fake.requests[0]["input"]
    assert "previous_response_id" not in openai_fake.requests[3]
    assert [buttons(m) for m in drawn_in(discord_fake, thread)] == [
        finished(2),
        finished(3),
        finished(4),
    ]


async def test_a_second_click_while_drawing_is_told_so_and_one_after_it_draws_again(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.push(Script(image_size=SQUARE), Script(delay=0.3))
    thread = await draw(discord_fake, easel_discord, "a lighthouse")
    await press(discord_fake, thread, Action.VARY, 1)
    await eventually(lambda: len(openai_fake.requests) == 2)

    second = await press(discord_fake, thread, Action.VARY, 1)
    assert await told(discord_fake, second) == ALREADY[Action.VARY]
    await settle(easel_discord)
    assert len(openai_fake.requests) == 2

    await press_and_settle(discord_fake, easel_discord, thread, Action.VARY, 1)
    assert len(openai_fake.requests) == 3
    assert [buttons(m) for m in drawn_in(discord_fake, thread)] == [finished(2), finished(3)]


async def test_a_bigger_final_over_discords_upload_limit_is_fitted_to_it(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.push(
        Script(image_size=(1792, 1008)), Script(image_size=(2560, 1440), noisy=True, partials=0)
    )
    thread = await draw(discord_fake, easel_discord, "a wide harbour", size="1792x1008")

    await press_and_settle(discord_fake, easel_discord, thread, Action.BIGGER, 1)

    tool = openai_fake.requests[1]["tools"][0]
    assert (tool["size"], tool["output_format"]) == ("2560x1440", "webp")  # PNG could not fit
    assert "input_fidelity" not in tool  # gpt-image-2 keeps its inputs without being asked
    sent = list(openai_fake.images_sent.values())[1]
    assert len(sent) > LIMIT  # what OpenAI's side sent
    [bigger] = drawn_in(discord_fake, thread)
    [attachment] = bigger["attachments"]
    assert attachment["filename"].endswith(".webp") and attachment["size"] <= LIMIT
    delivered = discord_fake.blobs[int(attachment["id"])]
    assert Image.open(io.BytesIO(delivered)).size == (2560, 1440)
    assert "re-encoded as WebP" in bigger["content"]
    assert buttons(bigger) == finished(2)
    [first, drawn] = await easel_discord.store.ledger.turns(thread_key(thread))
    assert (first["image_size"], drawn["action"], drawn["image_size"]) == (
        "1792x1008",
        "bigger",
        "2560x1440",
    )


async def test_bigger_asks_an_older_image_model_for_high_fidelity_and_says_when_it_cannot(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    assert "is now" in await set_setting(discord_fake, "image_model", "gpt-image-1.5")
    openai_fake.push(Script(image_size=(768, 1152)), Script(image_size=(1024, 1536)))
    thread = await draw(discord_fake, easel_discord, "a tall lighthouse")

    await press_and_settle(discord_fake, easel_discord, thread, Action.BIGGER, 1)
    tool = openai_fake.requests[1]["tools"][0]
    assert (tool["size"], tool["input_fidelity"]) == ("1024x1536", "high")

    [bigger] = drawn_in(discord_fake, thread)
    again = await press(discord_fake, int(bigger["id"]), Action.BIGGER, 2)
    assert (await told(discord_fake, again)).startswith(
        "That drawing is 1024x1536, already as large as this workspace allows"
    )
    await settle(easel_discord)
    assert len(openai_fake.requests) == 2
