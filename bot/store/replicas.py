"""Replicas and their leases: each running easel renews its lease (`replicas.seen_at`) while
it lives; the turns it runs carry its id (`turns.owner`). A turn whose owner stopped renewing
is anyone's to take over, with one atomic statement, by a replica that has itself renewed
promptly for a whole lease (after the database was away, no lease that ran out meanwhile
says its replica is gone).

One SQLite file serves one easel: there, every owner but this process is a run before it.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from bot.clock import Clock
from bot.store.database import Database, Statements

log = logging.getLogger(__name__)

Person = tuple[str, str, str]  # platform, workspace, user id
Check = Callable[[int], Awaitable[None]]


class SqlReplicas:
    def __init__(self, db: Database, clock: Clock, *, replica: str, lease_seconds: float) -> None:
        self._db = db
        self._clock = clock
        self.replica = replica
        self.lease_seconds = lease_seconds
        # The first renewal since the last one that failed or was slow; a renewal under way.
        self._in_touch_since: float | None = None
        self._renewing_since: float | None = None

    @property
    def shared(self) -> bool:
        """Other easels may run on this database at the same time."""
        return self._db.engine != "sqlite"

    @property
    def slow(self) -> float:
        """A renewal that takes longer (or fails) says the database was away."""
        return self.lease_seconds / 6

    async def renew(self) -> None:
        now = self._clock.time()
        self._renewing_since = now
        try:
            await self._db.execute(
                "INSERT INTO replicas (id, started_at, seen_at) VALUES (?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET seen_at=excluded.seen_at",
                (self.replica, now, now),
            )
        except BaseException:
            self._in_touch_since = None
            raise
        finally:
            self._renewing_since = None
        took = self._clock.time() - now
        if took > self.slow:
            log.info("renewing the lease took %.1fs: no other replica's turns for a lease", took)
            self._in_touch_since = None
        elif self._in_touch_since is None:
            self._in_touch_since = now

    @property
    def steady(self) -> bool:
        """This replica has renewed its lease promptly for a whole lease. The database away
        (restarting, unreachable) stops every replica renewing alike: only a replica that has
        been in touch with it for a lease since can tell a replica gone from one that could
        not renew, by its lease."""
        now = self._clock.time()
        since, renewing = self._in_touch_since, self._renewing_since
        if renewing is not None and now - renewing > self.slow:
            return False
        return since is not None and now - since >= self.lease_seconds

    async def leave(self) -> None:
        """Stopping: this replica's turns are for the others to take over at once."""
        await self._db.execute("DELETE FROM replicas WHERE id=?", (self.replica,))

    def alive(self) -> tuple[str, tuple[Any, ...]]:
        """SQL that lists the owners still alive, and its parameters: while this replica is
        not steady, every replica that has not left."""
        if not self.shared:
            return "?", (self.replica,)
        if not self.steady:
            return "SELECT id FROM replicas", ()
        since = self._clock.time() - self.lease_seconds
        return "SELECT id FROM replicas WHERE seen_at > ?", (since,)

    async def forget_the_dead(self) -> None:
        """Replicas whose lease ran out long ago (ten leases) are no one's concern any more."""
        if self.shared and not self.steady:
            return  # they may only have been unable to renew
        since = self._clock.time() - 10 * self.lease_seconds
        await self._db.execute("DELETE FROM replicas WHERE seen_at <= ?", (since,))


class SqlAdmissions:
    """Drawings admitted and not ended yet, on every replica: a daily limit counts them."""

    def __init__(self, db: Database, clock: Clock, *, replicas: SqlReplicas) -> None:
        self._db = db
        self._clock = clock
        self._replicas = replicas
        self._held: set[int] = set()  # admitted here, not released yet

    async def count(self, person: Person, *, on: Statements | None = None) -> int:
        alive, params = self._replicas.alive()
        row = await (on or self._db).one(
            "SELECT count(*) FROM admissions WHERE platform=? AND workspace=? AND user_id=?"
            f" AND owner IN ({alive})",
            (*person, *params),
        )
        return int(row[0]) if row else 0

    async def add(self, person: Person, *, on: Statements) -> int:
        return await on.insert(
            "INSERT INTO admissions (platform, workspace, user_id, owner, at)"
            " VALUES (?, ?, ?, ?, ?) RETURNING id",
            (*person, self._replicas.replica, self._clock.time()),
        )

    async def lock(self, person: Person, *, on: Statements) -> None:
        """Serialise admissions of one person across replicas, until the transaction ends
        (SQLite's write transaction already serialises everything)."""
        if self._db.engine == "postgres":
            await on.execute("SELECT pg_advisory_xact_lock(hashtext(?))", (":".join(person),))

    async def admit(self, person: Person, check: Check) -> int:
        """In one transaction, admissions of this person serialised across replicas: `await
        check(running)`, then record the admission; its id. `check` raising refuses it, and
        nothing is recorded."""
        async with self._db.transaction() as tx:
            await self.lock(person, on=tx)
            await check(await self.count(person, on=tx))
            admission = await self.add(person, on=tx)
        self._held.add(admission)
        return admission

    async def release(self, admission_id: int) -> None:
        self._held.discard(admission_id)  # forget_the_dead removes it, should this fail
        await self.remove(admission_id)

    async def remove(self, admission_id: int) -> None:
        await self._db.execute("DELETE FROM admissions WHERE id=?", (admission_id,))

    async def forget_the_dead(self) -> None:
        """Admissions of replicas that are gone, and this replica's own that nothing here
        holds a lease after they were made (a release the database did not take, a commit
        whose answer was lost as the database stopped): none is a drawing in flight."""
        alive, params = self._replicas.alive()
        await self._db.execute(f"DELETE FROM admissions WHERE owner NOT IN ({alive})", params)
        held = sorted(self._held)
        keep = f" AND id NOT IN ({marks(held)})" if held else ""
        settled = self._clock.time() - self._replicas.lease_seconds
        await self._db.execute(
            f"DELETE FROM admissions WHERE owner=? AND at < ?{keep}",
            (self._replicas.replica, settled, *held),
        )


class SqlFacts:
    """Small named facts easel keeps for itself."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def get(self, name: str) -> str | None:
        row = await self._db.one("SELECT value FROM facts WHERE name=?", (name,))
        return str(row[0]) if row else None

    async def put(self, name: str, value: str) -> None:
        await self._db.execute(
            "INSERT INTO facts (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name)"
            " DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
            (name, value, self._clock.time()),
        )


def marks(values: Iterable[object]) -> str:
    return ", ".join("?" for _ in values)
