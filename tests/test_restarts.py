"""Nothing paid for is lost: easel killed (SIGKILL) or stopped (SIGTERM) in the middle of a
drawing, run as its own process against the fakes, and started again on the same database."""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CHANNEL, SlackSender, eventually
from tests.discord_buttons import buttons as buttons_on
from tests.discord_buttons import finished
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.process import BotProcess
from tests.slack import block_text, root_message, root_text

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")


def statuses(env: dict[str, str]) -> list[str]:
    with sqlite3.connect(env["EASEL_DB"]) as db:
        return [row[0] for row in db.execute("SELECT status FROM turns ORDER BY id")]


def recorded_messages(env: dict[str, str]) -> int:
    """Turns whose message easel has written down (it posts a message, then records it)."""
    with sqlite3.connect(env["EASEL_DB"]) as db:
        [(count,)] = db.execute("SELECT count(*) FROM turns WHERE message NOT IN ('', '{}')")
        return int(count)


def outbox(env: dict[str, str]) -> int:
    """Finished images kept for delivery: files in the folder beside the database."""
    return len(list(Path(env["EASEL_DB"] + ".outbox").glob("*.image")))


def retry_value(blocks: list[dict[str, Any]]) -> str | None:
    for block in blocks:
        for element in block.get("elements", []):
            if element.get("action_id") == "easel_retry":
                return str(element["value"])
    return None


def in_thread(slack_fake: FakeSlack, ts: str) -> list[dict[str, Any]]:
    """easel's own messages in the thread (not the files), oldest first."""
    return sorted(
        (
            m
            for m in slack_fake.messages.values()
            if m.get("thread_ts") == ts and m.get("user") == "UBOT" and not m.get("files")
        ),
        key=lambda m: float(m["ts"]),
    )


def finals(slack_fake: FakeSlack) -> list[Any]:
    return [f for f in slack_fake.files.values() if f.completed and f.name.startswith("easel-")]


async def press_retry(sender: SlackSender, message: dict[str, Any], value: str) -> None:
    container = {"type": "message", "message_ts": message["ts"], "channel_id": CHANNEL}
    channel = {"id": CHANNEL, "name": "general"}
    response = await sender.press(
        "easel_retry", value=value, container=container, channel=channel, message=message
    )
    assert response.status_code == 200


@pytest.fixture
def bot_env(env: dict[str, str]) -> dict[str, str]:
    return {**env, "EASEL_DELIVERY_MAX_PAUSE": "0.2", "EASEL_LOG_LEVEL": "INFO"}


async def test_killed_mid_stream_the_message_says_so_and_retry_draws_it(
    bot_env: dict[str, str], tmp_path: Path, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=1, hang_after_partials=True), Script(partials=0))
    async with BotProcess(bot_env, log_path=tmp_path / "bot.log") as bot:
        sender = SlackSender(port=bot.port)
        await sender.command("a lighthouse in fog")
        await eventually(lambda: "preview 1" in root_text(slack_fake))
        assert statuses(bot_env) == ["drawing"]
        bot.kill()
        await bot.wait()

        await bot.start()
        root = root_message(slack_fake)
        shown = block_text(root["blocks"])
        assert "restarted while drawing" in shown
        assert retry_value(root["blocks"]) == "1"
        assert statuses(bot_env) == ["interrupted"]
        assert len(openai_fake.requests) == 1  # nothing was drawn again on its own

        await press_retry(sender, root, "1")
        await eventually(
            lambda: "Reply in this thread" in block_text(root_message(slack_fake)["blocks"])
        )
        await eventually(lambda: statuses(bot_env) == ["interrupted", "delivered"])
        assert root_message(slack_fake)["ts"] == root["ts"]  # the same one message, edited
        assert retry_value(root_message(slack_fake)["blocks"]) is None
        assert [f.thread_ts for f in finals(slack_fake)] == [root["ts"]]
        assert openai_fake.requests[1]["input"] == openai_fake.requests[0]["input"]

        # A second press of the old button draws nothing more, and says so.
        await press_retry(sender, root, "1")
        await eventually(
            lambda: any("already drawn again" in e.get("text", "") for e in slack_fake.ephemerals)
        )
        assert len(openai_fake.requests) == 2
        await sender.aclose()
        bot.terminate()
        assert await bot.wait() == 0


async def test_a_finished_image_survives_an_outage_longer_than_the_backoff_and_a_restart(
    bot_env: dict[str, str], tmp_path: Path, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=0))
    slack_fake.unavailable("upload")  # until said otherwise
    async with BotProcess(bot_env, log_path=tmp_path / "bot.log") as bot:
        sender = SlackSender(port=bot.port)
        await sender.command("a paper boat on a puddle")
        await eventually(
            lambda: "finished, delivering" in block_text(root_message(slack_fake)["blocks"])
        )
        assert statuses(bot_env) == ["delivering"]
        assert outbox(bot_env) == 1
        await eventually(
            lambda: len([c for c in slack_fake.calls_to("upload") if c.status == 503]) >= 3
        )
        bot.kill()
        await bot.wait()
        refused_before = len(slack_fake.calls_to("upload"))

        await bot.start()  # the outage goes on: the outbox is tried again, and again
        await eventually(lambda: len(slack_fake.calls_to("upload")) >= refused_before + 2)
        assert statuses(bot_env) == ["delivering"]
        slack_fake.unavailable("upload", 0)
        await eventually(
            lambda: "Reply in this thread" in block_text(root_message(slack_fake)["blocks"])
        )
        await eventually(lambda: statuses(bot_env) == ["delivered"])
        assert outbox(bot_env) == 0
        assert len(finals(slack_fake)) == 1
        assert len(openai_fake.requests) == 1  # delivered from the outbox, never drawn again
        await sender.aclose()
        bot.terminate()
        assert await bot.wait() == 0


