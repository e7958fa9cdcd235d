"""Each workspace's settings (with their audit) and what its drawings cost."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from bot.clock import Clock
from bot.store.database import Database
from bot.turns.status import TurnStatus


class SqlSettings:
    """Implements bot.ports.SettingsStore."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def overrides(self, platform: str, workspace: str) -> dict[str, Any]:
        rows = await self._db.all(
            "SELECT field, value FROM workspace_settings WHERE platform=? AND workspace=?",
            (platform, workspace),
        )
        return {str(f): json.loads(v) for f, v in rows}

    async def save(
        self,
        platform: str,
        workspace: str,
        *,
        user_id: str,
        changes: Mapping[str, tuple[Any, Any]],
    ) -> None:
        now = self._clock.time()
        async with self._db.transaction() as tx:
            for field_name, (old, new) in changes.items():
                await tx.execute(
                    "INSERT INTO workspace_settings (platform, workspace, field, value,"
                    " updated_by, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
                    " ON CONFLICT (platform, workspace, field) DO UPDATE SET"
                    " value=excluded.value, updated_by=excluded.updated_by,"
                    " updated_at=excluded.updated_at",
                    (platform, workspace, field_name, json.dumps(new), user_id, now),
                )
                await tx.execute(
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

    async def chosen(self, field_names: Sequence[str]) -> list[tuple[str, str, str, Any]]:
        if not field_names:
            return []
        marks = ", ".join("?" * len(field_names))
        rows = await self._db.all(
            "SELECT platform, workspace, field, value FROM workspace_settings"
            f" WHERE field IN ({marks}) ORDER BY platform, workspace, field",
            tuple(field_names),
        )
        return [(str(p), str(w), str(f), json.loads(v)) for p, w, f, v in rows]

    async def audit(self, platform: str, workspace: str) -> list[dict[str, Any]]:
        """Every settings change in the workspace, oldest first."""
        rows = await self._db.all(
            "SELECT user_id, field, old_value, new_value, at FROM settings_audit"
            " WHERE platform=? AND workspace=? ORDER BY id",
            (platform, workspace),
        )
        return [
            {"user_id": u, "field": f, "old": json.loads(o), "new": json.loads(n), "at": at}
            for u, f, o, n, at in rows
        ]


class SqlUsage:
    """Implements bot.ports.Usage: only delivered drawings count."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def delivered_count(
        self, platform: str, workspace: str, user_id: str, *, since: float
    ) -> int:
        row = await self._db.one(
            "SELECT count(*) FROM turns WHERE platform=? AND workspace=? AND user_id=?"
            " AND status=? AND ended_at >= ?",
            (platform, workspace, user_id, TurnStatus.DELIVERED, since),
        )
        return int(row[0]) if row else 0

    async def spend(
        self, platform: str, workspace: str, *, since: float, by: str | None = None
    ) -> dict[str, tuple[int, float]]:
        # The column comes from this fixed map, never from input.
        column = {"user_id": "user_id", "channel": "channel", None: "''"}[by]
        rows = await self._db.all(
            f"SELECT {column}, count(*), coalesce(sum(cost_usd), 0) FROM turns"
            " WHERE platform=? AND workspace=? AND status=? AND ended_at >= ?"
            f" GROUP BY {column} ORDER BY 3 DESC",
            (platform, workspace, TurnStatus.DELIVERED, since),
        )
        return {str(k): (int(n), float(c)) for k, n, c in rows}
