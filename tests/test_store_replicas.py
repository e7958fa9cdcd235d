"""The store's contract for what several replicas share, on both engines: leases and taking
over, drawings in flight, waiting for a thread's earlier turns, keys, facts and previews.

With SQLite one process serves one file: every other owner is a run before it, taken over at
once. With PostgreSQL a turn is taken over only once its replica's lease ran out, and two
replicas never take the same turn."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest

from bot.errors import NotAllowed, StoreUnavailable
from bot.models import DrawRequest, ThreadKey
from bot.store.sqlite import SqlStore
from bot.turns.status import TurnStatus
from tests import ledger
from tests.clock import ManualClock
from tests.stores import Opener, db_path, opener, store

T = TypeVar("T")

pytest_plugins = ["tests.postgres"]
__all__ = ["db_path", "opener", "store"]  # fixtures, used by name

KEY = ThreadKey("slack", "T1", "C1", "1700000000.000100")
PERSON = ("slack", "T1", "U1")


def _request(prompt: str = "a kettle") -> DrawRequest:
    return DrawRequest(
        platform="slack", workspace="T1", channel="C1", user_id="U1", prompt=prompt, thread="t"
    )


async def test_a_dead_replicas_turns_are_taken_over_once_its_lease_ran_out(
    opener: Opener,
) -> None:
    clock = ManualClock()
    async with (
        opener(clock=clock, lease_seconds=30) as dead,
        opener(clock=clock, lease_seconds=30) as alive,
    ):
        drawing = await ledger.begin(dead, _request(), KEY)
        delivering = await ledger.begin(dead, _request(), KEY)
        await dead.ledger.hold(delivering, ledger.final_image(delivering))
        done = await ledger.record(dead, _request(), KEY, TurnStatus.DELIVERED)
        if dead.db.engine == "postgres":
            assert await alive.ledger.take_over(running=set()) == [], "its lease still holds"
            clock.advance(31)
            await alive.replicas.renew()
        taken = await alive.ledger.take_over(running=set())
        assert [t.id for t in taken] == [drawing, delivering]
        assert done not in [t.id for t in taken]
        running = {t.id for t in taken}  # the taker runs them now
        assert await alive.ledger.take_over(running=running) == [], "taken once"


async def test_two_replicas_never_take_the_same_turn(opener: Opener) -> None:
    clock = ManualClock()
    async with opener(clock=clock) as dead, opener(clock=clock) as one, opener(clock=clock) as two:
        if dead.db.engine == "sqlite":
            pytest.skip("one SQLite file serves one easel: several replicas need PostgreSQL")
        turns = [await ledger.begin(dead, _request(f"t{n}"), KEY) for n in range(20)]
        clock.advance(60)
        await one.replicas.renew()
        await two.replicas.renew()
        first, second = await asyncio.gather(
            one.ledger.take_over(running=set()), two.ledger.take_over(running=set())
        )
        ids = [t.id for t in first] + [t.id for t in second]
        assert sorted(ids) == turns and len(set(ids)) == len(ids)


async def test_a_replicas_own_turn_that_no_task_runs_is_taken_over_after_a_lease(
    opener: Opener,
) -> None:
    clock = ManualClock()
    async with opener(clock=clock, lease_seconds=30) as mine:
        running = await ledger.begin(mine, _request(), KEY)
        orphan = await ledger.begin(mine, _request(), KEY)
        assert await mine.ledger.take_over(running={running}) == [], "just begun"
        clock.advance(31)
        await mine.replicas.renew()
        assert [t.id for t in await mine.ledger.take_over(running={running})] == [orphan]


async def test_drawings_in_flight_count_on_every_replica_and_end_with_their_replica(
    opener: Opener,
) -> None:
    clock = ManualClock()
    async with opener(clock=clock) as a, opener(clock=clock) as other:
        b = other if a.db.engine == "postgres" else a  # SQLite: one easel, its own tasks

        async def at_most_one(running: int) -> None:
            if running >= 1:
                raise NotAllowed("one at a time")

        outcomes = await asyncio.gather(
            a.admissions.admit(PERSON, at_most_one),
            b.admissions.admit(PERSON, at_most_one),
            return_exceptions=True,
        )
        admitted = [o for o in outcomes if isinstance(o, int)]
        refused = [o for o in outcomes if isinstance(o, NotAllowed)]
        assert len(admitted) == 1 and len(refused) == 1, outcomes
        assert await b.admissions.count(PERSON) == 1
        await a.admissions.release(admitted[0])
        assert await b.admissions.count(PERSON) == 0


async def test_an_admission_nothing_holds_is_forgotten_a_lease_on(opener: Opener) -> None:
    clock = ManualClock()
    async with opener(clock=clock, lease_seconds=30) as store:

        async def allow(running: int) -> None:
            pass

        held = await store.admissions.admit(PERSON, allow)
        async with store.db.transaction() as tx:  # written, its id never handed back
            await store.admissions.add(PERSON, on=tx)  # (a commit whose answer was lost)
        await store.admissions.forget_the_dead()
        assert await store.admissions.count(PERSON) == 2, "not a lease old yet"
        clock.advance(31)
        await store.replicas.renew()
        await store.admissions.forget_the_dead()
        assert await store.admissions.count(PERSON) == 1, "the one held stays"
        await store.admissions.release(held)
        assert await store.admissions.count(PERSON) == 0


async def test_a_refused_admission_records_nothing(store: SqlStore) -> None:
    async def refuse(running: int) -> None:
        raise NotAllowed("no")

    with pytest.raises(NotAllowed):
        await store.admissions.admit(PERSON, refuse)
    assert await store.admissions.count(PERSON) == 0


async def test_a_turn_waits_for_the_threads_earlier_turns_wherever_they_run(
    opener: Opener,
) -> None:
    async with opener() as a, opener() as b:
        first = await ledger.begin(a, _request(), KEY)
        second = await ledger.begin(b, _request(), KEY, status=TurnStatus.QUEUED)
        assert await b.ledger.earlier_active(second, KEY)
        waiting = asyncio.create_task(b.ledger.wait_turn(second, KEY))
        await asyncio.sleep(0)
        assert not waiting.done()
        await a.ledger.hold(first, ledger.final_image(first))
        assert not waiting.done(), "delivering without its file in the thread still holds it"
        final = ledger.final_image(first)
        await a.ledger.placed(first, key=KEY, final=final, file_ref="F1")
        async with asyncio.timeout(5):  # woken by the move, not by its own polling
            await waiting
        assert not await b.ledger.earlier_active(second, KEY)


async def test_every_replica_derives_from_the_same_key(opener: Opener) -> None:
    async with opener() as a, opener() as b:
        key_a, key_b = await asyncio.gather(a.secrets.key("k"), b.secrets.key("k"))
        assert key_a == key_b and len(key_a) == 32
        assert await a.secrets.key("other") != key_a


async def test_facts_and_previews_are_shared(opener: Opener) -> None:
    clock = ManualClock()
    async with opener(clock=clock) as a, opener(clock=clock) as b:
        await a.facts.put("commands", "abc")
        assert await a.facts.get("commands") == "abc"
        await a.previews.put("tok", mime_type="image/jpeg", data=b"jpg", ttl=600)
        assert await a.previews.get("tok") == ("image/jpeg", b"jpg")
        if a.db.engine == "postgres":  # any replica answers for any preview
            assert await b.facts.get("commands") == "abc"
            assert await b.previews.get("tok") == ("image/jpeg", b"jpg")
        clock.advance(601)
        assert await a.previews.get("tok") is None
        await a.previews.put("tok2", mime_type="image/jpeg", data=b"x", ttl=600)
        await a.previews.drop("tok2")
        assert await a.previews.get("tok2") is None


async def test_a_postgres_restart_is_survived_with_words_meanwhile(
    request: pytest.FixtureRequest, opener: Opener
) -> None:
    async with opener() as store:
        if store.db.engine != "postgres":
            pytest.skip("a restart of the database server is PostgreSQL's")
        server = request.getfixturevalue("postgres_server")
        assert await store.claims.claim("before")
        server.stop()
        try:
            with pytest.raises(StoreUnavailable) as down:
                await store.claims.claim("during")
            assert "cannot reach its database" in down.value.user_message
            with pytest.raises(StoreUnavailable):
                await store.ping()
        finally:
            server.start()
        assert await _once_back(lambda: store.claims.claim("after"))
        assert not await store.claims.claim("before"), "nothing was lost"


async def _once_back(act: Callable[[], Awaitable[T]]) -> T:
    """`act` done as soon as the pool has reconnected on its own (within 20 s)."""
    async with asyncio.timeout(20):
        while True:
            try:
                return await act()
            except StoreUnavailable:
                await asyncio.sleep(0.1)  # the pool says nothing when it is back: ask again


async def test_no_lease_that_ran_out_while_the_database_was_away_says_its_replica_is_gone(
    request: pytest.FixtureRequest, opener: Opener
) -> None:
    clock = ManualClock()
    async with (
        opener(clock=clock, lease_seconds=30) as busy,
        opener(clock=clock, lease_seconds=30) as other,
    ):
        if busy.db.engine != "postgres":
            pytest.skip("a restart of the database server is PostgreSQL's")
        drawing = await ledger.begin(busy, _request(), KEY)
        clock.advance(31)
        await other.replicas.renew()
        server = request.getfixturevalue("postgres_server")
        server.stop()
        try:
            with pytest.raises(StoreUnavailable):  # away a lease long: no one could renew
                await other.replicas.renew()
            clock.advance(31)
        finally:
            server.start()
        await _once_back(other.replicas.renew)
        assert await other.ledger.take_over(running=set()) == [], "busy could not renew either"
        await busy.replicas.renew()  # back in time
        for _ in range(3):  # `other` renews in time for a lease; busy stops renewing
            clock.advance(11)
            await other.replicas.renew()
        assert [t.id for t in await other.ledger.take_over(running=set())] == [drawing]


async def test_a_waiting_turn_waits_on_while_the_database_is_away(
    request: pytest.FixtureRequest, opener: Opener, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.store.ledger")
    async with opener() as store:
        if store.db.engine != "postgres":
            pytest.skip("a restart of the database server is PostgreSQL's")
        first = await ledger.begin(store, _request(), KEY)
        second = await ledger.begin(store, _request(), KEY, status=TurnStatus.QUEUED)
        waiting = asyncio.create_task(store.ledger.wait_turn(second, KEY, poll=0.05))
        server = request.getfixturevalue("postgres_server")
        server.stop()
        try:
            said = "waits for the database"
            async with asyncio.timeout(10):  # until it has looked, and found no database
                while not waiting.done() and said not in caplog.text:  # noqa: ASYNC110
                    await asyncio.sleep(0.05)
            assert not waiting.done(), "it still waits"
        finally:
            server.start()
        await _once_back(lambda: store.ledger.end(first, status=TurnStatus.FAILED, error_code="x"))
        async with asyncio.timeout(20):
            await waiting
