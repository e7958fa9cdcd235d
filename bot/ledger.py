"""The turn ledger: each drawing turn's steps, and the outbox of finished images.

    queued -> drawing -> delivering -> delivered | failed | interrupted

A turn says `delivering` only once its image is in the outbox (bot.outbox), and its file is
removed only after the turn says `delivered` (or failed): a crash at any point leaves either an
image to deliver, or at most a stray file that the next start removes.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiosqlite

from bot.clock import Clock
from bot.models import DrawRequest, FinalImage, ImageOptions, StoredTurn, ThreadKey
from bot.outbox import Outbox

log = logging.getLogger(__name__)

UNFINISHED = ("queued", "drawing", "delivering")
_TURN_COLUMNS = (
    "id, status, platform, workspace, channel, thread, user_id, prompt, message, request, options"
)


class Ledger:
    """Turn methods of SqliteStore (bot.store), over its connection and clock."""

    _clock: Clock
    outbox: Outbox

    @property
    def db(self) -> aiosqlite.Connection:
        raise NotImplementedError

    def transaction(self) -> AbstractAsyncContextManager[None]:
        raise NotImplementedError

    async def begin_turn(
        self,
        request: DrawRequest,
        *,
        thread: ThreadKey,
        options: ImageOptions,
        status: str = "drawing",
        message: Mapping[str, Any] | None = None,
        inputs: Sequence[Mapping[str, Any]] = (),
    ) -> int:
        wanted = {
            "size": request.size,
            "quality": request.quality,
            "max_upload_bytes": request.max_upload_bytes,
            "inputs": list(inputs),
        }
        cursor = await self.db.execute(
            "INSERT INTO turns (platform, workspace, channel, thread, user_id, prompt, options,"
            " status, message, request, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                thread.platform,
                thread.workspace,
                thread.channel,
                thread.thread,
                request.user_id,
                request.prompt,
                json.dumps(dataclasses.asdict(options)),
                status,
                json.dumps(dict(message or {})),
                json.dumps(wanted),
                self._clock.time(),
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def set_status(self, turn_id: int, status: str) -> None:
        await self.db.execute("UPDATE turns SET status=? WHERE id=?", (status, turn_id))

    async def end_turn(
        self,
        turn_id: int,
        *,
        status: str,
        response_id: str | None = None,
        error_code: str | None = None,
        usage: Mapping[str, Any] | None = None,
        cost_usd: float | None = None,
    ) -> None:
        """End a turn that delivered nothing (failed, interrupted), dropping any held image."""
        await self._end(
            turn_id,
            status=status,
            response_id=response_id,
            error_code=error_code,
            usage=usage,
            cost_usd=cost_usd,
        )
        await self.outbox.drop(turn_id)

    async def _end(
        self,
        turn_id: int,
        *,
        status: str,
        response_id: str | None,
        error_code: str | None,
        usage: Mapping[str, Any] | None,
        cost_usd: float | None,
    ) -> None:
        await self.db.execute(
            "UPDATE turns SET status=?, response_id=?, error_code=?, usage=?, cost_usd=?,"
            " ended_at=? WHERE id=?",
            (
                status,
                response_id,
                error_code,
                json.dumps(dict(usage)) if usage is not None else None,
                cost_usd,
                self._clock.time(),
                turn_id,
            ),
        )

    async def hold(self, turn_id: int, final: FinalImage) -> None:
        """Keep the finished image (outbox), then mark the turn `delivering`: a turn that
        says so always has its image."""
        meta = dataclasses.asdict(final)
        del meta["data"]  # the bytes go to the outbox file, not through JSON
        meta["usage"] = dict(final.usage) if final.usage is not None else None
        await self.outbox.put(turn_id, final.data)
        await self.db.execute(
            "UPDATE turns SET status='delivering', response_id=?, final=? WHERE id=?",
            (final.response_id, json.dumps(meta), turn_id),
        )

    async def held(self, turn_id: int) -> FinalImage | None:
        """The finished image a turn still owes, if it owes one."""
        async with self.db.execute(
            "SELECT final FROM turns WHERE id=? AND status='delivering'", (turn_id,)
        ) as cursor:
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            return None
        data = await self.outbox.get(turn_id)
        if data is None:
            log.error("turn %d is delivering but its outbox file is gone", turn_id)
            return None
        return FinalImage(data=data, **json.loads(row[0]))

    async def outbox_size(self) -> int:
        return len(self.outbox.held())

    async def tidy_outbox(self) -> None:
        """Remove outbox files no delivering turn owns (a crash between two steps)."""
        async with self.db.execute("SELECT id FROM turns WHERE status='delivering'") as cursor:
            owed = [int(row[0]) for row in await cursor.fetchall()]
        self.outbox.forget_all_but(owed)

    async def complete_turn(
        self,
        turn_id: int,
        *,
        key: ThreadKey,
        final: FinalImage,
        file_ref: str,
        cost_usd: float | None,
    ) -> None:
        """The image is delivered: advance the thread, end the turn, empty its outbox."""
        async with self.transaction():
            await self.advance_thread(
                key,
                response_id=final.response_id,
                image_call_id=final.image_call_id,
                file_ref=file_ref,
            )
            await self._end(
                turn_id,
                status="delivered",
                response_id=final.response_id,
                error_code=None,
                usage=final.usage,
                cost_usd=cost_usd,
            )
        await self.outbox.drop(turn_id)

    async def advance_thread(
        self, key: ThreadKey, *, response_id: str, image_call_id: str, file_ref: str
    ) -> None:
        now = self._clock.time()
        await self.db.execute(
            "INSERT INTO threads (platform, workspace, channel, thread, last_response_id,"
            " last_image_call_id, last_file_ref, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (platform, workspace, channel, thread) DO UPDATE SET"
            " last_response_id=excluded.last_response_id,"
            " last_image_call_id=excluded.last_image_call_id,"
            " last_file_ref=excluded.last_file_ref, updated_at=excluded.updated_at",
            (
                key.platform,
                key.workspace,
                key.channel,
                key.thread,
                response_id,
                image_call_id,
                file_ref,
                now,
                now,
            ),
        )

    async def stored_turn(self, turn_id: int) -> StoredTurn | None:
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns WHERE id=?", (turn_id,)
        ) as cursor:
            row = await cursor.fetchone()
        return _stored(row) if row is not None else None

    async def unfinished_turns(self) -> list[StoredTurn]:
        """Turns a previous run left queued, drawing or delivering, oldest first."""
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns"
            " WHERE status IN ('queued', 'drawing', 'delivering') ORDER BY id"
        ) as cursor:
            return [_stored(row) for row in await cursor.fetchall()]

    async def last_interrupted(self, key: ThreadKey) -> StoredTurn | None:
        """The thread's latest turn, when it was interrupted (what "retry" retries)."""
        async with self.db.execute(
            f"SELECT {_TURN_COLUMNS} FROM turns WHERE platform=? AND workspace=? AND channel=?"
            " AND thread=? ORDER BY id DESC LIMIT 1",
            (key.platform, key.workspace, key.channel, key.thread),
        ) as cursor:
            row = await cursor.fetchone()
        turn = _stored(row) if row is not None else None
        return turn if turn is not None and turn.status == "interrupted" else None

    async def turns(self, key: ThreadKey) -> list[dict[str, Any]]:
        """The thread's turns, oldest first (for operators and tests)."""
        self.db.row_factory = aiosqlite.Row
        try:
            async with self.db.execute(
                "SELECT * FROM turns WHERE platform=? AND workspace=? AND channel=? AND thread=?"
                " ORDER BY id",
                (key.platform, key.workspace, key.channel, key.thread),
            ) as cursor:
                return [dict(row) for row in await cursor.fetchall()]
        finally:
            self.db.row_factory = None


def _stored(row: Any) -> StoredTurn:
    turn_id, status, platform, workspace, channel, thread, user_id, prompt, message, request = row[
        :10
    ]
    wanted = json.loads(request) if request else {}
    return StoredTurn(
        id=int(turn_id),
        status=str(status),
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
