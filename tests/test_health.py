"""GET /healthz at the wire: 503 and the failing part named while the store or Discord's gateway
is down, 200 again once Discord is back. (Slack's Socket Mode connection: test_slack_socket_mode.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx2

from adapters.runtime import Runtime
from tests.conftest import draw, eventually, settle
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.openai_server import FakeOpenAI


async def health(runtime: Runtime) -> tuple[int, dict[str, Any]]:
    async with httpx2.AsyncClient(timeout=5) as http:
        response = await http.get(f"http://127.0.0.1:{runtime.port}/healthz")
    return response.status_code, response.json()


async def health_becomes(runtime: Runtime, status: int, within: float = 10) -> dict[str, Any]:
    """Poll /healthz until it answers `status`; return the body it answered with."""
    async with asyncio.timeout(within):
        while True:
            code, body = await health(runtime)
            if code == status:
                return body
            await asyncio.sleep(0.05)


async def test_the_store_going_away_turns_health_to_503_naming_the_store(easel: Runtime) -> None:
    assert await health(easel) == (200, {"ok": True, "ready": True, "store": True, "slack": True})
    await easel.store.db.close()  # the database connection is gone under a running easel
    assert await health(easel) == (503, {"ok": False, "ready": True, "store": False, "slack": True})


async def test_discords_gateway_going_down_turns_health_to_503_and_back(
    easel_discord: Runtime, discord_fake: FakeDiscord, openai_fake: FakeOpenAI
) -> None:
    assert await health(easel_discord) == (
        200,
        {"ok": True, "ready": True, "store": True, "discord": True},
    )

    await discord_fake.gateway_down()
    assert not discord_fake.connected
    body = await health_becomes(easel_discord, 503)
    assert body == {"ok": False, "ready": True, "store": True, "discord": False}
    # discord.py keeps trying, and failing, meanwhile: still 503 after it has tried again.
    await eventually(lambda: discord_fake.refused_connections >= 1, within=20)
    assert await health(easel_discord) == (503, body)

    discord_fake.gateway_up()
    # discord.py reconnects after its own random, growing backoff, and resumes the session.
    body = await health_becomes(easel_discord, 200, within=40)
    assert body == {"ok": True, "ready": True, "store": True, "discord": True}
    assert discord_fake.connected and len(discord_fake.resumed) >= 1
    assert len(discord_fake.identified) == 1  # the session was resumed, not started anew

    # Healthy means it works: a /draw over the resumed gateway is drawn and delivered.
    mid = await draw(discord_fake, easel_discord, "a lighthouse after the storm")
    await settle(easel_discord)
    assert discord_fake.messages[mid]["attachments"][0]["filename"].startswith("easel-")
    assert len(openai_fake.requests) == 1
