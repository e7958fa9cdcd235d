"""The outbox: finished images kept until the chat platform has them.

With SQLite, one file per turn in a folder beside the database: written off the event loop,
under a temporary name and renamed into place, so a file that exists is whole (a 2-3 MB image
takes a few milliseconds in any thread, where a blob would queue behind every other statement
on the store's one connection). With PostgreSQL, a table in the database every replica shares:
any replica can deliver any image.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from bot.store.database import Database

log = logging.getLogger(__name__)


class Outbox(Protocol):
    async def put(self, turn_id: int, data: bytes) -> None: ...

    async def get(self, turn_id: int) -> bytes | None: ...

    async def drop(self, turn_id: int) -> None: ...

    async def held(self) -> list[int]:
        """The turns whose images are here."""
        ...

    async def forget_all_but(self, keep: Iterable[int]) -> None:
        """Remove what a crash left between keeping an image and marking its turn (or between
        marking a turn delivered and removing its image)."""


class FileOutbox:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, turn_id: int) -> Path:
        return self.folder / f"{turn_id:d}.image"

    async def put(self, turn_id: int, data: bytes) -> None:
        await asyncio.to_thread(self._write, self._path(turn_id), data)

    def _write(self, path: Path, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        with partial.open("wb") as file:
            file.write(data)
        os.replace(partial, path)

    async def get(self, turn_id: int) -> bytes | None:
        try:
            return await asyncio.to_thread(self._path(turn_id).read_bytes)
        except FileNotFoundError:
            return None

    async def drop(self, turn_id: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(turn_id).unlink)

    async def held(self) -> list[int]:
        if not self.folder.is_dir():
            return []
        return sorted(int(p.stem) for p in self.folder.glob("*.image") if p.stem.isdigit())

    async def forget_all_but(self, keep: Iterable[int]) -> None:
        wanted = set(keep)
        for turn_id in await self.held():
            if turn_id not in wanted:
                log.info("removing the outbox file of turn %d: it is owed to no one", turn_id)
                self._path(turn_id).unlink(missing_ok=True)
        if self.folder.is_dir():
            for partial in self.folder.glob("*.partial"):
                partial.unlink(missing_ok=True)


class SqlOutbox:
    """The outbox as a table (PostgreSQL): one row per turn that owes an image."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def put(self, turn_id: int, data: bytes) -> None:
        await self._db.execute(
            "INSERT INTO outbox (turn_id, data) VALUES (?, ?)"
            " ON CONFLICT (turn_id) DO UPDATE SET data=excluded.data",
            (turn_id, data),
        )

    async def get(self, turn_id: int) -> bytes | None:
        row = await self._db.one("SELECT data FROM outbox WHERE turn_id=?", (turn_id,))
        return bytes(row[0]) if row is not None else None

    async def drop(self, turn_id: int) -> None:
        await self._db.execute("DELETE FROM outbox WHERE turn_id=?", (turn_id,))

    async def held(self) -> list[int]:
        return [int(r[0]) for r in await self._db.all("SELECT turn_id FROM outbox ORDER BY 1")]

    async def forget_all_but(self, keep: Iterable[int]) -> None:
        for turn_id in set(await self.held()) - set(keep):
            log.info("removing the outbox image of turn %d: it is owed to no one", turn_id)
            await self.drop(turn_id)
