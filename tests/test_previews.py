"""bot.previews.PreviewEditor: one edit at a time, newest frame wins, nothing lands after close."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest

from bot.models import Preview
from bot.turns.previews import PreviewEditor

# A safety net so a broken editor fails the test instead of hanging it; never a timing assert.
DEADLINE = 2.0


def frame(index: int, total: int = 3) -> Preview:
    return Preview(index=index, total=total, data=f"frame {index}".encode(), output_format="png")


class Show:
    """A fake `show` coroutine: records frames, counts overlapping calls, can be held or fail."""

    def __init__(self, *, fail_on: frozenset[int] = frozenset()) -> None:
        self.started: list[int] = []
        self.finished: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.fail_on = fail_on
        self.gate = asyncio.Event()  # show waits on this; set() lets every call through
        self.gate.set()
        self.delay = 0.0
        self._changed = asyncio.Condition()

    def hold(self) -> None:
        self.gate.clear()

    def release(self) -> None:
        self.gate.set()

    async def __call__(self, preview: Preview) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await self._notify(lambda: self.started.append(preview.index))
        try:
            await self.gate.wait()
            if self.delay:
                await asyncio.sleep(self.delay)
            if preview.index in self.fail_on:
                raise RuntimeError(f"chat API refused frame {preview.index}")
        finally:
            self.in_flight -= 1
            await self._notify(lambda: self.finished.append(preview.index))

    async def _notify(self, change: Callable[[], None]) -> None:
        async with self._changed:
            change()
            self._changed.notify_all()

    async def until(self, predicate: Callable[[], bool]) -> None:
        async with asyncio.timeout(DEADLINE), self._changed:
            await self._changed.wait_for(predicate)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def settle(rounds: int = 20) -> None:
    """Let every task that can run do so (the editor never sleeps when min_interval is 0)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


# --- latest wins ---------------------------------------------------------------------------


async def test_a_single_frame_is_shown() -> None:
    show = Show()
    async with PreviewEditor(show=show, min_interval=0) as editor:
        editor.offer(frame(0))
        await show.until(lambda: show.finished == [0])
    assert editor.shown == [0]
    assert editor.dropped == 0


async def test_latest_frame_wins_while_a_show_is_in_flight() -> None:
    show = Show()
    show.hold()
    async with PreviewEditor(show=show, min_interval=0) as editor:
        editor.offer(frame(0))
        await show.until(lambda: show.started == [0])
        editor.offer(frame(1))
        editor.offer(frame(2))  # replaces frame 1, which is never shown
        show.release()
        await show.until(lambda: show.finished == [0, 2])
        assert editor.shown == [0, 2]
        assert editor.dropped == 1
    assert show.started == [0, 2]


async def test_frames_offered_before_the_editor_starts_collapse_to_the_newest() -> None:
    show = Show()
    editor = PreviewEditor(show=show, min_interval=0)
    editor.offer(frame(0))
    editor.offer(frame(1))
    async with editor:
        await show.until(lambda: show.finished == [1])
    assert editor.shown == [1]
    assert editor.dropped == 1


async def test_never_two_shows_in_flight() -> None:
    show = Show()
    show.delay = 0.002
    async with PreviewEditor(show=show, min_interval=0) as editor:
        for index in range(30):
            editor.offer(frame(index, total=30))
            await asyncio.sleep(0.0005 if index % 3 else 0)
        await show.until(lambda: bool(show.finished) and show.finished[-1] == 29)
    assert show.max_in_flight == 1
    assert editor.shown == show.finished
    assert editor.shown == sorted(editor.shown)  # frames are never shown out of order
    assert editor.shown[-1] == 29
    assert len(editor.shown) + editor.dropped == 30


# --- minimum interval ----------------------------------------------------------------------


async def test_frame_inside_the_min_interval_waits_and_is_replaced_by_newer_ones() -> None:
    clock = FakeClock()  # never advances: the next edit stays due in 60 s
    show = Show()
    editor = PreviewEditor(show=show, min_interval=60, clock=clock)
    async with editor:
        editor.offer(frame(0))
        await show.until(lambda: show.finished == [0])
        editor.offer(frame(1))
        await settle()
        editor.offer(frame(2))
        await settle()
        assert show.started == [0]  # held back by the interval
        assert editor.dropped == 1
    # close() wakes the wait early and drops the frame that was still waiting.
    assert editor.shown == [0]
    assert editor.dropped == 2
    assert show.started == [0]


