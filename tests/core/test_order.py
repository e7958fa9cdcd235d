"""Turns in one thread draw one after another, in arrival order; other threads at once."""

from __future__ import annotations

from bot.store.sqlite import SqliteStore
from tests.conftest import eventually
from tests.core.chat import core, key


async def test_replies_in_one_thread_draw_in_arrival_order_each_from_the_last_image(
    store: SqliteStore,
) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    gate = c.backend.hold()
    await c.draw("make it blue", thread=thread, dedupe="A")
    await c.draw("add a hat", thread=thread, dedupe="B")
    await eventually(lambda: len(c.chat.in_thread(thread)) == 3)
    second = c.chat.in_thread(thread)[2]
    assert second.lines == ["waiting"], "the second reply waits, and says so"
    statuses = [t["status"] for t in await store.ledger.turns(key(thread))]
    assert statuses == ["delivered", "drawing", "queued"]

    gate.set()
    await c.turns.join()
    assert [call.prompt for call in c.backend.calls] == ["a cat", "make it blue", "add a hat"]
    assert [call.previous_response_id for call in c.backend.calls] == [None, "resp_1", "resp_2"]
    assert second.lines[:2] == ["waiting", "drawing"] and second.lines[-1] == "done"
    state = await store.threads.get(key(thread))
    assert state is not None and state.last_response_id == "resp_3"


async def test_a_repeated_delivery_draws_once_and_never_jumps_the_queue(
    store: SqliteStore,
) -> None:
    c = core(store)
    thread = await c.drawn("a cat")
    gate = c.backend.hold()
    await c.draw("make it blue", thread=thread, dedupe="A")
    await c.draw("make it blue", thread=thread, dedupe="A")  # the platform sends it again
    await c.draw("add a hat", thread=thread, dedupe="B")
    await eventually(lambda: len(c.chat.in_thread(thread)) == 3)
    assert len(c.backend.calls) == 2, "the reply after the repeat waits for the first"
    gate.set()
    await c.turns.join()
    assert [call.prompt for call in c.backend.calls] == ["a cat", "make it blue", "add a hat"]
    assert [call.previous_response_id for call in c.backend.calls] == [None, "resp_1", "resp_2"]
    assert len(c.chat.in_thread(thread)) == 3


async def test_drawings_in_different_threads_run_at_once(store: SqliteStore) -> None:
    c = core(store)
    gates = [c.backend.hold() for _ in range(5)]
    for n in range(5):
        await c.draw(f"drawing {n}")
    await eventually(lambda: len(c.backend.calls) == 5)  # all five are drawing at once
    for gate in gates:
        gate.set()
    await c.turns.join()
    assert len(c.chat.files) == 5
    assert all(m.lines[-1] == "done" for m in c.chat.messages.values())


async def test_a_reply_to_a_new_drawing_waits_for_its_first_image(store: SqliteStore) -> None:
    c = core(store)
    gate = c.backend.hold()
    await c.draw("a cat")
    await eventually(lambda: len(c.backend.calls) == 1)
    [root] = c.chat.messages.values()
    await c.draw("make it blue", thread=root.thread, dedupe="A")
    await eventually(lambda: len(c.chat.messages) == 2)
    assert c.chat.in_thread(root.thread)[1].lines == ["waiting"]
    gate.set()
    await c.turns.join()
    assert [call.previous_response_id for call in c.backend.calls] == [None, "resp_1"]
