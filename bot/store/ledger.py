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
from collections.abc import Mapping, Sequence
from typing import Any

from bot.clock import Clock
from bot.models import DrawRequest, FinalImage, Held, ImageOptions, StoredTurn, ThreadKey
from bot.store.database import SqliteDatabase
from bot.store.outbox import Outbox
from bot.store.threads import SqliteThreads, key_params
from bot.turns.status import UNFINISHED, IllegalMove, TurnStatus, check_first, sources

log = logging.getLogger(__name__)

_TURN_COLUMNS = (
    "id, status, platform, workspace, channel, thread, user_id, prompt, message, request, options"
)


def _marks(values: Sequence[object]) -> str:
    return ", ".join("?" for _ in values)


class SqliteLedger:
    """Implements bot.ports.Ledger over the store's connection."""

    def __init__(
        self, db: SqliteDatabase, *, threads: SqliteThreads, outbox: Outbox, clock: Clock
    ) -> None:
        self._db = db
        self._threads = threads
        self.outbox = outbox
        self._clock = clock

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
            " status, message, request, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                *key_params(thread),
                request.user_id,
                request.prompt,
                json.dumps(dataclasses.asdict(options)),
                check_first(status),
                json.dumps(dict(message)),
                json.dumps(wanted),
                self._clock.time(),
            ),
        )

    async def move(self, turn_id: int, status: TurnStatus) -> None:
        await self._move(turn_id, status)

    async def _move(self, turn_id: int, status: TurnStatus, **columns: Any) -> None:
        """Set the status (and `columns`) when the table allows the move from where it is."""
        allowed = sources(status)
        assignments = "".join(f", {name}=?" for name in columns)
        changed = await self._db.execute(
            f"UPDATE turns SET status=?{assignments} WHERE id=? AND status IN ({_marks(allowed)})",
            (status, *columns.values(), turn_id, *allowed),
        )
        if changed != 1:
            row = await self._db.one("SELECT status FROM turns WHERE id=?", (turn_id,))
            where = f"from {row[0]}" if row else "(no such turn)"
            raise IllegalMove(f"turn {turn_id} cannot move to {status} {where}")

    async def end(self, turn_id: int, *, status: TurnStatus, error_code: str) -> None:
        await self._move(turn_id, status, error_code=error_code, ended_at=self._clock.time())
        await self.outbox.drop(turn_id)

    async def hold(self, turn_id: int, final: FinalImage) -> None:
        meta = dataclasses.asdict(final)
        del meta["data"]  # the bytes go to the outbox file, not through JSON
        meta["usage"] = dict(final.usage) if final.usage is not None else None
        await self.outbox.put(turn_id, final.data)
        await self._move(
            turn_id,
            TurnStatus.DELIVERING,
            response_id=final.response_id,
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
        async with self._db.transaction():
            changed = await self._db.execute(
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
            )

    async def complete(self, turn_id: int, *, final: FinalImage, cost_usd: float | None) -> None:
        await self._move(
            turn_id,
            TurnStatus.DELIVERED,
            response_id=final.response_id,
            usage=json.dumps(dict(final.usage)) if final.usage is not None else None,
            cost_usd=cost_usd,
            ended_at=self._clock.time(),
        )
        await self.outbox.drop(turn_id)

    async def get(self, turn_id: int) -> StoredTurn | None:
        row = await self._db.one(f"SELECT {_TURN_COLUMNS} FROM turns WHERE id=?", (turn_id,))
        return _stored(row) if row is not None else None

    async def unfinished(self) -> list[StoredTurn]:
        rows = await self._db.all(
            f"SELECT {_TURN_COLUMNS} FROM turns WHERE status IN ({_marks(UNFINISHED)}) ORDER BY id",
            UNFINISHED,
        )
        return [_stored(row) for row in rows]

    async def last_interrupted(self, key: ThreadKey) -> StoredTurn | None:
        row = await self._db.one(
            f"SELECT {_TURN_COLUMNS} FROM turns WHERE platform=? AND workspace=? AND channel=?"
            " AND thread=? ORDER BY id DESC LIMIT 1",
            key_params(key),
        )
        turn = _stored(row) if row is not None else None
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
        self.outbox.forget_all_but(int(row[0]) for row in rows)


def _stored(row: Any) -> StoredTurn:
    turn_id, status, platform, workspace, channel, thread, user_id, prompt, message = row[:9]
    wanted = json.loads(row[9]) if row[9] else {}
    return StoredTurn(
        id=int(turn_id),
        status=TurnStatus(status),
        key=ThreadKey(platform, workspace, channel, thread),
        user_id=str(user_id),
        prompt=str(prompt),
        message=json.loads(message) if message else {},
        inputs=tuple(wanted.get("inputs") or ()),
        size=wanted.get("size"),
        quality=wanted.get("quality"),
        max_upload_bytes=wanted.get("max_upload_bytes"),
        options=ImageOptions(**json.loads(row[10])),
    )
