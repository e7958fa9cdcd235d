"""Discord at the wire: discord.py logs in to a fake REST API, dials the fake's gateway (named
by its `GET /gateway/bot`), and receives /draw interactions and thread replies over it."""

from __future__ import annotations

import asyncio
import io
import os
import sys

import pytest
from PIL import Image

from adapters.discord.client import INTENT_NEEDED
from adapters.discord.surface import THREAD_HINT
from adapters.runtime import Runtime, running
from bot.config import load_config
from bot.models import ThreadKey
from tests.clock import ManualClock
from tests.conftest import SlackSender, draw, eventually, settle
from tests.discord_buttons import buttons, finished
from tests.error_shapes import ERROR_SHAPES
from tests.fakes.discord_server import (
    BOT_ID,
    CHANNEL_ID,
    GUILD_ID,
    FakeDiscord,
    user,
    wait_ready,
)
from tests.fakes.openai_server import FakeOpenAI, Script, make_png
from tests.fakes.slack_server import FakeSlack

MESSAGE_CONTENT = 1 << 15


async def test_draw_defers_edits_previews_in_place_then_the_final_and_opens_a_thread(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    assert discord_fake.commands["global"][0]["name"] == "draw"  # synced at start (no guild)
    intents = discord_fake.identified[0]["intents"]
    assert intents & MESSAGE_CONTENT  # the application has the intent, so easel asks for it
    openai_fake.push(Script(delay=0.25))  # frames seconds apart, as from the real model
    mid = await draw(discord_fake, easel_discord, "a gray tabby cat hugging an otter")

    assert [c["type"] for c in discord_fake.callbacks] == [5]  # deferred ("thinking") at once
    edits = [c for c in discord_fake.rest("PATCH", "/webhooks/") if c.status == 200]
    files = [[name for name, _ in c.files] for c in edits]
    assert files == [[], ["preview-1.webp"], ["preview-2.webp"], [files[3][0]], []]
    assert files[3][0].startswith("easel-") and files[3][0].endswith(".png")
    shown = edits[-1].payload  # the buttons come last, in an edit that keeps the file
    assert "attachments" not in shown and "content" not in shown
    assert buttons(shown) == finished(1)
    assert "drawing…" in edits[0].payload["content"]
    assert "preview 1 of 2" in edits[1].payload["content"]
    message = discord_fake.messages[mid]
    assert len(message["attachments"]) == 1  # each edit replaced the picture, none piled up
    assert "Revised prompt: a revised prompt" in message["content"]
    final = discord_fake.blobs[int(message["attachments"][0]["id"])]
    assert Image.open(io.BytesIO(final)).format == "PNG"

    thread = discord_fake.threads[mid]
    assert thread["name"] == "a gray tabby cat hugging an otter"
    assert [m["content"] for m in discord_fake.bot_messages_in(mid)] == [THREAD_HINT]
    assert openai_fake.requests[0]["tools"][0]["partial_images"] == 2
    assert "previous_response_id" not in openai_fake.requests[0]


async def test_a_reply_in_the_thread_continues_the_drawing_with_its_image(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    mid = await draw(discord_fake, easel_discord, "a lighthouse")
    photo = discord_fake.upload(make_png((32, 32), 5, 0), "ref.png")
    await discord_fake.dispatch(
        "MESSAGE_CREATE",
        discord_fake.person_message(mid, "now at night", attachments=[photo]),
    )
    await eventually(lambda: len(openai_fake.requests) == 2)
    await settle(easel_discord)

    second = openai_fake.requests[1]
    assert second["previous_response_id"] == openai_fake.known_response_ids[0]
    content = second["input"][0]["content"]
    assert content[0] == {"type": "input_text", "text": "now at night"}
    assert content[1]["image_url"].startswith("data:image/png;base64,")
    answer = discord_fake.bot_messages_in(mid)[-1]
    assert answer["attachments"][0]["filename"].startswith("easel-")
    assert "Reply again to keep editing." in answer["content"]
    assert "message_reference" in answer


async def test_an_expired_interaction_token_never_fails_the_turn(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.push(Script(delay=0.2))
    interaction = discord_fake.interaction("a slow mountain")
    await discord_fake.dispatch("INTERACTION_CREATE", interaction)
    await eventually(lambda: len(discord_fake.rest("PATCH", "/webhooks/")) >= 1)
    discord_fake.expire(interaction["token"])  # as if 15 minutes had passed
    await settle(easel_discord)

    mid = discord_fake.originals[interaction["token"]]
    by_bot = discord_fake.rest("PATCH", f"/channels/{CHANNEL_ID}/messages/{mid}")
    assert by_bot and all(c.status == 200 for c in by_bot)
    assert discord_fake.messages[mid]["attachments"][0]["filename"].startswith("easel-")
    assert mid in discord_fake.threads


async def test_past_fifteen_minutes_edits_go_through_the_channel_with_the_bot_token(
    discord_env: dict, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    clock = ManualClock()
    async with running(load_config(discord_env), clock=clock) as runtime:
        await wait_ready(discord_fake)
        openai_fake.push(Script(delay=0.3))
        interaction = discord_fake.interaction("a very slow glacier")
        await discord_fake.dispatch("INTERACTION_CREATE", interaction)
        await eventually(lambda: len(discord_fake.rest("PATCH", "/webhooks/")) >= 1)
        clock.advance(15 * 60)  # the token still works at the fake: easel must not rely on it
        await settle(runtime)

    mid = discord_fake.originals[interaction["token"]]
    webhook_edits = discord_fake.rest("PATCH", "/webhooks/")
    by_bot = discord_fake.rest("PATCH", f"/channels/{CHANNEL_ID}/messages/{mid}")
    assert len(webhook_edits) == 1 and webhook_edits[0].status == 200  # only "drawing…"
    assert [name for c in by_bot for name, _ in c.files][-1].startswith("easel-")
    assert all(c.status == 200 for c in by_bot)
    assert mid in discord_fake.threads


async def test_rate_limited_edits_are_waited_out_by_discord_py(
    easel_discord: Runtime, discord_fake: FakeDiscord
) -> None:
    discord_fake.rate_limit("/webhooks/", times=2)
    mid = await draw(discord_fake, easel_discord, "a patient fox")
    assert sum(1 for c in discord_fake.calls if c.status == 429) == 2
    assert discord_fake.messages[mid]["attachments"][0]["filename"].startswith("easel-")


async def test_a_final_over_the_upload_limit_is_reencoded_and_says_so(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    openai_fake.push(Script(image_size=(512, 512)))
    mid = await draw(discord_fake, easel_discord, "a noisy field", limit=2_000)
    message = discord_fake.messages[mid]
    attachment = message["attachments"][0]
    assert attachment["filename"].endswith(".webp")
    assert attachment["size"] <= 2_000
    assert "re-encoded as WebP" in message["content"]
    # The limit was also known up front: PNG's worst case does not fit, so WebP was asked for.
    assert openai_fake.requests[0]["tools"][0]["output_format"] == "webp"


async def test_command_options_reach_the_image_tool(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    await draw(discord_fake, easel_discord, "a tall tower", size="portrait", quality="high")
    tool = openai_fake.requests[0]["tools"][0]
    assert (tool["size"], tool["quality"]) == ("1024x1536", "high")


async def test_slack_and_discord_run_together_in_one_process(
    discord_env: dict,
    env: dict,
    discord_fake: FakeDiscord,
    slack_fake: FakeSlack,
    openai_fake: FakeOpenAI,
) -> None:
    async with running(load_config({**env, **discord_env})) as runtime:
        await wait_ready(discord_fake)
        assert runtime.slack is not None and runtime.discord is not None
        sender = SlackSender(port=runtime.port)
        try:
            assert (await sender.command("a slack heron")).status_code == 200
        finally:
            await sender.aclose()
        mid = await draw(discord_fake, runtime, "a discord heron")
        await settle(runtime)

    assert discord_fake.messages[mid]["attachments"][0]["filename"].startswith("easel-")
    assert slack_fake.calls_to("files.completeUploadExternal")
    prompts = sorted(r["input"][0]["content"][0]["text"] for r in openai_fake.requests)
    assert prompts == ["a discord heron", "a slack heron"]


@pytest.mark.parametrize("shape", list(ERROR_SHAPES))
async def test_every_openai_error_reads_the_same_as_on_slack_and_keeps_the_thread(
    shape: str, easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    script, words = ERROR_SHAPES[shape]
    openai_fake.push(Script(), script)
    mid = await draw(discord_fake, easel_discord, "a lighthouse")
    await discord_fake.dispatch("MESSAGE_CREATE", discord_fake.person_message(mid, "stormy"))
    await eventually(lambda: len(openai_fake.requests) == 2)
    await settle(easel_discord)

    answer = discord_fake.bot_messages_in(mid)[-1]
    assert ":warning:" in answer["content"] and words in answer["content"], answer["content"]
    assert not answer["attachments"]
    key = ThreadKey("discord", str(GUILD_ID), str(mid), str(mid))
    state = await easel_discord.store.threads.get(key)
    assert state is not None and state.last_response_id == openai_fake.known_response_ids[0]
    assert [t["status"] for t in await easel_discord.store.ledger.turns(key)] == [
        "delivered",
        "failed",
    ]


async def test_bots_and_easel_itself_start_no_turns_in_its_threads(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    mid = await draw(discord_fake, easel_discord, "a bridge")
    other_bot = user(4242, "otherbot", bot=True)
    await discord_fake.dispatch(
        "MESSAGE_CREATE", discord_fake.person_message(mid, "draw a cat", author=other_bot)
    )
    await discord_fake.dispatch(
        "MESSAGE_CREATE",
        discord_fake.person_message(mid, "easel talking", author=user(BOT_ID, "easel", bot=True)),
    )
    await settle(easel_discord)
    assert len(openai_fake.requests) == 1


async def test_without_the_message_content_intent_draw_works_and_replies_are_explained(
    discord_env: dict, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    discord_fake.app_flags = 0  # the intent is off in the Developer Portal
    async with running(load_config(discord_env)) as runtime:
        await wait_ready(discord_fake)
        assert not discord_fake.identified[0]["intents"] & MESSAGE_CONTENT
        mid = await draw(discord_fake, runtime, "a quiet harbour")
        assert discord_fake.messages[mid]["attachments"]
        await discord_fake.dispatch("MESSAGE_CREATE", discord_fake.person_message(mid, ""))
        await eventually(lambda: len(discord_fake.bot_messages_in(mid)) == 2)
        assert discord_fake.bot_messages_in(mid)[-1]["content"] == INTENT_NEEDED
        assert len(openai_fake.requests) == 1


async def test_guild_id_syncs_commands_to_that_server_only(
    discord_env: dict, discord_fake: FakeDiscord
) -> None:
    async with running(load_config({**discord_env, "DISCORD_GUILD_ID": str(GUILD_ID)})):
        await wait_ready(discord_fake)
    assert [c["name"] for c in discord_fake.commands[str(GUILD_ID)]] == ["draw", "draw-settings"]
    assert "global" not in discord_fake.commands  # nothing registered everywhere


async def test_commands_are_registered_once_not_at_every_start(
    discord_env: dict, discord_fake: FakeDiscord
) -> None:
    """Replicas (or restarts) on one database register the commands only when they change."""
    for _ in range(3):
        async with running(load_config(discord_env)):
            await wait_ready(discord_fake)
    syncs = [c for c in discord_fake.calls if c.method == "PUT" and c.path.endswith("/commands")]
    assert len(syncs) == 1
    assert [c["name"] for c in discord_fake.commands["global"]] == ["draw", "draw-settings"]


async def test_sync_commands_registers_both_commands_and_exits(
    discord_env: dict, discord_fake: FakeDiscord
) -> None:
    env = {**os.environ, **discord_env, "DISCORD_GUILD_ID": str(GUILD_ID)}
    easel = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "adapters.cli",
        "sync-commands",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(easel.communicate(), timeout=30)
    assert easel.returncode == 0, err.decode()
    assert out.decode().strip() == "easel: registered 2 command(s) with Discord"
    assert [c["name"] for c in discord_fake.commands[str(GUILD_ID)]] == ["draw", "draw-settings"]


async def test_a_refused_token_stops_startup_with_a_clear_message(
    discord_env: dict, discord_fake: FakeDiscord
) -> None:
    from adapters.discord.runner import DiscordStartupError

    with pytest.raises(DiscordStartupError, match="DISCORD_TOKEN"):
        async with running(load_config({**discord_env, "DISCORD_TOKEN": "wrong"})):
            pass
