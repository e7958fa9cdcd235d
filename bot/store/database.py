"""The one SQLite connection every repository of the store shares, and its schema versions.

The schema lives in bot/store/sql/NNNN_*.sql; each file runs in one transaction that sets
`PRAGMA user_version`, and a database newer than the code is refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

import aiosqlite

log = logging.getLogger(__name__)

Params = Iterable[Any]


class SchemaTooNew(RuntimeError):
    """The database was written by a newer easel than this one."""


def migrations() -> list[tuple[int, str]]:
    """(version, script) of every schema file shipped with easel, oldest first."""
    found = []
    for entry in resources.files("bot.store.sql").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class SqliteDatabase:
    """An open aiosqlite connection (WAL, foreign keys, busy timeout), migrated on open."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._db: aiosqlite.Connection | None = None
        self._transactions = asyncio.Lock()

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

    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run one statement; the number of rows it changed."""
        cursor = await self.connection.execute(sql, tuple(params))
        return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Run one INSERT; the new row's id."""
        cursor = await self.connection.execute(sql, tuple(params))
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def one(self, sql: str, params: Params = ()) -> Any:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            return await cursor.fetchone()

    async def all(self, sql: str, params: Params = ()) -> list[Any]:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            return list(await cursor.fetchall())

    async def dicts(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        async with self.connection.execute(sql, tuple(params)) as cursor:
            names = [column[0] for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One transaction at a time on the one connection: turns run concurrently, and two
        BEGINs interleaved on a connection would collide."""
        async with self._transactions:
            await self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self.connection.execute("ROLLBACK")
                raise
            await self.connection.execute("COMMIT")

    async def _migrate(self) -> None:
        row = await self.one("PRAGMA user_version")
        current = int(row[0]) if row else 0
        scripts = migrations()
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
