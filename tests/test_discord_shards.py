"""Discord's gateway shards at the wire: each easel process identifies only its own shards,
gets only their servers' events and draws only those; /healthz covers every shard it runs;
without the shard variables one unsharded connection gets everything, as before."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import discord
import httpx2
import pytest

from adapters.runtime import Runtime, running
from bot.config import load_config
from tests.conftest import eventually, settle
from tests.fakes.discord_gateway import shard_of
from tests.fakes.discord_server import APP_ID, GUILD_ID, FakeDiscord
from tests.fakes.openai_server import FakeOpenAI
from tests.test_health import health, health_becomes

GUILD_A = GUILD_ID  # shard 0 of 2
GUILD_B = (1 << 22) | 1301  # shard 1 of 2


@pytest.fixture
def discord_guilds() -> list[int]:
    return [GUILD_A, GUILD_B]


def shard_env(env: dict[str, str], tmp_path: Path, **shards: str) -> dict[str, str]:
    """`env` with DISCORD_SHARD_COUNT / DISCORD_SHARD_IDS (as count= / ids=), on a database
    of its own."""
    names = {"count": "DISCORD_SHARD_COUNT", "ids": "DISCORD_SHARD_IDS"}
    label = "-".join(f"{k}{v}" for k, v in shards.items())
    db = {"EASEL_DB": str(tmp_path / f"easel-{label}.db")}
    return {**env, **db, **{names[k]: v for k, v in shards.items()}}


def connected(runtime: Runtime) -> bool:
    return runtime.discord is not None and runtime.discord.connected()


@contextlib.asynccontextmanager
async def connected_easel(env: dict[str, str]) -> AsyncIterator[Runtime]:
    async with running(load_config(env)) as runtime:
        # discord.py waits 5 s before each identify after a process's first, as Discord asks.
        await eventually(lambda: connected(runtime), within=30)
        yield runtime


async def draw_in(fake: FakeDiscord, guild: int, prompt: str, *runtimes: Runtime) -> str:
    """Send /draw in `guild`'s channel over the gateway, wait until it is answered and every
    runtime has settled; return the interaction's token."""
    interaction = fake.interaction(prompt, guild=guild)
    await fake.dispatch("INTERACTION_CREATE", interaction)
    await eventually(lambda: interaction["token"] in fake.originals)
    for runtime in runtimes:
        await settle(runtime)
    return str(interaction["token"])


async def drawn(runtime: Runtime) -> list[tuple[str, str, str]]:
    """(server, prompt, status) of every turn in the runtime's own database."""
    turns: list[tuple[str, str, str]] = []
    while (turn := await runtime.store.ledger.get(len(turns) + 1)) is not None:
        turns.append((turn.key.workspace, turn.prompt, str(turn.status)))
    return turns


async def test_two_processes_each_run_their_shard_and_draw_only_their_servers(
    discord_env: dict[str, str],
    discord_fake: FakeDiscord,
    openai_fake: FakeOpenAI,
    tmp_path: Path,
) -> None:
    assert (shard_of(GUILD_A, 2), shard_of(GUILD_B, 2)) == (0, 1)
    zero_env = shard_env(discord_env, tmp_path, count="2", ids="0")
    one_env = shard_env(discord_env, tmp_path, count="2", ids="1")
    async with connected_easel(zero_env) as zero, connected_easel(one_env) as one:
        assert sorted(d["shard"] for d in discord_fake.identified) == [[0, 2], [1, 2]]
        assert discord_fake.gateway.shards == [(0, 2), (1, 2)]
        syncs = discord_fake.rest("PUT", f"/applications/{APP_ID}/commands")
        assert [c.status for c in syncs] == [200, 200]  # each process syncs, without error
        assert [c["name"] for c in discord_fake.commands["global"]] == ["draw", "draw-settings"]

        a = await draw_in(discord_fake, GUILD_A, "a lighthouse", zero, one)
        b = await draw_in(discord_fake, GUILD_B, "a harbour", zero, one)

        assert await drawn(zero) == [(str(GUILD_A), "a lighthouse", "delivered")]
        assert await drawn(one) == [(str(GUILD_B), "a harbour", "delivered")]
    assert len(openai_fake.requests) == 2
    assert sorted(c["token"] for c in discord_fake.callbacks) == sorted([a, b])  # one defer each
    for token, guild in ((a, GUILD_A), (b, GUILD_B)):
        answer = discord_fake.messages[discord_fake.originals[token]]
        assert answer["channel_id"] == str(discord_fake.channel_of(guild))
        assert answer["attachments"][0]["filename"].startswith("easel-")
        assert discord_fake.threads[int(answer["id"])]["guild_id"] == str(guild)


