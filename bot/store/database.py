"""The database a store runs on: one interface over SQLite (one connection, the embedded
default) and PostgreSQL (a pool, for several replicas; bot.store.postgres).

The repositories (bot.store.threads, ledger, workspace, ...) write their SQL once, with `?`
placeholders, `ON CONFLICT` and `RETURNING`, which both engines speak; each engine translates
what it must. Schema files live in bot/store/schema/<engine>/NNNN_*.sql, applied in order,
each in one transaction with its version; a database newer than the code is refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from contextvars import ContextVar
from importlib import resources
from typing import Any, Protocol

import aiosqlite

log = logging.getLogger(__name__)

Params = Iterable[Any]


class SchemaTooNew(RuntimeError):
    """The database was written by a newer easel than this one."""


def migrations(engine: str) -> list[tuple[int, str]]:
    """(version, script) of every schema file shipped for `engine`, oldest first."""
    found = []
    for entry in resources.files(f"bot.store.schema.{engine}").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class Statements(Protocol):
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        ...

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT that ends `RETURNING id`; the new row's id."""
        ...

    async def one(self, sql: str, params: Params = ()) -> Any: ...

    async def all(self, sql: str, params: Params = ()) -> list[Any]: ...

    async def dicts(self, sql: str, params: Params = ()) -> list[dict[str, Any]]: ...


class Database(Statements, Protocol):
    engine: str  # "sqlite" or "postgres"

    def transaction(self) -> AbstractAsyncContextManager[Statements]:
        """Statements that commit together, or not at all."""
        ...

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool:
        """The database answers (quickly, or not at all)."""
        ...

    async def notify(self, topic: str) -> None:
        """Wake whoever waits on `topic`, in this process and (PostgreSQL) every replica."""

    async def changed(self, topic: str, *, within: float) -> None:
        """Return when `topic` is notified, or after `within` seconds at the latest."""


class Signals:
    """Waiters by topic, in this process."""

    def __init__(self) -> None:
        self._waiting: dict[str, set[asyncio.Event]] = {}

    def fire(self, topic: str) -> None:
        for event in self._waiting.get(topic, ()):
            event.set()

    async def wait(self, topic: str, *, within: float) -> None:
        event = asyncio.Event()
        self._waiting.setdefault(topic, set()).add(event)
        try:
            async with asyncio.timeout(within):
                await event.wait()
        except TimeoutError:
            pass
        finally:
            waiting = self._waiting.get(topic, set())
            waiting.discard(event)
            if not waiting:
                self._waiting.pop(topic, None)


class SqliteDatabase:
    """An open aiosqlite connection (WAL, foreign keys, busy timeout), migrated on open.

    Turns run concurrently on its one connection: while one of them holds a transaction,
    every other statement waits for it (a statement of another task run inside it would
    commit or roll back with it); the task holding it goes on unhindered."""

    engine = "sqlite"

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()
        self._holding: ContextVar[bool] = ContextVar(f"easel-sqlite-{id(self)}", default=False)
        self._signals = Signals()

    async def open(self) -> None:
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            for pragma in (
                "journal_mode=WAL",
                "foreign_keys=ON",
                "busy_timeout=5000",
                "synchronous=NORMAL",
            ):
                await self._db.execute(f"PRAGMA {pragma}")
            await self._migrate()
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def connection(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[aiosqlite.Connection]:
        """The connection, once no other task's transaction holds it."""
        if self._holding.get():
            yield self.connection
            return
        async with self._lock:
            yield self.connection

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._turn() as db:
            cursor = await db.execute(sql, tuple(params))
            return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        row = await self.one(sql, params)
        return int(row[0])

    async def one(self, sql: str, params: Params = ()) -> Any:
        async with self._turn() as db, db.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    async def all(self, sql: str, params: Params = ()) -> list[Any]:
        async with self._turn() as db, db.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def dicts(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        async with self._turn() as db, db.execute(sql, tuple(params)) as cursor:
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Statements]:
        """A transaction on the one connection; other tasks' statements wait for its end."""
        async with self._lock:
            token = self._holding.set(True)
            try:
                await self.connection.execute("BEGIN IMMEDIATE")
                try:
                    yield self
                except BaseException:
                    await self.connection.execute("ROLLBACK")
                    raise
                await self.connection.execute("COMMIT")
            finally:
                self._holding.reset(token)

    async def ping(self) -> bool:
        return await self.one("SELECT 1") is not None

    async def notify(self, topic: str) -> None:
        self._signals.fire(topic)  # one process serves one SQLite file

    async def changed(self, topic: str, *, within: float) -> None:
        await self._signals.wait(topic, within=within)

    async def _migrate(self) -> None:
        row = await self.one("PRAGMA user_version")
        current = int(row[0]) if row else 0
        scripts = migrations(self.engine)
        latest = scripts[-1][0] if scripts else 0
        if current > latest:
            raise SchemaTooNew(
                f"{self.path} has schema version {current}; this easel knows up to {latest}"
            )
        for version, script in scripts:
            if version <= current:
                continue
            log.info("migrating %s to schema version %d", self.path, version)
            # executescript commits first; the script runs inside one explicit transaction.
            await self.connection.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {version:d};\nCOMMIT;"
            )
