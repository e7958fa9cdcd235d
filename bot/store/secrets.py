"""Keys easel creates once and keeps in its database."""

from __future__ import annotations

import secrets

from bot.clock import Clock
from bot.store.database import Database

KEY_BYTES = 32


class SqlSecrets:
    """Implements bot.ports.Secrets."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def key(self, name: str) -> bytes:
        await self._db.execute(
            "INSERT INTO secrets (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (name, secrets.token_bytes(KEY_BYTES), self._clock.time()),
        )
        row = await self._db.one("SELECT value FROM secrets WHERE name=?", (name,))
        return bytes(row[0])
