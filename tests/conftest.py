"""Shared fixtures: the fake OpenAI and Slack servers, and easel itself, wired as in production."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx2
import pytest
from slack_sdk.signature import SignatureVerifier

from adapters.runtime import Runtime, running
from bot.config import Config, load_config
from tests.fakes.discord_server import FakeDiscord, wait_ready
from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeSlack
from tests.specs import SPECS_DIR, assert_bodies_match_discords_spec

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test"
OPENAI_KEY = "sk-test-key"
TEAM = "T1"
CHANNEL = "C1"
USER = "U1"
T = TypeVar("T")


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


class SlackSender:
    """Sends what Slack sends: signed slash commands and Events API callbacks."""

    def __init__(self, *, port: int, secret: str = SIGNING_SECRET) -> None:
        self.url = f"http://127.0.0.1:{port}/slack/events"
        self._signer = SignatureVerifier(secret)
        self._http = httpx2.AsyncClient(timeout=10)
        self._events = 0

    async def aclose(self) -> None:
        await self._http.aclose()

    def signed_headers(self, body: str, *, timestamp: int | None = None) -> dict[str, str]:
        ts = str(timestamp if timestamp is not None else int(time.time()))
        signature = self._signer.generate_signature(timestamp=ts, body=body)
        assert signature is not None
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}

    async def post(self, body: str, content_type: str, **headers: str) -> httpx2.Response:
        all_headers = {"Content-Type": content_type, **self.signed_headers(body), **headers}
        return await self._http.post(self.url, content=body.encode(), headers=all_headers)

    async def interactive(self, payload: dict[str, Any]) -> httpx2.Response:
        """A signed interactivity request (a button press, a form submission)."""
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        return await self.post(body, "application/x-www-form-urlencoded")

    async def press(
        self, action_id: str, *, user: str = USER, value: str | None = None, **where: Any
    ) -> httpx2.Response:
        """A person pressing the button `action_id`; `where` says on what (container, ...)."""
        action = {"action_id": action_id, "block_id": "b", "type": "button", "action_ts": "1.0"}
        if value is not None:
            action["value"] = value
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "test"},
            "user": {"id": user, "team_id": TEAM},
            "api_app_id": "A1",
            "token": "unused",
            "trigger_id": f"trigger-{time.monotonic_ns()}",
            "actions": [action],
            **where,
        }
        return await self.interactive(payload)

    async def command(
        self, text: str, *, user: str = USER, channel: str = CHANNEL, response_url: str = ""
    ) -> httpx2.Response:
        form = {
            "token": "unused",
            "team_id": TEAM,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "someone",
            "command": "/draw",
            "text": text,
            "api_app_id": "A1",
            "response_url": response_url,
            "trigger_id": f"trigger-{time.monotonic_ns()}",
        }
        body = urllib.parse.urlencode(form)
        return await self.post(body, "application/x-www-form-urlencoded")

    def reply_event(
        self,
        *,
        thread_ts: str,
        text: str,
        ts: str | None = None,
        user: str = USER,
        channel: str = CHANNEL,
        files: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        self._events += 1
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts or f"{1800000000 + self._events}.000100",
            "thread_ts": thread_ts,
            "team": TEAM,
            **extra,
        }
        if files:
            event["subtype"] = "file_share"
            event["files"] = files
        return event

    async def event(
        self, event: dict[str, Any], *, event_id: str | None = None, **headers: str
    ) -> httpx2.Response:
        self._events += 1
        body = json.dumps(
            {
                "token": "unused",
                "team_id": TEAM,
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": event_id or f"Ev{self._events:08d}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        return await self.post(body, "application/json", **headers)


@pytest.fixture
async def slack(easel: Runtime) -> AsyncIterator[SlackSender]:
    sender = SlackSender(port=easel.port)
    yield sender
    await sender.aclose()


async def settle(runtime: Runtime, within: float = 20) -> None:
    """Wait until every drawing turn has ended and no listener is about to start another.

    Bolt answers Slack before its listener finishes, so a turn may be submitted a moment
    after the HTTP response: wait until the service has stayed idle for a short while.
    """
    async with asyncio.timeout(within):
        while True:
            await runtime.service.join()
            await asyncio.sleep(0.15)
            if runtime.service.idle:
                return


async def eventually(predicate: Callable[[], T], within: float = 10) -> T:
    """Poll `predicate` until it returns something truthy (what a fake recorded), and return it."""
    async with asyncio.timeout(within):
        while not (result := predicate()):  # noqa: ASYNC110 - the fakes record, they do not signal
            await asyncio.sleep(0.02)
    return result


# -- Discord ----------------------------------------------------------------------------


@pytest.fixture
async def discord_fake() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord() as fake:
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
