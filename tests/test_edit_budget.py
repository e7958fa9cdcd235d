"""The EditBudget alone, on a fake clock: finals first, previews from what is spare, 429s
learnt. (At the wire, with Slack's Tier 3 enforced: tests/test_slack_tier3.py.)"""

from __future__ import annotations

import asyncio

from adapters.slack.budget import EditBudget, EditBudgets


class FakeTime:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)


def budget(time: FakeTime, *, burst: float, per_minute: float = 60) -> EditBudget:
    return EditBudget(burst=burst, per_minute=per_minute, clock=time.clock, sleep=time.sleep)


def test_previews_spend_only_what_the_owed_finals_leave() -> None:
    time = FakeTime()
    edits = budget(time, burst=6)  # one token is always kept in hand: five to spend
    for _ in range(2):
        edits.owe()  # two messages will need their final edit
    assert [edits.spare() for _ in range(4)] == [True, True, True, False]
    assert edits.tokens == 3  # one for each owed final, and the one in hand
    edits.settle()
    assert [edits.spare() for _ in range(2)] == [True, False]
    time.now += 1  # a refill is spare again
    assert edits.spare() is True


def test_with_more_owed_finals_than_the_bucket_only_its_overflow_goes_to_previews() -> None:
    time = FakeTime()
    edits = budget(time, burst=4)
    for _ in range(100):
        edits.owe()
    assert [edits.spare() for _ in range(2)] == [True, False]  # a full bucket's one
    time.now += 0.5
    assert edits.spare() is False
    time.now += 0.5
    assert edits.spare() is True


async def test_finals_wait_in_arrival_order_and_previews_get_nothing_meanwhile() -> None:
    time = FakeTime()
    edits = budget(time, burst=1)  # too small to keep a token in hand
    await edits.take()  # the bucket is empty now
    order: list[int] = []

    async def final(n: int) -> None:
        await edits.take()
        order.append(n)

    tasks = [asyncio.create_task(final(n)) for n in range(3)]
    await asyncio.sleep(0)
    assert edits.spare() is False  # finals are waiting: no preview, even on a refill
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2]
    assert time.now == 1003.0  # one refill each, at 1 a second
    assert edits.spare() is False  # the bucket is spent again


async def test_a_429_empties_the_bucket_and_nothing_goes_before_retry_after() -> None:
    time = FakeTime()
    edits = budget(time, burst=10)
    edits.throttled(5)
    assert edits.tokens == 0
    time.now += 4.9
    assert edits.spare() is False
    await edits.take()
    assert time.now >= 1005.0
    assert edits.tokens >= 1  # the one in hand
    edits.throttled(None)  # no Retry-After: a second
    assert edits.spare() is False


def test_a_429_halves_the_bucket_once_per_episode_and_it_grows_back() -> None:
    time = FakeTime()
    edits = budget(time, burst=8, per_minute=600)
    edits.throttled(1)
    edits.throttled(1)  # another edit that was in flight: the same episode
    assert edits.capacity == 4
    time.now += 2
    assert 4 <= edits.tokens < 4.1  # refilled to the smaller size (regrowing a little)
    edits.throttled(1)
    assert 2 <= edits.capacity < 2.1
    time.now += 6 * 60
    assert edits.capacity == 8 and edits.tokens == 8


def test_a_token_taken_for_a_preview_that_never_came_goes_back() -> None:
    time = FakeTime()
    edits = budget(time, burst=4)
    assert edits.spare() is True
    assert edits.tokens == 3
    edits.refund()
    assert edits.tokens == 4
    edits.refund()
    assert edits.tokens == 4  # never beyond the bucket


def test_each_workspace_has_its_own_budget() -> None:
    budgets = EditBudgets(burst=2, per_minute=1)
    assert budgets.of("T1") is budgets.of("T1")
    assert budgets.of("T1").spare() is True
    assert budgets.of("T1").spare() is False
    assert budgets.of("T2").spare() is True
