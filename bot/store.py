"""The aiosqlite store: one database file, schema in bot/sql/ versioned by PRAGMA user_version."""

from __future__ import annotations

import asyncio
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiosqlite

from bot.clock import Clock, SystemClock
from bot.ledger import Ledger
from bot.models import ThreadKey, ThreadState
from bot.outbox import Outbox

log = logging.getLogger(__name__)

SEEN_RETENTION = 7 * 24 * 3600.0  # seconds a platform delivery id is remembered


class SchemaTooNew(RuntimeError):
    """The database was written by a newer easel than this one."""


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("bot.sql").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text(encoding="utf-8")))
    return sorted(found)


class SqliteStore(Ledger):
    """Implements bot.ports.Store. Open with `async with SqliteStore(path=...)`."""

    def __init__(self, *, path: str | Path, clock: Clock | None = None) -> None:
        self._path = str(path)
        self._clock = clock or SystemClock()
        self._db: aiosqlite.Connection | None = None
        self._transactions = asyncio.Lock()
        self.outbox = Outbox(
            Path(tempfile.mkdtemp(prefix="easel-outbox-"))
            if self._path == ":memory:"
            else Path(self._path).with_name(Path(self._path).name + ".outbox")
        )

    async def __aenter__(self) -> Self:
        self._db = await aiosqlite.connect(self._path, isolation_level=None)
        try:
            await self._db.execute("PRAGMA journal_mode=WAL")
            await self._db.execute("PRAGMA foreign_keys=ON")
            await self._db.execute("PRAGMA busy_timeout=5000")
            await self._db.execute("PRAGMA synchronous=NORMAL")
            await self._migrate()
            await self._forget_old_deliveries()
            await self.tidy_outbox()
        except BaseException:
            await self._db.close()
            self._db = None
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """One transaction at a time on the one connection: turns run concurrently, and two
        BEGINs interleaved on a connection would collide."""
        async with self._transactions:
            await self.db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                await self.db.execute("ROLLBACK")
                raise
            await self.db.execute("COMMIT")

    async def _migrate(self) -> None:
        async with self.db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        current = int(row[0]) if row else 0
        migrations = _migrations()
        latest = migrations[-1][0] if migrations else 0
        if current > latest:
            raise SchemaTooNew(
                f"{self._path} has schema version {current}; this easel knows up to {latest}"
            )
        for version, script in migrations:
            if version <= current:
                continue
            log.info("migrating %s to schema version %d", self._path, version)
            # executescript commits first; the script runs inside one explicit transaction.
            await self.db.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {version:d};\nCOMMIT;"
            )

    async def _forget_old_deliveries(self) -> None:
        """Slack retries a delivery for minutes, not days: older keys are dead weight."""
        await self.db.execute(
            "DELETE FROM seen_deliveries WHERE seen_at < ?", (self._clock.time() - SEEN_RETENTION,)
        )

    async def ping(self) -> bool:
        async with self.db.execute("SELECT 1") as cursor:
            return await cursor.fetchone() is not None

    async def claim_delivery(self, key: str) -> bool:
        cursor = await self.db.execute(
            "INSERT OR IGNORE INTO seen_deliveries (key, seen_at) VALUES (?, ?)",
            (key, self._clock.time()),
        )
        return cursor.rowcount == 1

    async def get_thread(self, key: ThreadKey) -> ThreadState | None:
        async with self.db.execute(
            "SELECT last_response_id, last_image_call_id, last_file_ref FROM threads"
            " WHERE platform=? AND workspace=? AND channel=? AND thread=?",
            _key(key),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            return None
        return ThreadState(last_response_id=row[0], last_image_call_id=row[1], last_file_ref=row[2])

    async def is_thread(self, key: ThreadKey) -> bool:
        async with self.db.execute(
            "SELECT 1 FROM threads WHERE platform=? AND workspace=? AND channel=? AND thread=?",
            _key(key),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def open_thread(self, key: ThreadKey, *, started_by: str | None = None) -> None:
        now = self._clock.time()
        await self.db.execute(
            "INSERT OR IGNORE INTO threads (platform, workspace, channel, thread, started_by,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (*_key(key), started_by, now, now),
        )

    async def thread_starter(self, key: ThreadKey) -> str | None:
        async with self.db.execute(
            "SELECT started_by FROM threads WHERE platform=? AND workspace=? AND channel=?"
            " AND thread=?",
            _key(key),
        ) as cursor:
            row = await cursor.fetchone()
        return str(row[0]) if row and row[0] is not None else None

    # -- workspace settings and their audit ---------------------------------------------

    async def settings_overrides(self, platform: str, workspace: str) -> dict[str, Any]:
        async with self.db.execute(
            "SELECT field, value FROM workspace_settings WHERE platform=? AND workspace=?",
            (platform, workspace),
        ) as cursor:
            return {str(f): json.loads(v) for f, v in await cursor.fetchall()}

    async def save_settings(
        self,
        platform: str,
        workspace: str,
        *,
        user_id: str,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> None:
        """Store each field's new value and audit (old, new), all in one transaction."""
        now = self._clock.time()
        async with self.transaction():
            for field_name, (old, new) in changes.items():
                await self.db.execute(
                    "INSERT INTO workspace_settings (platform, workspace, field, value,"
                    " updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (platform, workspace, field) DO UPDATE SET"
                    " value=excluded.value, updated_by=excluded.updated_by,"
                    " updated_at=excluded.updated_at",
                    (platform, workspace, field_name, json.dumps(new), user_id, now),
                )
                await self.db.execute(
                    "INSERT INTO settings_audit (platform, workspace, user_id, field, old_value,"
                    " new_value, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        platform,
                        workspace,
                        user_id,
                        field_name,
                        json.dumps(old),
                        json.dumps(new),
                        now,
                    ),
                )

    async def settings_audit(self, platform: str, workspace: str) -> list[dict[str, Any]]:
        """Every settings change in the workspace, oldest first."""
        async with self.db.execute(
            "SELECT user_id, field, old_value, new_value, at FROM settings_audit"
            " WHERE platform=? AND workspace=? ORDER BY id",
            (platform, workspace),
        ) as cursor:
            rows = await cursor.fetchall()
        return [
            {"user_id": u, "field": f, "old": json.loads(o), "new": json.loads(n), "at": at}
            for u, f, o, n, at in rows
        ]

    # -- quotas and spend ---------------------------------------------------------------

    async def delivered_count(
        self, platform: str, workspace: str, user_id: str, *, since: float
    ) -> int:
        async with self.db.execute(
            "SELECT count(*) FROM turns WHERE platform=? AND workspace=? AND user_id=?"
            " AND status='delivered' AND ended_at >= ?",
            (platform, workspace, user_id, since),
        ) as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def spend(
        self, platform: str, workspace: str, *, since: float, by: str | None = None
    ) -> dict[str, tuple[int, float]]:
        """Delivered drawings and their estimated cost since `since`: in all (key ""), or by
        "user_id" or "channel"."""
        # The column comes from this fixed map, never from input.
        column = {"user_id": "user_id", "channel": "channel", None: "''"}[by]
        async with self.db.execute(
            f"SELECT {column}, count(*), coalesce(sum(cost_usd), 0) FROM turns"
            " WHERE platform=? AND workspace=? AND status='delivered' AND ended_at >= ?"
            f" GROUP BY {column} ORDER BY 3 DESC",
            (platform, workspace, since),
        ) as cursor:
            return {str(k): (int(n), float(c)) for k, n, c in await cursor.fetchall()}


def _key(key: ThreadKey) -> tuple[str, str, str, str]:
    return (key.platform, key.workspace, key.channel, key.thread)
