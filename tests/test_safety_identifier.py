"""Every Responses request carries a privacy-preserving `safety_identifier`: the same for the
same person every time (after a restart too), different between people and workspaces,
never the raw user id, and within the spec's 64 characters."""

from __future__ import annotations

import re

import pytest

from adapters.runtime import running
from bot.config import load_config
from bot.turns.safety import SafetyIds
from tests.conftest import SlackSender, draw, settle
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.slack import root_message
from tests.specs import SPECS_DIR, assert_valid, openai_validator

HEX64 = re.compile(r"[0-9a-f]{64}")


def identifiers(openai_fake: FakeOpenAI) -> list[str]:
    return [str(body.get("safety_identifier")) for body in openai_fake.requests]


async def test_one_person_one_identifier_across_turns_edits_and_restarts(
    env: dict[str, str], openai_fake: FakeOpenAI, slack_fake: FakeSlack
) -> None:
    openai_fake.push(*[Script(partials=0)] * 4)
    async with running(load_config(env)) as easel:
        slack = SlackSender(port=easel.port)
        await slack.command("a lighthouse", user="U1")
        await settle(easel)
        ts = root_message(slack_fake)["ts"]
        await slack.event(slack.reply_event(thread_ts=ts, text="at night", user="U1"))
        await settle(easel)
        await slack.command("a kettle", user="U2", channel="C2")
        await settle(easel)
        await slack.aclose()
    async with running(load_config(env)) as easel:  # the same database, a new process
        slack = SlackSender(port=easel.port)
        await slack.command("a harbour", user="U1", channel="C3")
        await settle(easel)
        await slack.aclose()
    first, edit, other, after_restart = identifiers(openai_fake)
    assert all(HEX64.fullmatch(i) for i in (first, edit, other, after_restart))
    assert first == edit == after_restart, "one person, one identifier"
    assert other != first
    assert all("U1" not in i and "T1" not in i for i in (first, other))
    if SPECS_DIR.is_dir():
        for body in openai_fake.requests:
            assert_valid(openai_validator("CreateResponse"), body)


async def test_the_same_user_id_in_another_platform_or_workspace_is_someone_else(
    env: dict[str, str],
    easel_discord: object,
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
) -> None:
    await draw(discord_fake, easel_discord, "a lighthouse")  # type: ignore[arg-type]
    [discord_id] = identifiers(openai_fake)
    assert HEX64.fullmatch(discord_id)
    ids = SafetyIds(b"k")
    assert ids.of(platform="slack", workspace="T1", user_id="U1") != ids.of(
        platform="slack", workspace="T2", user_id="U1"
    )
    assert ids.of(platform="slack", workspace="T1", user_id="U1") != ids.of(
        platform="discord", workspace="T1", user_id="U1"
    )


@pytest.mark.parametrize("user", ["U1", "a" * 500, "\ud800"])
def test_any_user_id_gives_64_hex_characters(user: str) -> None:
    assert HEX64.fullmatch(SafetyIds(b"k").of(platform="slack", workspace="T1", user_id=user))
