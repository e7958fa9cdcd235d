"""The store: one database, its parts held side by side.

    store.claims    deliveries already seen        store.ledger     turns, step by step
    store.threads   threads and their chain        store.settings   workspace settings, audit
    store.usage     what drawings cost             store.secrets    keys kept once
    store.replicas  this replica's lease           store.admissions drawings in flight
    store.facts     small facts                    store.previews   previews at a public URL
    store.drawings  buttons pressed, deletions

`SqliteStore(path=...)`: the embedded default, one file (finished images wait in an outbox
folder beside it). `PostgresStore(url=...)`: one PostgreSQL database for several replicas
(the outbox and the previews in it too). Open either with `async with`.
"""

from __future__ import annotations

import tempfile
import uuid
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.clock import Clock, SystemClock
from bot.store.database import Database, SqliteDatabase
from bot.store.drawings import SqlDrawings
from bot.store.ledger import SqlLedger
from bot.store.outbox import FileOutbox, Outbox, SqlOutbox
from bot.store.postgres import PostgresDatabase
from bot.store.previews import MemoryPreviews, SqlPreviews
from bot.store.replicas import SqlAdmissions, SqlFacts, SqlReplicas
from bot.store.secrets import SqlSecrets
from bot.store.threads import SqlClaims, SqlThreads
from bot.store.workspace import SqlSettings, SqlUsage

DEFAULT_LEASE = 30.0


def outbox_folder(path: str) -> Path:
    if path == ":memory:":
        return Path(tempfile.mkdtemp(prefix="easel-outbox-"))
    return Path(path).with_name(Path(path).name + ".outbox")


class SqlStore:
    """Implements bot.ports.Store over one database."""

    def __init__(
        self,
        db: Database,
        *,
        outbox: Outbox,
        previews: MemoryPreviews | SqlPreviews,
        clock: Clock,
        replica: str | None,
        lease_seconds: float,
    ) -> None:
        self.db = db
        self.replicas = SqlReplicas(
            db, clock, replica=replica or uuid.uuid4().hex, lease_seconds=lease_seconds
        )
        self.claims = SqlClaims(db, clock)
        self.threads = SqlThreads(db, clock)
        self.ledger = SqlLedger(
            db, threads=self.threads, outbox=outbox, clock=clock, replicas=self.replicas
        )
        self.drawings = SqlDrawings(db, clock)
        self.settings = SqlSettings(db, clock)
        self.usage = SqlUsage(db)
        self.secrets = SqlSecrets(db, clock)
        self.admissions = SqlAdmissions(db, clock, replicas=self.replicas)
        self.facts = SqlFacts(db, clock)
        self.previews = previews

    async def __aenter__(self) -> Self:
        await self.db.open()
        try:
            await self.replicas.renew()
            await self.claims.forget_old()
            await self.ledger.tidy_outbox()
        except BaseException:
            await self.db.close()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.db.close()

    async def ping(self) -> bool:
        return await self.db.ping()


class SqliteStore(SqlStore):
    def __init__(
        self,
        *,
        path: str | Path,
        clock: Clock | None = None,
        replica: str | None = None,
        lease_seconds: float = DEFAULT_LEASE,
    ) -> None:
        clock = clock or SystemClock()
        db = SqliteDatabase(str(path))
        super().__init__(
            db,
            outbox=FileOutbox(outbox_folder(str(path))),
            previews=MemoryPreviews(clock),
            clock=clock,
            replica=replica,
            lease_seconds=lease_seconds,
        )


class PostgresStore(SqlStore):
    def __init__(
        self,
        *,
        url: str,
        clock: Clock | None = None,
        replica: str | None = None,
        lease_seconds: float = DEFAULT_LEASE,
    ) -> None:
        clock = clock or SystemClock()
        db = PostgresDatabase(url)
        super().__init__(
            db,
            outbox=SqlOutbox(db),
            previews=SqlPreviews(db, clock),
            clock=clock,
            replica=replica,
            lease_seconds=lease_seconds,
        )
