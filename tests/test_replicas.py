"""Three easel replicas on one real PostgreSQL, at the wire: Slack's requests spread at random
over them (replies of one thread to different replicas, some requests sent twice), one replica
SIGKILLed while its drawings stream, or the database restarted while drawings run. Every
turn ends delivered, or interrupted with a Retry button; no request is drawn twice; every
thread's turns run in order; every delivered file is in its thread once."""

from __future__ import annotations

import asyncio
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI, Script
from tests.fakes.slack_server import FakeSlack
from tests.fleet import Fleet, TableWatch, Turn, TurnsTable, poll
from tests.outcomes import all_finished, check_all, check_owners
from tests.postgres import PostgresServer
from tests.traffic import WORDS, Traffic, open_streams, told
from tests.waiting import eventually

pytest_plugins = ["tests.postgres"]
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")

LEASE = 3.0
REPLICAS = 3
THREADS = 60
DELAY = 0.08  # seconds between a stream's events: a drawing streams for about 0.8 s


@pytest.fixture
def fleet_env(env: dict[str, str], pg_url: str) -> dict[str, str]:
    return {
        **env,
        "EASEL_DB": pg_url,
        "EASEL_LEASE_SECONDS": str(LEASE),
        "EASEL_DELIVERY_MAX_PAUSE": "0.2",
        "EASEL_SHUTDOWN_GRACE": "5",
        "EASEL_LOG_LEVEL": "INFO",
        # 150 turns in half a minute in one workspace: each replica's chat.update budget
        # (Slack's Tier 3) would pace the messages' final edits over minutes; this fake Slack
        # does not meter them (tests/test_slack_tier3.py does).
        "EASEL_SLACK_EDITS_PER_MINUTE": "6000",
        "EASEL_SLACK_EDIT_BURST": "1000",
    }


# -- a replica killed ---------------------------------------------------------------------


async def kill_mid_stream(
    fleet: Fleet, traffic: Traffic, openai: FakeOpenAI, *, victim: int, streaming: int = 3
) -> tuple[float, set[int]]:
    """SIGKILL `victim` once `streaming` of its drawings stream and every request it took is
    recorded with its message (the moment between Slack's ack and that record is outside
    what a lease can recover); the moment it died, and its unfinished turns."""
    watch = traffic.watch

    def streams() -> list[Turn]:
        me = traffic.owner(victim)
        open_now = open_streams(openai)
        return [
            t
            for t in watch.rows
            if t.owner == me and t.status == "drawing" and t.prompt in open_now
        ]

    await watch.until(lambda: len(streams()) >= streaming)
    fleet.routed.discard(victim)  # the load balancer sends it nothing more
    await watch.until(lambda: not traffic.pending(victim) and len(streams()) >= streaming)
    owner = traffic.owner(victim)
    assert owner is not None
    killed_at = fleet.kill(victim)
    await fleet.bots[victim].wait()
    rows = await watch.table.rows()
    left = {t.id for t in rows if t.owner == owner and not t.finished}
    return killed_at, left


async def test_three_replicas_share_the_work_and_take_over_a_killed_ones_turns(
    fleet_env: dict[str, str],
    pg_url: str,
    tmp_path: Path,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
) -> None:
    openai_fake.push(*[Script(partials=1, delay=DELAY)] * 400)
    began = time.monotonic()
    async with (
        Fleet(fleet_env, count=REPLICAS, logs=tmp_path) as fleet,
        TableWatch(TurnsTable(pg_url)) as watch,
    ):
        started = time.monotonic() - began
        traffic = Traffic(fleet, watch, slack_fake, seed=20261201, threads=THREADS)
        victim = 2
        sending = asyncio.create_task(traffic.run())
        killed_at, left = await kill_mid_stream(fleet, traffic, openai_fake, victim=victim)
        assert len(left) >= 3, left

        def taken_over() -> bool:
            return all(t.finished for t in watch.rows if t.id in left)

        # Its lease runs out, the next sweep (a third of a lease) finds its turns and settles
        # them: within a lease and a third, and a few seconds more on a loaded machine.
        await watch.until(taken_over, within=4 * LEASE)
        takeover = time.monotonic() - killed_at
        # Never before its lease can have run out (it last renewed at most a third ago).
        assert takeover >= LEASE * 2 / 3, takeover
        await sending
        turns = await all_finished(watch, traffic, lease=LEASE)
        check_all(turns, openai_fake, slack_fake)
        check_owners(turns, traffic, dead=victim)
        statuses = Counter(t.status for t in turns)
        print(
            f"started 3 in {started:.1f}s; {len(turns)} turns {dict(statuses)}; "
            f"{len(left)} taken over {takeover:.1f}s after the kill; "
            f"all in {time.monotonic() - began:.1f}s"
        )


