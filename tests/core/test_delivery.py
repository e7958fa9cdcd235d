"""Delivering a finished image: waited out while the platform is down, never lost."""

from __future__ import annotations

import logging

import pytest

from bot import errors
from bot.store.sqlite import SqliteStore
from tests.conftest import eventually
from tests.core.chat import Backend, Chat, build, core, key, request


async def test_a_platform_down_for_now_is_waited_out_and_the_message_says_so(
    store: SqliteStore,
) -> None:
    chat, backend = Chat(), Backend()
    chat.finish_failures.extend([errors.DeliveryDelayed(detail="503")] * 3)
    turns, _ = build(store, backend, chat)
    await turns.draw(request("a cat"), chat.surface_for)
    await turns.join()
    [message] = chat.messages.values()
    assert chat.finish_attempts == 4
    assert message.lines.count("delivering") == 1 and message.shows == "done"
    [turn] = await store.ledger.turns(key(message.thread))
    assert turn["status"] == "delivered" and turn["cost_usd"] > 0
    assert store.ledger.outbox.held() == []


async def test_a_refusal_for_good_fails_the_turn_with_words_and_keeps_the_thread(
    store: SqliteStore,
) -> None:
    c = core(store)
    chat, turns = c.chat, c.turns
    root_thread = await c.drawn("a cat")
    chat.finish_failures.append(errors.DeliveryFailed(detail="channel_not_found"))
    await turns.draw(request("blue", thread=root_thread, dedupe="A"), chat.surface_for)
    await turns.join()
    reply = chat.in_thread(root_thread)[1]
    assert reply.shows == f"failed: {errors.DeliveryFailed.default_message}"
    statuses = [t["status"] for t in await store.ledger.turns(key(root_thread))]
    assert statuses == ["delivered", "failed"]
    state = await store.threads.get(key(root_thread))
    assert state is not None and state.last_response_id == "resp_1", "the thread stays put"


async def test_a_stop_during_delivery_keeps_the_image_for_the_next_start(
    store: SqliteStore,
) -> None:
    chat, backend = Chat(), Backend()
    chat.finish_failures.extend([errors.DeliveryDelayed(detail="503")] * 1000)
    turns, _ = build(store, backend, chat, max_pause=30)
    await turns.draw(request("a cat"), chat.surface_for)
    await eventually(lambda: chat.finish_attempts)
    await turns.aclose(grace=0)
    [message] = chat.messages.values()
    [turn] = await store.ledger.turns(key(message.thread))
    assert turn["status"] == "delivering"
    assert store.ledger.outbox.held() == [turn["id"]]
    assert message.shows == "delivering"


async def test_a_failure_of_the_image_service_fails_the_turn_at_no_cost(
    store: SqliteStore,
) -> None:
    chat, backend = Chat(), Backend()
    backend.fail(errors.ModerationBlocked())
    turns, _ = build(store, backend, chat)
    await turns.draw(request("a cat"), chat.surface_for)
    await turns.join()
    [message] = chat.messages.values()
    assert message.shows == f"failed: {errors.ModerationBlocked.default_message}"
    [turn] = await store.ledger.turns(key(message.thread))
    assert (turn["status"], turn["error_code"], turn["cost_usd"]) == (
        "failed",
        "moderation_blocked",
        None,
    )


async def test_a_crash_in_a_turn_is_logged_with_its_stack_and_the_service_goes_on(
    store: SqliteStore, caplog: pytest.LogCaptureFixture
) -> None:
    chat, backend = Chat(), Backend()
    chat.refuse_start = RuntimeError("a bug")
    turns, _ = build(store, backend, chat)
    await turns.draw(request("a cat"), chat.surface_for)
    await turns.join()
    crashed = [r for r in caplog.records if r.getMessage() == "drawing turn crashed"]
    assert crashed and crashed[0].levelno == logging.ERROR and crashed[0].exc_info
    chat.refuse_start = None
    await turns.draw(request("a dog"), chat.surface_for)
    await turns.join()
    assert [c.prompt for c in backend.calls] == ["a dog"]