async def test_frame_after_the_min_interval_is_shown_at_once() -> None:
    clock = FakeClock()
    show = Show()
    async with PreviewEditor(show=show, min_interval=60, clock=clock) as editor:
        editor.offer(frame(0))
        await show.until(lambda: show.finished == [0])
        clock.now += 60
        editor.offer(frame(1))
        await show.until(lambda: show.finished == [0, 1])
    assert editor.shown == [0, 1]
    assert editor.dropped == 0


async def test_failed_show_still_starts_the_min_interval() -> None:
    clock = FakeClock()
    show = Show(fail_on=frozenset({0}))
    async with PreviewEditor(show=show, min_interval=60, clock=clock) as editor:
        editor.offer(frame(0))
        await show.until(lambda: show.finished == [0])
        editor.offer(frame(1))
        await settle()
        assert show.started == [0]
    assert editor.shown == []
    assert editor.dropped == 1


async def test_small_real_interval_shows_the_newest_frame_when_it_ends() -> None:
    show = Show()
    async with PreviewEditor(show=show, min_interval=0.1) as editor:
        editor.offer(frame(0))
        await show.until(lambda: show.finished == [0])
        editor.offer(frame(1))
        await settle()
        editor.offer(frame(2))
        await show.until(lambda: show.finished == [0, 2])
    assert editor.shown == [0, 2]
    assert editor.dropped == 1
    assert show.max_in_flight == 1


# --- close ---------------------------------------------------------------------------------


async def test_close_waits_for_the_show_in_flight_and_drops_the_pending_frame() -> None:
    show = Show()
    show.hold()
    editor = PreviewEditor(show=show, min_interval=0)
    await editor.__aenter__()
    editor.offer(frame(0))
    await show.until(lambda: show.started == [0])
    editor.offer(frame(1))

    closing = asyncio.create_task(editor.close())
    await settle()
    assert not closing.done()  # still waiting for frame 0's edit

    show.release()
    async with asyncio.timeout(DEADLINE):
        await closing
    assert show.finished == [0]  # the edit in flight completed before close returned
    assert editor.shown == [0]
    assert editor.dropped == 1

    await settle()
    editor.offer(frame(2))
    await settle()
    assert show.started == [0]  # nothing was shown after close returned


async def test_offer_after_close_is_ignored() -> None:
    show = Show()
    async with PreviewEditor(show=show, min_interval=0) as editor:
        pass
    editor.offer(frame(0))
    editor.offer(frame(1))  # not even counted as replacing the first: both are ignored
    await settle()
    assert show.started == []
    assert editor.shown == []
    assert editor.dropped == 0


async def test_close_twice_is_harmless() -> None:
    show = Show()
    async with PreviewEditor(show=show, min_interval=0) as editor:
        editor.offer(frame(0))
        await show.until(lambda: show.finished == [0])
    await editor.close()
    assert editor.shown == [0]


async def test_close_without_start_is_harmless() -> None:
    show = Show()
    editor = PreviewEditor(show=show, min_interval=0)
    editor.offer(frame(0))
    await editor.close()
    assert show.started == []
    assert editor.dropped == 1


# --- failures ------------------------------------------------------------------------------


async def test_show_that_raises_is_logged_and_the_editor_keeps_going(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="bot.turns.previews")
    show = Show(fail_on=frozenset({0}))
    async with PreviewEditor(show=show, min_interval=0) as editor:
        editor.offer(frame(0))
        await show.until(lambda: show.finished == [0])
        editor.offer(frame(1))
        await show.until(lambda: show.finished == [0, 1])
    assert editor.shown == [1]  # only frames that were really shown
    assert show.started == [0, 1]

    [record] = [r for r in caplog.records if r.name == "bot.turns.previews"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "preview 1 could not be shown"
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


async def test_a_frame_is_wanted_only_while_the_chat_can_take_an_edit() -> None:
    claims = [True, False]

    async def show(preview: Preview) -> None:
        pass

    editor = PreviewEditor(show=show, min_interval=0, claim=lambda: claims.pop(0))
    assert editor.wants() is True
    assert editor.wants() is False
    await editor.close()
    assert editor.wants() is False  # closed: nothing more is shown
    assert claims == []
