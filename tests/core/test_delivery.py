"""Delivering a finished image, step by step: the file into the thread, then the message
showing it. Waited out while the platform is down, resumed after the last recorded step,
never lost and never put in the thread twice."""

from __future__ import annotations

import logging

import pytest

from bot import errors
from bot.store.sqlite import SqliteStore
from bot.turns.status import TurnStatus
from tests.conftest import eventually
from tests.core.chat import Core, core, key

LATER = errors.DeliveryDelayed(detail="503 and a lost answer")


async def _turn(c: Core, thread: str) -> dict[str, object]:
    return (await c.store.ledger.turns(key(thread)))[-1]


async def test_a_lost_answer_while_placing_the_file_never_puts_it_in_the_thread_twice(
    store: SqliteStore,
) -> None:
    c = core(store)
    c.chat.place_failures.extend([LATER] * 3)
    thread = await c.drawn()
    [message] = c.chat.messages.values()
    assert len(c.chat.files) == 1, "the retry looked in the thread first and found the file"
    assert c.chat.place_attempts == [False, True]
    assert message.lines.count("delivering") == 1 and message.shows == "done"
    turn = await _turn(c, thread)
    assert turn["status"] == "delivered" and turn["file_ref"] == "F1"
    assert isinstance(turn["cost_usd"], float) and turn["cost_usd"] > 0
    assert (await store.ledger.outbox.held()) == []


async def test_a_refusal_for_good_of_the_file_fails_the_turn_and_keeps_the_thread(
    store: SqliteStore,
) -> None:
    c = core(store)
    thread = await c.drawn()
    c.chat.place_failures.append(errors.DeliveryFailed(detail="channel_not_found"))
    await c.draw("blue", thread=thread, dedupe="A")
    await c.turns.join()
    reply = c.chat.in_thread(thread)[1]
    assert reply.shows == f"failed: {errors.DeliveryFailed.default_message}"
    statuses = [t["status"] for t in await store.ledger.turns(key(thread))]
    assert statuses == ["delivered", "failed"]
    state = await store.threads.get(key(thread))
    assert state is not None and state.last_response_id == "resp_1", "the thread stays put"


async def test_the_chain_advances_once_the_file_is_in_the_thread(store: SqliteStore) -> None:
    """The message lags (the platform will not edit it for now): the next reply already
    draws from the image in the thread, and the lagging message catches up."""
    c = core(store)
    thread = await c.drawn()
    c.chat.show_failures.extend([LATER] * 5)
    await c.draw("blue", thread=thread, dedupe="A")
    await eventually(lambda: c.chat.show_attempts >= 2)
    state = await store.threads.get(key(thread))
    assert state is not None and state.last_response_id == "resp_2"
    await c.draw("with a hat", thread=thread, dedupe="B")
    await c.turns.join()
    assert [call.previous_response_id for call in c.backend.calls] == [None, "resp_1", "resp_2"]
    assert [m.shows for m in c.chat.in_thread(thread)] == ["done", "done", "done"]


async def test_a_message_that_cannot_show_the_file_still_delivers_the_turn(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    c = core(store)
    c.chat.show_failures.append(errors.DeliveryFailed(detail="message_not_found"))
    thread = await c.drawn()
    turn = await _turn(c, thread)
    assert turn["status"] == "delivered" and len(c.chat.files) == 1
    assert any("cannot show F1" in r.getMessage() for r in caplog.records)


async def test_a_stop_while_placing_keeps_the_image_and_the_next_start_never_doubles_it(
    store: SqliteStore,
) -> None:
    c = core(store, max_pause=30)
    c.chat.place_failures.extend([LATER] * 1000)
    await c.draw()
    await eventually(lambda: c.chat.place_attempts)
    await c.turns.aclose(grace=0)
    [message] = c.chat.messages.values()
    turn = await _turn(c, message.thread)
    assert turn["status"] == "delivering" and turn["file_ref"] is None
    assert (await store.ledger.outbox.held()) == [turn["id"]]
    assert message.shows == "delivering"

    c.chat.place_failures.clear()
    async with SqliteStore(path=store.db.path) as restarted:  # the next start, on that file
        again = core(restarted)
        again.chat.messages, again.chat.files = c.chat.messages, c.chat.files
        await again.turns.recover()
        await again.turns.join()
        await again.turns.aclose(grace=0)
    assert again.chat.place_attempts == [True], "it looked in the thread first"
    assert len(again.chat.files) == 1 and message.shows == "done"
    assert (await _turn(c, message.thread))["status"] == "delivered"


async def test_a_stop_after_the_file_resumes_at_the_message(store: SqliteStore) -> None:
    c = core(store, max_pause=30)
    c.chat.show_failures.extend([LATER] * 1000)
    await c.draw()
    await eventually(lambda: c.chat.show_attempts)
    await c.turns.aclose(grace=0)
    [message] = c.chat.messages.values()
    turn = await _turn(c, message.thread)
    assert (turn["status"], turn["file_ref"]) == ("delivering", "F1")

    c.chat.show_failures.clear()
    async with SqliteStore(path=store.db.path) as restarted:  # the next start, on that file
        again = core(restarted)
        again.chat.messages, again.chat.files = c.chat.messages, c.chat.files
        await again.turns.recover()
        await again.turns.join()
        await again.turns.aclose(grace=0)
    assert again.chat.place_attempts == [], "the file was in the thread: not placed again"
    assert message.shows == "done" and (await _turn(c, message.thread))["status"] == "delivered"


async def test_a_failure_of_the_image_service_fails_the_turn_at_no_cost(
    store: SqliteStore,
) -> None:
    c = core(store)
    c.backend.fail(errors.ModerationBlocked())
    thread = await c.drawn()
    [message] = c.chat.messages.values()
    assert message.shows == f"failed: {errors.ModerationBlocked.default_message}"
    turn = await _turn(c, thread)
    assert (turn["status"], turn["error_code"], turn["cost_usd"]) == (
        "failed",
        "moderation_blocked",
        None,
    )


async def test_a_placeholder_the_platform_does_not_take_for_now_is_tried_again(
    store: SqliteStore,
) -> None:
    c = core(store, start_pauses=(0.01, 0.01, 0.01))
    c.chat.start_failures.extend([errors.ChatUnavailable(detail="503")] * 3)
    thread = await c.drawn()
    assert (await _turn(c, thread))["status"] == "delivered"
    assert c.chat.notices == []


async def test_a_platform_that_stays_down_is_told_nothing_was_drawn(store: SqliteStore) -> None:
    c = core(store, start_pauses=(0.01, 0.01))
    c.chat.start_failures.extend([errors.ChatUnavailable()] * 10)
    await c.draw()
    await c.turns.join()
    assert c.chat.notices == [errors.ChatUnavailable.default_message]
    assert c.backend.calls == [] and c.chat.messages == {}


async def test_a_crash_while_drawing_ends_the_turn_and_the_service_goes_on(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    c = core(store)
    c.backend.fail(RuntimeError("a bug"))
    thread = await c.drawn()
    crashed = [r for r in caplog.records if "crashed while drawing" in r.getMessage()]
    assert crashed and crashed[0].levelno == logging.ERROR and crashed[0].exc_info
    turn = await _turn(c, thread)
    assert (turn["status"], turn["error_code"]) == (TurnStatus.FAILED, "bug")
    [message] = c.chat.messages.values()
    assert message.shows == f"failed: {errors.EaselError.default_message}"
    await c.drawn("a dog")
    assert [call.prompt for call in c.backend.calls] == ["a cat", "a dog"]
