"""The turn ledger: each drawing turn's steps, and the outbox of finished images.

A turn says `delivering` only once its image is in the outbox (bot.store.outbox), and its file
is removed only after the turn says `delivered` (or failed): a crash at any point leaves either
an image to deliver, or at most a stray file that the next start removes. Every status is
written by `_move`, which allows only the moves of bot.turns.status, in the same statement.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from bot.clock import Clock
from bot.errors import StoreUnavailable
from bot.models import DrawRequest, FinalImage, Held, ImageOptions, StoredTurn, ThreadKey
from bot.store.database import Database
from bot.store.outbox import Outbox
from bot.store.replicas import SqlReplicas
from bot.store.threads import WHERE_KEY, SqlThreads, key_params
from bot.store.turn_rows import TURN_COLUMNS, marks, stored
from bot.turns.status import UNFINISHED, IllegalMove, TurnStatus, check_first, sources

log = logging.getLogger(__name__)


class SqlLedger:
    """Implements bot.ports.Ledger over the store's connection."""

    def __init__(
        self,
        db: Database,
        *,
        threads: SqlThreads,
        outbox: Outbox,
        clock: Clock,
        replicas: SqlReplicas,
    ) -> None:
        self._db = db
        self._threads = threads
        self.outbox = outbox
        self._clock = clock
        self._replicas = replicas

    async def begin(
        self,
        request: DrawRequest,
        *,
        thread: ThreadKey,
        options: ImageOptions,
        status: TurnStatus,
        message: Mapping[str, Any],
        inputs: Sequence[Mapping[str, Any]],
    ) -> int:
        wanted = {
            "size": request.size,
            "quality": request.quality,
            "max_upload_bytes": request.max_upload_bytes,
            "inputs": list(inputs),
        }
        return await self._db.insert(
            "INSERT INTO turns (platform, workspace, channel, thread, user_id, prompt, options,"
            " status, message, request, started_at, owner, action, origin)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
            (
                *key_params(thread),
                request.user_id,
                request.prompt,
                json.dumps(dataclasses.asdict(options)),
                check_first(status),
                json.dumps(dict(message)),
                json.dumps(wanted),
                self._clock.time(),
                self._replicas.replica,
                request.action,
                request.origin,
            ),
        )

    async def posted(self, turn_id: int, message: Mapping[str, Any]) -> None:
        await self._db.execute(
            "UPDATE turns SET message=? WHERE id=?", (json.dumps(dict(message)), turn_id)
        )

    async def earlier_active(self, turn_id: int, key: ThreadKey) -> bool:
        """An earlier turn of the thread is queued, drawing, or delivering with its file not
        in the thread yet: this one must wait for it."""
        row = await self._db.one(
            f"SELECT 1 FROM turns WHERE {WHERE_KEY} AND id < ? AND (status IN (?, ?)"
            " OR (status=? AND file_ref IS NULL)) LIMIT 1",
            (
                *key_params(key),
                turn_id,
                TurnStatus.QUEUED,
                TurnStatus.DRAWING,
                TurnStatus.DELIVERING,
            ),
        )
        return row is not None

    async def wait_turn(self, turn_id: int, key: ThreadKey, *, poll: float = 1.0) -> None:
        """Return once no earlier turn of the thread holds it up, wherever it runs: woken by
        every move in the thread, and looking again every `poll` seconds regardless (also
        while the database is away: the turn waits on)."""
        while True:
            try:
                if not await self.earlier_active(turn_id, key):
                    return
            except StoreUnavailable as exc:
                log.info("turn %d waits for the database: %s", turn_id, exc.detail)
            await self._db.changed(topic(key), within=poll)

    async def move(self, turn_id: int, status: TurnStatus) -> None:
        await self._move(turn_id, status)

    async def _move(self, turn_id: int, status: TurnStatus, **columns: Any) -> None:
        """Set the status (and `columns`) when the table allows the move from where it is."""
        allowed = sources(status)
        assignments = "".join(f", {name}=?" for name in columns)
        moved = allowed and await self._db.one(
            f"UPDATE turns SET status=?{assignments} WHERE id=? AND status IN ({marks(allowed)})"
            " RETURNING platform, workspace, channel, thread",
            (status, *columns.values(), turn_id, *allowed),
        )
        if not moved:
            row = await self._db.one("SELECT status FROM turns WHERE id=?", (turn_id,))
            where = f"from {row[0]}" if row else "(no such turn)"
            raise IllegalMove(f"turn {turn_id} cannot move to {status} {where}")
        await self._wake(ThreadKey(*moved))

    async def _wake(self, key: ThreadKey) -> None:
        """Wake the thread's waiters after a move that is done: at best, since they look
        again every second anyway (the move stands when the database fails to say it)."""
        try:
            await self._db.notify(topic(key))
        except StoreUnavailable as exc:
            log.info("could not wake the waiters in %s: %s", key, exc.detail)

    async def _drop(self, turn_id: int) -> None:
        """Remove an image no longer owed, after the turn's move that says so; when the
        database is away, the next start removes it (tidy_outbox)."""
        try:
            await self.outbox.drop(turn_id)
        except StoreUnavailable as exc:
            log.warning("turn %d: its image stays in the outbox for now: %s", turn_id, exc.detail)

    async def end(self, turn_id: int, *, status: TurnStatus, error_code: str) -> None:
        await self._move(turn_id, status, error_code=error_code, ended_at=self._clock.time())
        await self._drop(turn_id)

    async def hold(self, turn_id: int, final: FinalImage, *, drawn_from: str | None = None) -> None:
        meta = dataclasses.asdict(final)
        del meta["data"]  # the bytes go to the outbox file, not through JSON
        meta["usage"] = dict(final.usage) if final.usage is not None else None
        await self.outbox.put(turn_id, final.data)
        await self._move(
            turn_id,
            TurnStatus.DELIVERING,
            response_id=final.response_id,
            image_call_id=final.image_call_id,
            drawn_from=drawn_from,
            final=json.dumps(meta),
        )

    async def held(self, turn_id: int) -> Held | None:
        row = await self._db.one(
            "SELECT final, file_ref FROM turns WHERE id=? AND status=?",
            (turn_id, TurnStatus.DELIVERING),
        )
        if row is None or row[0] is None:
            return None
        data = await self.outbox.get(turn_id)
        if data is None:
            log.error("turn %d is delivering but its outbox file is gone", turn_id)
            return None
        return Held(final=FinalImage(data=data, **json.loads(row[0])), file_ref=row[1])

    async def placed(
        self, turn_id: int, *, key: ThreadKey, final: FinalImage, file_ref: str
    ) -> None:
        async with self._db.transaction() as tx:
            changed = await tx.execute(
                "UPDATE turns SET file_ref=? WHERE id=? AND status=?",
                (file_ref, turn_id, TurnStatus.DELIVERING),
            )
            if changed != 1:
                raise IllegalMove(f"turn {turn_id} is not delivering: its file cannot be placed")
            await self._threads.advance(
                key,
                response_id=final.response_id,
                image_call_id=final.image_call_id,
                file_ref=file_ref,
                on=tx,
            )
        await self._wake(key)

    async def complete(
        self,
        turn_id: int,
        *,
        final: FinalImage,
        cost_usd: float | None,
        image_size: str | None = None,
    ) -> None:
        await self._move(
            turn_id,
            TurnStatus.DELIVERED,
            response_id=final.response_id,
            image_size=image_size,
            usage=json.dumps(dict(final.usage)) if final.usage is not None else None,
            cost_usd=cost_usd,
            ended_at=self._clock.time(),
        )
        await self._drop(turn_id)

    async def get(self, turn_id: int) -> StoredTurn | None:
        row = await self._db.one(f"SELECT {TURN_COLUMNS} FROM turns WHERE id=?", (turn_id,))
        return stored(row) if row is not None else None

    async def unfinished(self) -> list[StoredTurn]:
        rows = await self._db.all(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE status IN ({marks(UNFINISHED)}) ORDER BY id",
            UNFINISHED,
        )
        return [stored(row) for row in rows]

    async def take_over(self, *, running: Collection[int]) -> list[StoredTurn]:
        """Unfinished turns no live replica runs, made this replica's, oldest first: those
        whose owner stopped renewing its lease (one atomic statement: two replicas never take
        the same turn), and this replica's own, begun a lease ago or more, that no task of it
        runs (`running`)."""
        alive, params = self._replicas.alive()
        me = self._replicas.replica
        skip = " FOR UPDATE SKIP LOCKED" if self._db.engine == "postgres" else ""
        taken = await self._db.all(
            f"UPDATE turns SET owner=? WHERE id IN (SELECT id FROM turns"
            f" WHERE status IN ({marks(UNFINISHED)}) AND (owner IS NULL OR owner NOT IN"
            f" ({alive})){skip}) RETURNING {TURN_COLUMNS}",
            (me, *UNFINISHED, *params),
        )
        settled = self._clock.time() - self._replicas.lease_seconds  # not one just begun
        mine = await self._db.all(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE status IN ({marks(UNFINISHED)})"
            " AND owner=? AND started_at < ?",
            (*UNFINISHED, me, settled),
        )
        orphans = [row for row in mine if int(row[0]) not in running]
        turns = {int(row[0]): stored(row) for row in (*taken, *orphans)}
        return [turns[turn_id] for turn_id in sorted(turns)]

    async def last_interrupted(self, key: ThreadKey) -> StoredTurn | None:
        row = await self._db.one(
            f"SELECT {TURN_COLUMNS} FROM turns WHERE platform=? AND workspace=? AND channel=?"
            " AND thread=? ORDER BY id DESC LIMIT 1",
            key_params(key),
        )
        turn = stored(row) if row is not None else None
        return turn if turn is not None and turn.status is TurnStatus.INTERRUPTED else None

    async def turns(self, key: ThreadKey) -> list[dict[str, Any]]:
        """The thread's turns as stored, oldest first (for operators and tests)."""
        return await self._db.dicts(
            "SELECT * FROM turns WHERE platform=? AND workspace=? AND channel=? AND thread=?"
            " ORDER BY id",
            key_params(key),
        )

    async def tidy_outbox(self) -> None:
        """Remove outbox files no delivering turn owns (a crash between two steps)."""
        rows = await self._db.all("SELECT id FROM turns WHERE status=?", (TurnStatus.DELIVERING,))
        await self.outbox.forget_all_but(int(row[0]) for row in rows)


def topic(key: ThreadKey) -> str:
    """What waiters on a thread's turns listen to."""
    return f"turns:{key}"
