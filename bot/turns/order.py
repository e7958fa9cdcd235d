"""Turns in one thread run one after another, in the order they arrived.

Each submitted turn takes a Place behind the thread's last one, synchronously, in arrival
order. A place says when the turn before it has posted its message (so placeholders appear in
order too) and when it has ended (so the next one draws from its image).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.models import ThreadKey


@dataclass(eq=False)
class Place:
    """One turn's place in its thread."""

    key: ThreadKey | None = None  # None until a new drawing's thread exists
    before: Place | None = None
    posted: asyncio.Event = field(default_factory=asyncio.Event)
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def waiting(self) -> bool:
        """An earlier turn of the thread is still running."""
        return self.before is not None and not self.before.ended.is_set()

    async def wait_posted_before(self) -> None:
        if self.before is not None:
            await self.before.posted.wait()

    async def wait_turn(self) -> None:
        if self.before is not None:
            await self.before.ended.wait()


class ThreadOrder:
    """The last place of each thread with a turn queued or running, in this process."""

    def __init__(self) -> None:
        self._last: dict[ThreadKey, Place] = {}

    def take(self, key: ThreadKey | None) -> Place:
        """A place behind the thread's last one (a new drawing has no thread yet)."""
        place = Place(key=key, before=self._last.get(key) if key is not None else None)
        if key is not None:
            self._last[key] = place
        return place

    def adopt(self, key: ThreadKey, place: Place) -> None:
        """A new drawing's thread is known once its message is posted: later replies to it
        queue behind it (unless something is queued there already)."""
        place.key = key
        self._last.setdefault(key, place)

    def leave(self, place: Place) -> None:
        """The turn ended (or never started): the turn after it may go."""
        place.posted.set()
        place.ended.set()
        if place.key is not None and self._last.get(place.key) is place:
            del self._last[place.key]
