"""The PostgreSQL engine, for several easel replicas on one database (psycopg 3).

psycopg 3 reads any libpq URL as libpq does (the password may also come from PGPASSWORD or a
.pgpass file), is async, and speaks LISTEN/NOTIFY. Statements go through a pool that
reconnects with backoff while the server restarts; a dedicated connection LISTENs, so that a
turn waiting in a thread wakes when another replica moves that thread on. Schema versions
are migrated once however many replicas start at once (an advisory lock), and a database
newer than the code is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from bot.errors import StoreUnavailable
from bot.store.database import Params, SchemaTooNew, Signals, Statements, migrations

log = logging.getLogger(__name__)

CHANNEL = "easel"  # the NOTIFY channel every replica listens on
MIGRATION_LOCK = 7_426_001  # the advisory lock that lets one replica migrate at a time
LISTEN_PAUSES = (0.5, 1.0, 2.0, 5.0)


@contextlib.contextmanager
def _unavailable() -> Iterator[None]:
    """The server gone, restarting or unreachable: StoreUnavailable, with words."""
    try:
        yield
    except (psycopg.OperationalError, PoolTimeout) as exc:
        raise StoreUnavailable(detail=f"PostgreSQL: {exc}") from exc


def _pg(sql: str) -> str:
    """The repositories write `?` placeholders; psycopg takes `%s`."""
    return sql.replace("%", "%%").replace("?", "%s")


class _Connection:
    """Statements on one connection (inside a transaction)."""

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self._conn = conn

    async def execute(self, sql: str, params: Params = ()) -> int:
        cursor = await self._conn.execute(_pg(sql), tuple(params))
        return cursor.rowcount

    async def insert(self, sql: str, params: Params = ()) -> int:
        row = await self.one(sql, params)
        return int(row[0])

    async def one(self, sql: str, params: Params = ()) -> Any:
        cursor = await self._conn.execute(_pg(sql), tuple(params))
        return await cursor.fetchone() if cursor.description else None

    async def all(self, sql: str, params: Params = ()) -> list[Any]:
        cursor = await self._conn.execute(_pg(sql), tuple(params))
        return list(await cursor.fetchall())

    async def dicts(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        cursor = await self._conn.execute(_pg(sql), tuple(params))
        names = [column.name for column in cursor.description or ()]
        return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]


class PostgresDatabase:
    engine = "postgres"

    def __init__(self, url: str, *, timeout: float = 2.0, max_size: int = 20) -> None:
        self._url = url
        self._timeout = timeout
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            kwargs={"autocommit": True},
            timeout=timeout,
            check=AsyncConnectionPool.check_connection,
            open=False,
            name="easel",
        )
        self._signals = Signals()
        self._listener: asyncio.Task[None] | None = None

    async def open(self) -> None:
        await self._migrate()
        await self._pool.open(wait=True, timeout=self._timeout)
        self._listener = asyncio.create_task(self._listen(), name="easel-listen")

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        await self._pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[_Connection]:
        with _unavailable():
            async with self._pool.connection() as conn:
                yield _Connection(conn)

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._connection() as conn:
            return await conn.execute(sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        async with self._connection() as conn:
            return await conn.insert(sql, params)

    async def one(self, sql: str, params: Params = ()) -> Any:
        async with self._connection() as conn:
            return await conn.one(sql, params)

    async def all(self, sql: str, params: Params = ()) -> list[Any]:
        async with self._connection() as conn:
            return await conn.all(sql, params)

    async def dicts(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        async with self._connection() as conn:
            return await conn.dicts(sql, params)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Statements]:
        with _unavailable():
            async with self._pool.connection() as conn, conn.transaction():
                yield _Connection(conn)

    async def ping(self, *, within: float = 2.0) -> bool:
        with _unavailable():
            async with self._pool.connection(timeout=within) as conn:
                await conn.execute("SELECT 1")
        return True

    async def notify(self, topic: str) -> None:
        await self.execute("SELECT pg_notify(?, ?)", (CHANNEL, topic))

    async def changed(self, topic: str, *, within: float) -> None:
        await self._signals.wait(topic, within=within)

    async def _listen(self) -> None:
        """LISTEN on its own connection, again and again while the server comes and goes
        (waiters also look again on their own every second meanwhile)."""
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    failures = 0
                    async for notice in conn.notifies():
                        self._signals.fire(notice.payload)
            except (psycopg.Error, OSError) as exc:
                pause = LISTEN_PAUSES[min(failures, len(LISTEN_PAUSES) - 1)]
                failures += 1
                log.warning("listening for other replicas failed (%s); again in %.1fs", exc, pause)
                await asyncio.sleep(pause)

    async def _migrate(self) -> None:
        """Apply the schema files this database lacks, one replica at a time."""
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            await conn.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            try:
                await self._apply(conn)
            finally:
                await conn.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))

    async def _apply(self, conn: psycopg.AsyncConnection[Any]) -> None:
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        cursor = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        scripts = migrations(self.engine)
        latest = scripts[-1][0] if scripts else 0
        if current > latest:
            raise SchemaTooNew(
                f"the database has schema version {current}; this easel knows up to {latest}"
            )
        for version, script in scripts:
            if version > current:
                log.info("migrating the database to schema version %d", version)
                async with conn.transaction():
                    await conn.execute(script.encode())
                    await conn.execute(
                        "INSERT INTO schema_version (version) VALUES (%s)", (version,)
                    )
