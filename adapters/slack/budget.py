"""chat.update's allowance in one workspace, spent where it matters.

Slack meters `chat.update` per workspace (Tier 3: about 50 a minute, with short bursts) and
answers 429 `ratelimited` with `Retry-After` beyond it. A burst of drawings in one workspace
asks for more edits than that, so each workspace has an EditBudget: a token bucket mirroring
Tier 3 that learns from Slack's 429s, spent in this order:

1. edits that must land (each message's final image, its error or Retry button) wait for a
   token, in arrival order, ahead of every preview;
2. a preview edit (or a passing line such as "drawing…") takes a token only when one is
   spare: no must-edit is waiting and the bucket keeps one for each message still owed its
   final (up to the bucket's size less one: a full bucket would waste its refill). Otherwise
   the frame is dropped, never queued; the next, fresher frame may find one.

One token is always kept in hand (MARGIN), so that Slack's bucket does not run dry before
this one does.

A 429 empties the bucket, nothing is edited before its Retry-After has passed, and the bucket
shrinks to half its size (Slack's burst is smaller than modelled, or another process spends
it too), growing back by one edit a minute.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

TIER3_PER_MINUTE = 50.0
TIER3_BURST = 15.0
REGROW_SECONDS = 60.0  # a bucket shrunk by a 429 grows back by one token this often
# Kept in hand: a call reaches Slack a moment after its token is taken here, and not always
# in the order taken, so Slack's bucket may hold a little less than this one says.
MARGIN = 1.0


class EditBudget:
    """The chat.update token bucket of one workspace. `clock` and `sleep` are injectable."""

    def __init__(
        self,
        *,
        per_minute: float = TIER3_PER_MINUTE,
        burst: float = TIER3_BURST,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.burst = max(1.0, burst)
        self._capacity = self.burst  # shrinks on a 429, grows back to `burst`
        self.per_second = per_minute / 60
        self._clock = clock
        self._sleep = sleep
        self._tokens = self._capacity
        self._updated = clock()
        self._resume_at = 0.0  # no edit before this (a 429's Retry-After)
        self._lane = asyncio.Lock()  # must-edits, first come first served
        self._waiting = 0
        self.owed = 0  # messages that will still need their final edit

    @property
    def tokens(self) -> float:
        self._refill()
        return self._tokens

    @property
    def capacity(self) -> float:
        """The bucket's size now: `burst`, or less for a while after a 429."""
        self._refill()
        return self._capacity

    def owe(self) -> None:
        """A message was posted that will need its final edit."""
        self.owed += 1

    def settle(self) -> None:
        """A message shows its final (or its error): it owes no edit any more."""
        self.owed = max(0, self.owed - 1)

    def refund(self) -> None:
        """Give back a token taken for a preview that was never edited."""
        self._refill()
        self._tokens = min(self._capacity, self._tokens + 1)

    def spare(self) -> bool:
        """Take a token for a preview edit when one is spare; False: skip the frame."""
        if self._waiting or self._clock() < self._resume_at:
            return False
        floor = self._margin()
        reserve = min(float(self.owed), self.capacity - 1 - floor)
        if self.tokens < 1 + floor + reserve:
            return False
        self._tokens -= 1
        return True

    async def take(self) -> None:
        """Wait for a token for an edit that must land; such edits go in arrival order."""
        self._waiting += 1
        try:
            async with self._lane:
                while (wait := self._wait()) > 0:
                    await self._sleep(wait)
                self._tokens -= 1
        finally:
            self._waiting -= 1

    def throttled(self, retry_after: float | None) -> None:
        """Slack answered 429: it holds fewer tokens than modelled. Start again from none,
        after Retry-After (one second when Slack gave none)."""
        pause = 1.0 if retry_after is None else max(0.0, retry_after)
        self._refill()
        now = self._clock()
        if now >= self._resume_at:  # once per 429 episode: edits in flight answer together
            self._capacity = max(1.0, self._capacity / 2)
        self._tokens = 0.0
        self._resume_at = max(self._resume_at, now + pause)
        log.info(
            "Slack rate-limited chat.update; next edit in %.1fs, bursts of %.0f",
            pause,
            self._capacity,
        )

    def _wait(self) -> float:
        """Seconds until a token is there and any Retry-After has passed (0: now)."""
        now = self._clock()
        if now < self._resume_at:
            return self._resume_at - now
        missing = 1 + self._margin() - self.tokens
        return missing / self.per_second if missing > 0 else 0.0

    def _margin(self) -> float:
        return min(MARGIN, self.capacity - 1)

    def _refill(self) -> None:
        now = self._clock()
        if now > self._updated:
            elapsed, self._updated = now - self._updated, now
            regrown = self._capacity + elapsed / REGROW_SECONDS
            self._capacity = min(self.burst, regrown)
            self._tokens = min(self._capacity, self._tokens + elapsed * self.per_second)


class EditBudgets:
    """One EditBudget per workspace, made when first asked for."""

    def __init__(self, *, per_minute: float = TIER3_PER_MINUTE, burst: float = TIER3_BURST) -> None:
        self._per_minute = per_minute
        self._burst = burst
        self._budgets: dict[str, EditBudget] = {}

    def of(self, workspace: str) -> EditBudget:
        budget = self._budgets.get(workspace)
        if budget is None:
            budget = EditBudget(per_minute=self._per_minute, burst=self._burst)
            self._budgets[workspace] = budget
        return budget
