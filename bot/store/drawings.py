"""Finished drawings and the buttons pressed on them: the turns each action drew from a
drawing, and a drawing deleted (the thread then goes on from its last image not deleted)."""

from __future__ import annotations

from bot.clock import Clock
from bot.models import Action, ThreadKey
from bot.store.database import Database, Statements
from bot.store.ledger import topic
from bot.store.threads import WHERE_KEY, key_params
from bot.turns.status import UNFINISHED, TurnStatus


class SqlDrawings:
    """Implements bot.ports.Drawings."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def pressed(self, origin: int, action: Action) -> tuple[int, int]:
        """(unfinished, finished): the turns `action` drew from drawing `origin`."""
        marks = ", ".join("?" for _ in UNFINISHED)
        row = await self._db.one(
            f"SELECT coalesce(sum(CASE WHEN status IN ({marks}) THEN 1 ELSE 0 END), 0),"
            f" coalesce(sum(CASE WHEN status IN ({marks}) THEN 0 ELSE 1 END), 0)"
            " FROM turns WHERE origin=? AND action=?",
            (*UNFINISHED, *UNFINISHED, origin, action),
        )
        return int(row[0]), int(row[1])

    async def delete(self, turn_id: int, *, by: str) -> bool:
        """Mark a delivered drawing deleted by `by` (it stays delivered: it was paid for);
        False when it is not delivered or was deleted already. When it was the image its
        thread goes on from, the thread goes on from its last image not deleted instead (or
        from none)."""
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE turns SET deleted_by=?, deleted_at=? WHERE id=? AND status=?"
                " AND deleted_at IS NULL",
                (by, self._clock.time(), turn_id, TurnStatus.DELIVERED),
            )
            if changed != 1:
                return False
            row = await tx.one(
                "SELECT platform, workspace, channel, thread, file_ref FROM turns WHERE id=?",
                (turn_id,),
            )
            key = ThreadKey(*row[:4])
            await self._rewind(tx, key, deleted_file=row[4])
        await self._db.notify(topic(key))
        return True

    async def image_of(self, key: ThreadKey, response_id: str) -> str | None:
        row = await self._db.one(
            f"SELECT file_ref FROM turns WHERE {WHERE_KEY} AND response_id=? AND status=?"
            " AND deleted_at IS NULL AND file_ref IS NOT NULL ORDER BY id DESC LIMIT 1",
            (*key_params(key), response_id, TurnStatus.DELIVERED),
        )
        return None if row is None else str(row[0])

    async def _rewind(self, tx: Statements, key: ThreadKey, *, deleted_file: str | None) -> None:
        head = await tx.one(f"SELECT last_file_ref FROM threads WHERE {WHERE_KEY}", key_params(key))
        if head is None or deleted_file is None or head[0] != deleted_file:
            return  # the thread goes on from another image
        last = await tx.one(
            f"SELECT response_id, image_call_id, file_ref FROM turns WHERE {WHERE_KEY}"
            " AND status=? AND deleted_at IS NULL AND file_ref IS NOT NULL"
            " AND response_id IS NOT NULL ORDER BY id DESC LIMIT 1",
            (*key_params(key), TurnStatus.DELIVERED),
        )
        response_id, image_call_id, file_ref = last if last is not None else (None, None, None)
        await tx.execute(
            "UPDATE threads SET last_response_id=?, last_image_call_id=?, last_file_ref=?,"
            f" updated_at=? WHERE {WHERE_KEY}",
            (response_id, image_call_id, file_ref, self._clock.time(), *key_params(key)),
        )
