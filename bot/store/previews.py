"""Previews served at EASEL_PUBLIC_URL, until they expire: in memory for the one process on
SQLite, in the database for replicas on PostgreSQL (any replica answers for any preview)."""

from __future__ import annotations

from bot.clock import Clock
from bot.store.database import Database


class MemoryPreviews:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._images: dict[str, tuple[float, str, bytes]] = {}

    async def put(self, token: str, *, mime_type: str, data: bytes, ttl: float) -> None:
        now = self._clock.time()
        for old in [t for t, (until, _, _) in self._images.items() if until <= now]:
            del self._images[old]
        self._images[token] = (now + ttl, mime_type, data)

    async def get(self, token: str) -> tuple[str, bytes] | None:
        entry = self._images.get(token)
        if entry is None or entry[0] <= self._clock.time():
            return None
        return entry[1], entry[2]

    async def drop(self, token: str) -> None:
        self._images.pop(token, None)


class SqlPreviews:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def put(self, token: str, *, mime_type: str, data: bytes, ttl: float) -> None:
        now = self._clock.time()
        await self._db.execute("DELETE FROM previews WHERE expires_at <= ?", (now,))
        await self._db.execute(
            "INSERT INTO previews (token, mime_type, data, expires_at) VALUES (?, ?, ?, ?)",
            (token, mime_type, data, now + ttl),
        )

    async def get(self, token: str) -> tuple[str, bytes] | None:
        row = await self._db.one(
            "SELECT mime_type, data FROM previews WHERE token=? AND expires_at > ?",
            (token, self._clock.time()),
        )
        return (str(row[0]), bytes(row[1])) if row is not None else None

    async def drop(self, token: str) -> None:
        await self._db.execute("DELETE FROM previews WHERE token=?", (token,))
