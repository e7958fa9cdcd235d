"""Time, as one injectable object: wall time for quotas and records, monotonic for deadlines."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the epoch (wall clock, UTC)."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back, for deadlines and intervals."""
        ...


class SystemClock:
    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


def utc(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock.time(), UTC)
