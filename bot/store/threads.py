"""Threads easel started and what their next turn continues from; deliveries already seen."""

from __future__ import annotations

from bot.clock import Clock
from bot.models import ThreadKey, ThreadState
from bot.store.database import Database, Statements

SEEN_RETENTION = 7 * 24 * 3600.0  # seconds a platform delivery id is remembered
WHERE_KEY = "platform=? AND workspace=? AND channel=? AND thread=?"


def key_params(key: ThreadKey) -> tuple[str, str, str, str]:
    return (key.platform, key.workspace, key.channel, key.thread)


class SqlClaims:
    """Implements bot.ports.Claims."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def claim(self, key: str, *, stale_after: float | None = None) -> bool:
        now = self._clock.time()
        if stale_after is None:
            sql = "INSERT INTO seen_deliveries (key, seen_at) VALUES (?, ?) ON CONFLICT DO NOTHING"
            return await self._db.execute(sql, (key, now)) == 1
        return (
            await self._db.execute(
                "INSERT INTO seen_deliveries (key, seen_at) VALUES (?, ?) ON CONFLICT (key)"
                " DO UPDATE SET seen_at=excluded.seen_at WHERE seen_deliveries.seen_at < ?",
                (key, now, now - stale_after),
            )
            == 1
        )

    async def forget_old(self) -> None:
        """Slack retries a delivery for minutes, not days: older keys are dead weight."""
        await self._db.execute(
            "DELETE FROM seen_deliveries WHERE seen_at < ?", (self._clock.time() - SEEN_RETENTION,)
        )


class SqlThreads:
    """Implements bot.ports.Threads."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def get(self, key: ThreadKey) -> ThreadState | None:
        row = await self._db.one(
            "SELECT last_response_id, last_image_call_id, last_file_ref FROM threads"
            f" WHERE {WHERE_KEY}",
            key_params(key),
        )
        if row is None or row[0] is None:
            return None
        return ThreadState(last_response_id=row[0], last_image_call_id=row[1], last_file_ref=row[2])

    async def is_easels(self, key: ThreadKey) -> bool:
        return (
            await self._db.one(f"SELECT 1 FROM threads WHERE {WHERE_KEY}", key_params(key))
            is not None
        )

    async def open(self, key: ThreadKey, *, started_by: str | None = None) -> None:
        now = self._clock.time()
        await self._db.execute(
            "INSERT INTO threads (platform, workspace, channel, thread, started_by,"
            " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (*key_params(key), started_by, now, now),
        )

    async def starter(self, key: ThreadKey) -> str | None:
        row = await self._db.one(
            f"SELECT started_by FROM threads WHERE {WHERE_KEY}", key_params(key)
        )
        return str(row[0]) if row and row[0] is not None else None

    async def advance(
        self,
        key: ThreadKey,
        *,
        response_id: str,
        image_call_id: str,
        file_ref: str,
        on: Statements | None = None,
    ) -> None:
        """The thread's next turn continues from this image (its first makes the thread);
        `on`: the transaction to write it in."""
        now = self._clock.time()
        await (on or self._db).execute(
            "INSERT INTO threads (platform, workspace, channel, thread, last_response_id,"
            " last_image_call_id, last_file_ref, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (platform, workspace, channel, thread) DO UPDATE SET"
            " last_response_id=excluded.last_response_id,"
            " last_image_call_id=excluded.last_image_call_id,"
            " last_file_ref=excluded.last_file_ref, updated_at=excluded.updated_at",
            (*key_params(key), response_id, image_call_id, file_ref, now, now),
        )
