"""A clock that tests move by hand: quotas across midnight, tokens past their lifetime."""

from __future__ import annotations

import time
from datetime import datetime


class ManualClock:
    def __init__(self, start: datetime | None = None) -> None:
        self._wall = start.timestamp() if start is not None else time.time()
        self._offset = 0.0

    def time(self) -> float:
        return self._wall + self._offset

    def monotonic(self) -> float:
        # Real monotonic time still passes, so intervals inside a turn behave as in production.
        return time.monotonic() + self._offset

    def set(self, when: datetime) -> None:
        """Jump the wall clock to `when` (monotonic time moves by the same amount)."""
        self._offset += when.timestamp() - self.time()

    def advance(self, seconds: float) -> None:
        self._offset += seconds