# -- the database restarted -----------------------------------------------------------------


async def database_away(
    fleet: Fleet, server: PostgresServer, slack: FakeSlack, *, thread: str
) -> tuple[float, float]:
    """Stop the database server, check what easel says meanwhile, start it again; how long
    it was away, and how long after its start every replica was healthy again."""
    await asyncio.to_thread(server.stop)
    stopped = time.monotonic()
    try:
        codes = await asyncio.gather(*(fleet.health(n) for n in sorted(fleet.routed)))
        assert codes == [503] * len(codes), codes
        await asyncio.gather(
            commands_while_away(fleet, slack), replies_while_away(fleet, slack, thread)
        )
    finally:
        await asyncio.to_thread(server.start)
    away = time.monotonic() - stopped

    async def healthy() -> bool:
        codes = await asyncio.gather(*(fleet.health(n) for n in sorted(fleet.routed)))
        return codes == [200] * len(codes)

    return away, await poll(healthy, within=30)


async def commands_while_away(fleet: Fleet, slack: FakeSlack) -> None:
    """A /draw is refused with words at once; `/draw usage` is answered with them."""
    answer = await fleet.senders[0].command("[away] drawn while the database is away")
    assert answer.status_code == 200 and WORDS in answer.text, answer.text
    answer = await fleet.senders[2].command("usage", response_url=slack.response_url("usage"))
    assert answer.status_code == 200
    await eventually(lambda: any(WORDS in r.get("text", "") for r in slack.responses))


async def replies_while_away(fleet: Fleet, slack: FakeSlack, thread: str) -> None:
    """A reply in easel's thread gets words; one in someone else's thread is none of easel's
    business (Slack says who started each: `parent_user_id`)."""
    sender = fleet.senders[1]
    asked = (
        ("USTRANGER", "1699999999.000100", "U999", "1799999998.000100"),
        ("UAWAY", thread, "UBOT", "1799999999.000100"),
    )
    for user, where, parent, ts in asked:
        event = sender.reply_event(
            thread_ts=where,
            text=f"[away] a reply by {user}",
            user=user,
            ts=ts,
            parent_user_id=parent,
        )
        assert (await sender.event(event)).status_code == 200
    await eventually(
        lambda: any(e["user"] == "UAWAY" and WORDS in e["text"] for e in slack.ephemerals)
    )


async def test_a_database_restart_while_drawing_loses_and_doubles_nothing(
    fleet_env: dict[str, str],
    pg_url: str,
    postgres_server: PostgresServer,
    tmp_path: Path,
    openai_fake: FakeOpenAI,
    slack_fake: FakeSlack,
) -> None:
    openai_fake.push(*[Script(partials=1, delay=DELAY)] * 400)
    began = time.monotonic()
    async with (
        Fleet(fleet_env, count=REPLICAS, logs=tmp_path) as fleet,
        TableWatch(TurnsTable(pg_url)) as watch,
    ):
        traffic = Traffic(fleet, watch, slack_fake, seed=20261202, threads=THREADS)
        sending = asyncio.create_task(traffic.run())
        await watch.until(lambda: len(watch.rows) >= 40 and len(open_streams(openai_fake)) >= 5)
        thread = watch.rows[0].thread
        away, back = await database_away(fleet, postgres_server, slack_fake, thread=thread)
        await sending
        turns = await all_finished(watch, traffic, lease=LEASE)
        refused = [s.prompt for s in traffic.sent.values() if s.refused]
        told_so = [s.prompt for s in traffic.sent.values() if told(slack_fake, s)]
        check_all(turns, openai_fake, slack_fake, told=told_so)
        check_owners(turns, traffic)
        assert not [e for e in slack_fake.ephemerals if e["user"] == "USTRANGER"]
        statuses = Counter(t.status for t in turns)
        print(
            f"{len(turns)} turns {dict(statuses)}; away {away:.1f}s, all healthy {back:.1f}s "
            f"after; {len(refused)} refused at once, {len(told_so)} told in words; "
            f"all in {time.monotonic() - began:.1f}s"
        )