async def test_sigterm_refuses_new_turns_then_interrupts_what_outlives_the_grace(
    bot_env: dict[str, str], tmp_path: Path, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(Script(partials=1, hang_after_partials=True))
    env = {**bot_env, "EASEL_SHUTDOWN_GRACE": "2"}
    async with BotProcess(env, log_path=tmp_path / "bot.log") as bot:
        sender = SlackSender(port=bot.port)
        await sender.command("an hourglass running out")
        await eventually(lambda: "preview 1" in root_text(slack_fake))
        bot.terminate()
        await eventually(lambda: "waiting up to 2s for 1 drawing" in bot.log())
        refused = await sender.command("one more, quickly")
        assert "restarting" in refused.text
        assert await bot.wait() == 0
        await sender.aclose()
    root = root_message(slack_fake)
    assert "restarted while drawing" in block_text(root["blocks"])
    assert retry_value(root["blocks"]) == "1"
    assert statuses(env) == ["interrupted"]
    assert len(openai_fake.requests) == 1


async def test_queued_replies_are_all_interrupted_by_a_kill_never_run_out_of_order(
    bot_env: dict[str, str], tmp_path: Path, openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(
        Script(partials=0),
        Script(partials=1, hang_after_partials=True),
        Script(partials=0),
    )
    async with BotProcess(bot_env, log_path=tmp_path / "bot.log") as bot:
        sender = SlackSender(port=bot.port)
        await sender.command("a red kite")
        await eventually(lambda: statuses(bot_env) == ["delivered"])
        ts = root_message(slack_fake)["ts"]
        await sender.event(sender.reply_event(thread_ts=ts, text="make it blue"))
        await eventually(lambda: len(openai_fake.requests) == 2)
        await sender.event(sender.reply_event(thread_ts=ts, text="now add a string"))
        await eventually(lambda: statuses(bot_env) == ["delivered", "drawing", "queued"])
        # The queued reply is in the ledger before its placeholder is posted: wait for it.
        await eventually(
            lambda: (
                "waiting for the drawing above"
                in block_text(in_thread(slack_fake, ts)[-1]["blocks"])
            )
        )
        await eventually(lambda: recorded_messages(bot_env) == 3)
        bot.kill()
        await bot.wait()

        await bot.start()
        assert statuses(bot_env) == ["delivered", "interrupted", "interrupted"]
        replies = in_thread(slack_fake, ts)[-2:]
        assert [retry_value(m["blocks"]) for m in replies] == ["2", "3"]
        assert len(openai_fake.requests) == 2  # neither resumed by itself

        # "retry" in the thread draws the latest interrupted turn, on the delivered image.
        await sender.event(sender.reply_event(thread_ts=ts, text="retry"))
        await eventually(
            lambda: statuses(bot_env)[-1:] == ["delivered"] and len(statuses(bot_env)) == 4
        )
        third = openai_fake.requests[2]
        assert third["previous_response_id"] == openai_fake.known_response_ids[0]
        assert "now add a string" in json.dumps(third["input"])
        await sender.aclose()
        bot.terminate()
        assert await bot.wait() == 0


async def test_discord_killed_mid_stream_the_message_says_so_and_its_retry_button_draws_it(
    discord_env: dict[str, str],
    tmp_path: Path,
    openai_fake: FakeOpenAI,
    discord_fake: FakeDiscord,
) -> None:
    openai_fake.push(Script(partials=1, hang_after_partials=True), Script(partials=0))
    env = {**discord_env, "EASEL_DELIVERY_MAX_PAUSE": "0.2"}
    async with BotProcess(env, log_path=tmp_path / "bot.log") as bot:
        interaction = discord_fake.interaction("a fox in the snow")
        await discord_fake.dispatch("INTERACTION_CREATE", interaction)
        token = interaction["token"]
        await eventually(lambda: token in discord_fake.originals)
        mid = discord_fake.originals[token]
        await eventually(lambda: "preview 1" in discord_fake.messages[mid]["content"])
        bot.kill()
        await bot.wait()
        await eventually(lambda: not discord_fake.connected)

        await bot.start()  # healthy: the gateway is connected again
        message = discord_fake.messages[mid]
        assert "restarted while drawing" in message["content"]
        assert message["attachments"] == []  # the stale preview is gone
        buttons = [c for row in message["components"] for c in row["components"]]
        assert [(b["label"], b["custom_id"]) for b in buttons] == [("Retry", "easel:retry:1")]
        assert statuses(env) == ["interrupted"]

        press = discord_fake.press(mid, "easel:retry:1")
        await discord_fake.dispatch("INTERACTION_CREATE", press)
        await eventually(lambda: statuses(env) == ["interrupted", "delivered"])
        assert [c["type"] for c in discord_fake.callbacks if c["id"] == int(press["id"])] == [6]
        message = discord_fake.messages[mid]
        assert buttons_on(message) == finished(2)  # Retry gone; the drawing's own buttons
        assert [a["filename"][:6] for a in message["attachments"]] == ["easel-"]
        assert mid in discord_fake.threads  # the drawing's thread opens on delivery
        assert len(openai_fake.requests) == 2
        bot.terminate()
        assert await bot.wait() == 0
