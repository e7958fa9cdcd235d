"""The outbox: finished images kept as files until the chat platform has them.

One file per turn, named by the turn's id, in a folder beside the database. Written off the
event loop, under a temporary name and renamed into place, so a file that exists is whole.
Files, not database blobs: writing a 2-3 MB image takes a few milliseconds in any thread,
where a blob would queue behind every other statement on the store's one connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)


class Outbox:
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

    def held(self) -> list[int]:
        """The turns whose images are here."""
        if not self.folder.is_dir():
            return []
        return sorted(int(p.stem) for p in self.folder.glob("*.image") if p.stem.isdigit())

    def forget_all_but(self, keep: Iterable[int]) -> None:
        """Remove what a crash left between writing a file and marking its turn (or between
        marking a turn delivered and removing its file)."""
        wanted = set(keep)
        for turn_id in self.held():
            if turn_id not in wanted:
                log.info("removing the outbox file of turn %d: it is owed to no one", turn_id)
                self._path(turn_id).unlink(missing_ok=True)
        if self.folder.is_dir():
            for partial in self.folder.glob("*.partial"):
                partial.unlink(missing_ok=True)
