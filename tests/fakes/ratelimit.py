"""A token bucket, as services meter a method: a burst of `capacity` calls, then `per_second`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable


class TokenBucket:
    """`take()` spends a token, or says how long until one is there. The clock is injectable."""

    def __init__(
        self,
        *,
        capacity: float,
        per_second: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.capacity = capacity
        self.per_second = per_second
        self._clock = clock
        self._tokens = capacity
        self._updated = clock()

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    def take(self) -> float | None:
        """None when a token was spent; else the seconds until the next token."""
        self._refill()
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / self.per_second

    def retry_after(self) -> int | None:
        """`take()` as a `Retry-After` value in whole seconds (at least 1), or None."""
        wait = self.take()
        return None if wait is None else max(1, math.ceil(wait))

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.per_second)
        self._updated = now