async def test_a_count_alone_runs_every_shard_and_health_covers_each_of_them(
    discord_env: dict[str, str], discord_fake: FakeDiscord, tmp_path: Path
) -> None:
    async with connected_easel(shard_env(discord_env, tmp_path, count="2")) as easel:
        assert sorted(d["shard"] for d in discord_fake.identified) == [[0, 2], [1, 2]]
        assert (await health(easel))[0] == 200

        await discord_fake.gateway_down(shard=1)
        body = await health_becomes(easel, 503)
        assert body["discord"] is False
        assert discord_fake.gateway.shards == [(0, 2)]  # shard 0 is still open: not enough

        discord_fake.gateway_up()
        # discord.py comes back after its own random, growing backoff.
        assert (await health_becomes(easel, 200, within=40))["discord"] is True
        assert discord_fake.gateway.shards == [(0, 2), (1, 2)]
        await draw_in(discord_fake, GUILD_B, "a harbour", easel)
        assert await drawn(easel) == [(str(GUILD_B), "a harbour", "delivered")]


async def test_without_shard_variables_one_unsharded_connection_gets_every_server(
    easel_discord: Runtime, discord_fake: FakeDiscord
) -> None:
    assert len(discord_fake.identified) == 1
    assert "shard" not in discord_fake.identified[0]
    assert discord_fake.gateway.shards == [(0, 1)]
    assert easel_discord.discord is not None
    assert not isinstance(easel_discord.discord.client, discord.AutoShardedClient)

    await draw_in(discord_fake, GUILD_A, "a lighthouse", easel_discord)
    await draw_in(discord_fake, GUILD_B, "a harbour", easel_discord)
    assert await drawn(easel_discord) == [
        (str(GUILD_A), "a lighthouse", "delivered"),
        (str(GUILD_B), "a harbour", "delivered"),
    ]


async def test_discord_requiring_shards_is_logged_naming_the_variable(
    discord_env: dict[str, str], discord_fake: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="adapters.discord.runner")
    discord_fake.gateway.required_shards = 2
    async with running(load_config(discord_env)) as easel:
        await eventually(lambda: "DISCORD_SHARD_COUNT" in caplog.text)
        assert easel.discord is not None and not easel.discord.connected()
    assert discord_fake.gateway.shards == []


# -- the fake gateway itself, by hand ---------------------------------------------------------


async def identify(http: aiohttp.ClientSession, fake: FakeDiscord, shard: list[int] | None) -> Any:
    """A gateway connection identified with `shard` (none: unsharded), READY read."""
    ws = await http.ws_connect(f"{fake.base_url}/gateway")
    assert (await ws.receive_json())["op"] == 10  # HELLO
    payload: dict[str, Any] = {"token": fake.token, "intents": 0, "properties": {}}
    if shard is not None:
        payload["shard"] = shard
    await ws.send_json({"op": 2, "d": payload})
    return ws


async def events(ws: Any, count: int) -> list[tuple[str, str | None]]:
    """The next `count` dispatches on `ws`, as (event, guild id)."""
    frames = [await ws.receive_json() for _ in range(count)]
    return [(f["t"], f["d"].get("guild_id") or f["d"].get("id")) for f in frames]


async def test_the_fake_gateway_gives_each_shard_only_its_servers(
    discord_fake: FakeDiscord,
) -> None:
    a, b = str(GUILD_A), str(GUILD_B)
    async with aiohttp.ClientSession() as http:
        zero = await identify(http, discord_fake, [0, 2])
        one = await identify(http, discord_fake, [1, 2])
        whole = await identify(http, discord_fake, None)
        ready = await zero.receive_json()
        assert ready["d"]["shard"] == [0, 2] and [g["id"] for g in ready["d"]["guilds"]] == [a]
        assert await events(zero, 1) == [("GUILD_CREATE", a)]
        assert await events(one, 2) == [("READY", None), ("GUILD_CREATE", b)]
        assert await events(whole, 3) == [("READY", None), ("GUILD_CREATE", a), ("GUILD_CREATE", b)]

        for guild in (a, b, None, b):
            await discord_fake.dispatch("TYPING_START", {"guild_id": guild} if guild else {})
        # Frames keep their order on each connection: a stray one would show up here.
        assert await events(zero, 2) == [("TYPING_START", a), ("TYPING_START", None)]
        assert await events(one, 2) == [("TYPING_START", b), ("TYPING_START", b)]
        assert [g for _, g in await events(whole, 4)] == [a, b, None, b]

        bad = await identify(http, discord_fake, [2, 2])
        assert (await bad.receive()).data == 4010  # Invalid shard
        for ws in (zero, one, whole):
            await ws.close()


async def test_the_fake_names_its_recommended_shard_count(discord_fake: FakeDiscord) -> None:
    discord_fake.recommended_shards = 3
    async with httpx2.AsyncClient() as http:
        response = await http.get(
            f"{discord_fake.api_url}/gateway/bot",
            headers={"Authorization": f"Bot {discord_fake.token}"},
        )
    assert response.json()["shards"] == 3
