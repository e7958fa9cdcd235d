"""Shared fixtures: the fake OpenAI and Slack servers, and easel itself, wired as in production."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.runtime import Runtime, running
from bot.config import Config, load_config
from tests.fakes.discord_server import GUILD_ID, FakeDiscord, wait_ready
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack
from tests.slack import BOT_TOKEN, CHANNEL, SIGNING_SECRET, TEAM, USER, SlackSender
from tests.specs import SPECS_DIR, assert_bodies_match_discords_spec
from tests.waiting import eventually, settle

__all__ = [
    "BOT_TOKEN",
    "CHANNEL",
    "OPENAI_KEY",
    "SIGNING_SECRET",
    "TEAM",
    "USER",
    "SlackSender",
    "eventually",
    "settle",
]

OPENAI_KEY = "sk-test-key"
# The playground's fixtures: its page's client and stream, and easel in a real browser.
pytest_plugins = ("tests.playground", "tests.browser")


@pytest.fixture(autouse=True)
def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback traffic must not wander through a proxy someone configured on the machine."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def openai_fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
async def slack_fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(token=BOT_TOKEN, team_id=TEAM) as fake:
        yield fake


@pytest.fixture
def env(tmp_path: Path, openai_fake: FakeOpenAI, slack_fake: FakeSlack) -> dict[str, str]:
    """The environment easel runs with in tests: HTTP mode, everything on loopback."""
    return {
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai_fake.base_url,
        "EASEL_OPENAI_MAX_RETRIES": "0",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack_fake.api_url,
        "EASEL_HOST": "127.0.0.1",
        "EASEL_PORT": "0",
        "EASEL_DB": str(tmp_path / "easel.db"),
        "EASEL_PREVIEW_INTERVAL": "0",
        "EASEL_SHUTDOWN_GRACE": "5",
    }


@pytest.fixture
def config(env: dict[str, str]) -> Config:
    return load_config(env)


@pytest.fixture
async def easel(config: Config) -> AsyncIterator[Runtime]:
    async with running(config) as runtime:
        yield runtime


@pytest.fixture
async def slack(easel: Runtime) -> AsyncIterator[SlackSender]:
    sender = SlackSender(port=easel.port)
    yield sender
    await sender.aclose()


# -- Discord ----------------------------------------------------------------------------


@pytest.fixture
def discord_guilds() -> list[int]:
    """The servers the fake Discord knows; a test module overrides this to have several."""
    return [GUILD_ID]


@pytest.fixture
async def discord_fake(discord_guilds: list[int]) -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(guilds=discord_guilds) as fake:
        yield fake
    if SPECS_DIR.is_dir():
        assert_bodies_match_discords_spec(fake)


@pytest.fixture
def discord_env(tmp_path: Path, openai_fake: FakeOpenAI, discord_fake: FakeDiscord) -> dict:
    return {
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai_fake.base_url,
        "EASEL_OPENAI_MAX_RETRIES": "0",
        "DISCORD_TOKEN": discord_fake.token,
        "DISCORD_API_URL": discord_fake.api_url,
        "DISCORD_READY_TIMEOUT": "0.05",  # the fake sends its one server at once
        "EASEL_PORT": "0",
        "EASEL_DB": str(tmp_path / "easel.db"),
        "EASEL_PREVIEW_INTERVAL": "0",
        "EASEL_SHUTDOWN_GRACE": "5",
    }


@pytest.fixture
async def easel_discord(discord_env: dict, discord_fake: FakeDiscord) -> AsyncIterator[Runtime]:
    async with running(load_config(discord_env)) as runtime:
        await wait_ready(discord_fake)
        await eventually(lambda: runtime.discord is not None and runtime.discord.connected())
        yield runtime


async def draw(fake: FakeDiscord, runtime: Runtime, prompt: str, **options: object) -> int:
    """Send /draw through the gateway; return the id of its response message, once settled."""
    interaction = fake.interaction(prompt, **options)  # type: ignore[arg-type]
    await fake.dispatch("INTERACTION_CREATE", interaction)
    await eventually(lambda: interaction["token"] in fake.originals)
    await settle(runtime)
    return fake.originals[interaction["token"]]
