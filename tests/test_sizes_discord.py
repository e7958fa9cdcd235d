"""Sizes on Discord at the wire: /draw's `size` option is free text offered by autocomplete
(APPLICATION_COMMAND_AUTOCOMPLETE, answered with callback type 8), checked by the core's
admission; managers change the largest size and the default; a 4K final fits the upload
limit."""

from __future__ import annotations

import io
from typing import Any

import pytest
from PIL import Image

from adapters.runtime import Runtime
from tests.conftest import draw, eventually, settle
from tests.fakes.discord_server import GUILD_ID, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.test_discord_settings import MANAGER_ID, answer, set_setting
from tests.test_sizes import BROKEN, BROKEN_IDS, MIB

WORKSPACE = str(GUILD_ID)


async def suggested(fake: FakeDiscord, typed: str) -> list[dict[str, Any]]:
    """The choices easel offers a person who has typed `typed` into /draw's size."""
    payload = fake.autocomplete("a harbour", size=typed)
    await fake.dispatch("INTERACTION_CREATE", payload)
    callback = await eventually(
        lambda: next((c for c in fake.callbacks if c["token"] == payload["token"]), None)
    )
    assert callback["type"] == 8, callback  # APPLICATION_COMMAND_AUTOCOMPLETE_RESULT
    return list(callback["data"]["choices"])


async def test_the_size_option_is_free_text_with_autocomplete(
    easel_discord: Runtime, discord_fake: FakeDiscord
) -> None:
    (draw_command,) = discord_fake.commands["global"][:1]
    (size,) = [o for o in draw_command["options"] if o["name"] == "size"]
    assert size["type"] == 3 and size.get("autocomplete") is True and not size.get("choices")


async def test_autocomplete_offers_the_allowed_sizes_and_what_was_typed(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    offered = await suggested(discord_fake, "")
    values = [c["value"] for c in offered]
    assert 1 < len(offered) <= 25
    assert values[:4] == ["auto", "1024x1024", "1024x1536", "1536x1024"]
    assert {"name": "2560x1440 (the largest allowed here)", "value": "2560x1440"} in offered
    assert "3840x2160" not in values  # above the largest size

    typed = await suggested(discord_fake, "1792x1008")
    assert typed[0] == {"name": "1792x1008 (as typed)", "value": "1792x1008"}
    wrong = await suggested(discord_fake, "1000x1000")
    assert wrong[0]["name"].startswith("1000x1000: width and height must be multiples of 16")
    assert [c["value"] for c in await suggested(discord_fake, "land")] == ["1536x1024"]
    assert openai_fake.requests == []  # suggestions draw nothing

    await draw(discord_fake, easel_discord, "a wide harbour", size="1792x1008")
    assert openai_fake.requests[0]["tools"][0]["size"] == "1792x1008"


@pytest.mark.parametrize(("size", "words"), BROKEN, ids=BROKEN_IDS)
async def test_a_broken_rule_is_refused_with_its_words_and_nothing_drawn(
    easel_discord: Runtime,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    size: str,
    words: str,
) -> None:
    text = await answer(discord_fake, discord_fake.interaction("a harbour", size=size))
    assert f"That size cannot be drawn: {words}" in text
    await settle(easel_discord)
    assert openai_fake.requests == []
    assert await easel_discord.store.db.all("SELECT id FROM turns") == []


async def test_a_manager_raises_the_largest_size_and_a_4k_final_fits_the_upload_limit(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    refused = await answer(discord_fake, discord_fake.interaction("static", size="3840x2160"))
    assert "3840x2160 is larger than this workspace's largest size, 2560x1440" in refused

    raised = await set_setting(discord_fake, "largest_size", "3840x2160")
    assert raised == (
        "Largest size is now 3840x2160 (OpenAI calls sizes above 2560x1440 experimental)."
    )
    assert await set_setting(discord_fake, "size", "2048x1152") == "Default size is now 2048x1152."
    audit = await easel_discord.store.settings.audit("discord", WORKSPACE)
    assert [(a["user_id"], a["field"], a["old"], a["new"]) for a in audit] == [
        (str(MANAGER_ID), "largest_size", "2560x1440", "3840x2160"),
        (str(MANAGER_ID), "size", "auto", "2048x1152"),
    ]
    shown = await answer(discord_fake, discord_fake.command("draw-settings", "show"))
    assert "**Default size:** 2048x1152" in shown
    assert "**Allowed sizes:** auto, square, portrait, landscape, custom up to 3840x2160" in shown
    offered = await suggested(discord_fake, "3840")
    assert {"name": "3840x2160 (the largest allowed here)", "value": "3840x2160"} in offered

    openai_fake.push(Script(image_size=(3840, 2160), noisy=True, partials=0))
    mid = await draw(discord_fake, easel_discord, "static on a screen", size="3840x2160")
    tool = openai_fake.requests[0]["tools"][0]
    assert (tool["size"], tool["output_format"]) == ("3840x2160", "webp")  # PNG could not fit
    (sent,) = openai_fake.images_sent.values()
    assert len(sent) > 20 * MIB  # the noisy PNG OpenAI's side sent
    message = discord_fake.messages[mid]
    (attachment,) = message["attachments"]
    assert attachment["filename"].endswith(".webp") and attachment["size"] <= 10 * MIB
    delivered = discord_fake.blobs[int(attachment["id"])]
    assert Image.open(io.BytesIO(delivered)).size == (3840, 2160)
    assert "re-encoded as WebP" in message["content"]
