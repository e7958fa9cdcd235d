"""The buttons under a finished drawing on Discord after easel restarts, at the wire: they
carry what they act on in their custom ids, so a new process (its own discord.py client, the
same database) understands presses of buttons and forms shown by the one before, and a press
delivered again after the restart draws nothing more."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest

from adapters.runtime import Runtime, running
from bot.config import load_config
from bot.models import Action
from tests.conftest import draw, eventually, settle
from tests.discord_buttons import answered, buttons, finished, press, press_and_settle
from tests.fakes.discord_server import USER_ID, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.test_discord_buttons import SQUARE, drawn_in, thread_key


@asynccontextmanager
async def easel(env: dict[str, str], fake: FakeDiscord) -> AsyncIterator[Runtime]:
    """One run of easel on the database of `env`, once its client is connected."""
    runs = len(fake.identified)
    async with running(load_config(env)) as runtime:
        await eventually(lambda: len(fake.identified) > runs)
        await eventually(lambda: runtime.discord is not None and runtime.discord.connected())
        yield runtime
        await settle(runtime)


async def test_buttons_and_a_form_shown_before_a_restart_work_after_it_and_draw_once(
    discord_env: dict[str, str],
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    openai_fake.push(Script(image_size=SQUARE))
    async with easel(discord_env, discord_fake) as first:
        thread = await draw(discord_fake, first, "a lighthouse")
        redo = await press_and_settle(discord_fake, first, thread, Action.REDO, 1)
        form_press = await press(discord_fake, thread, Action.EDIT, 1)  # the form is open
    assert len(openai_fake.requests) == 2

    async with easel(discord_env, discord_fake) as second:
        # The same press, delivered again to the new process: drawn once, before.
        await discord_fake.dispatch("INTERACTION_CREATE", redo)
        await eventually(lambda: "ignoring a repeated press" in caplog.text)
        await settle(second)
        assert len(openai_fake.requests) == 2 and discord_fake.told(redo["token"]) == []

        submission = discord_fake.submit_modal(form_press, {"prompt": "paint it red"})
        await discord_fake.dispatch("INTERACTION_CREATE", submission)
        await answered(discord_fake, submission)
        await settle(second)
        edited = openai_fake.requests[2]
        assert edited["input"][0]["content"] == [{"type": "input_text", "text": "paint it red"}]
        assert edited["previous_response_id"] == openai_fake.known_response_ids[1]

        await press_and_settle(discord_fake, second, thread, Action.VARY, 1)
        assert openai_fake.requests[3]["previous_response_id"] == openai_fake.known_response_ids[2]

        redone = drawn_in(discord_fake, thread)[0]
        await press(discord_fake, int(redone["id"]), Action.DELETE, 2)
        await eventually(lambda: int(redone["id"]) not in discord_fake.messages)
        await settle(second)
        turns = await second.store.ledger.turns(thread_key(thread))

    assert [(t["action"], t["origin"], t["deleted_by"]) for t in turns] == [
        (None, None, None),
        ("redo", 1, str(USER_ID)),
        ("edit", 1, None),
        ("vary", 1, None),
    ]
    assert [buttons(m) for m in drawn_in(discord_fake, thread)] == [finished(3), finished(4)]
