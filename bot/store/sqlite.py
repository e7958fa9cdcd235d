"""The SQLite store: one database file, its repositories held side by side.

    store.claims    deliveries already seen        store.ledger    turns, step by step
    store.threads   threads and their chain        store.settings  workspace settings, audit
    store.usage     what drawings cost

Open with `async with SqliteStore(path=...) as store`. Finished images wait in an outbox folder
beside the database file (see bot.store.outbox).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

from bot.clock import Clock, SystemClock
from bot.store.database import SqliteDatabase
from bot.store.ledger import SqliteLedger
from bot.store.outbox import Outbox
from bot.store.secrets import SqliteSecrets
from bot.store.threads import SqliteClaims, SqliteThreads
from bot.store.workspace import SqliteSettings, SqliteUsage


def outbox_folder(path: str) -> Path:
    if path == ":memory:":
        return Path(tempfile.mkdtemp(prefix="easel-outbox-"))
    return Path(path).with_name(Path(path).name + ".outbox")


class SqliteStore:
    """Implements bot.ports.Store on one SQLite file."""

    def __init__(self, *, path: str | Path, clock: Clock | None = None) -> None:
        clock = clock or SystemClock()
        self.db = SqliteDatabase(str(path))
        self.claims = SqliteClaims(self.db, clock)
        self.threads = SqliteThreads(self.db, clock)
        self.ledger = SqliteLedger(
            self.db, threads=self.threads, outbox=Outbox(outbox_folder(str(path))), clock=clock
        )
        self.settings = SqliteSettings(self.db, clock)
        self.usage = SqliteUsage(self.db)
        self.secrets = SqliteSecrets(self.db, clock)

    async def __aenter__(self) -> Self:
        await self.db.open()
        try:
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
        return await self.db.one("SELECT 1") is not None
