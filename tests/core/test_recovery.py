"""What a restart finds unfinished, and Retry: interrupted turns, held images, once only."""

from __future__ import annotations

import asyncio

import pytest

from bot import errors
from bot.models import ImageOptions, ThreadKey
from bot.store.sqlite import SqliteStore
from bot.turns.service import DrawService
from bot.turns.status import TurnStatus
from tests import ledger
from tests.conftest import eventually
from tests.core.chat import Backend, Chat, Message, build, core, key, request


async def _left_by_a_run(
    store: SqliteStore, chat: Chat, status: TurnStatus, prompt: str = "a cat"
) -> tuple[int, ThreadKey]:
    """A turn the last run (another replica, on the same file) left `status`, with its
    message in the chat."""
    message = Message(id=f"m{len(chat.messages) + 1}", thread="t1", lines=["drawing"])
    chat.messages[message.id] = message
    thread = key(message.thread)
    async with SqliteStore(path=store.db.path) as last_run:
        await last_run.threads.open(thread, started_by="U1")
        turn_id = await last_run.ledger.begin(
            request(prompt),
            thread=thread,
            options=ImageOptions(),
            status=TurnStatus.DRAWING,
            message={"id": message.id},
            inputs=(),
        )
        if status is TurnStatus.DELIVERING:
            await last_run.ledger.hold(turn_id, ledger.final_image(turn_id))
    return turn_id, thread


async def _seen_at(store: SqliteStore) -> float:
    row = await store.db.one("SELECT seen_at FROM replicas WHERE id=?", (store.replicas.replica,))
    return float(row[0])


async def test_the_lease_is_renewed_while_slow_turns_are_settled_side_by_side(
    store: SqliteStore,
) -> None:
    """Settling what a stopped replica left can take long (many turns, a slow chat): the
    turns are settled side by side, and renewing this replica's own lease never waits for
    them, or the other replicas would take over the turns it still runs."""
    chat, backend = Chat(), Backend()
    left = [
        (await _left_by_a_run(store, chat, TurnStatus.DRAWING, prompt=f"cat {n}"))[0]
        for n in range(3)
    ]
    store.replicas.lease_seconds = 0.3
    chat.interrupt_gate = asyncio.Event()
    turns, _ = build(store, backend, chat)
    turns.recovery.start()
    await eventually(lambda: chat.interrupting == 3)  # all three at once, each stuck in the chat
    renewed = await _seen_at(store)
    async with asyncio.timeout(2):
        # Renewed meanwhile, twice at least (the table records, it does not signal).
        while await _seen_at(store) < renewed + 0.2:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    chat.interrupt_gate.set()
    await eventually(
        lambda: (
            [m.shows for m in chat.messages.values()] == [f"interrupted: retry {n}" for n in left]
        )
    )
    assert backend.calls == []


async def _statuses(store: SqliteStore, thread: ThreadKey) -> list[str]:
    return [t["status"] for t in await store.ledger.turns(thread)]


async def test_a_turn_left_drawing_is_interrupted_and_says_so_with_retry(
    store: SqliteStore,
) -> None:
    chat, backend = Chat(), Backend()
    turn_id, thread = await _left_by_a_run(store, chat, TurnStatus.DRAWING)
    turns, _ = build(store, backend, chat)
    await turns.recover()
    assert await _statuses(store, thread) == ["interrupted"]
    assert chat.messages["m1"].shows == f"interrupted: retry {turn_id}"
    assert backend.calls == [], "nothing is drawn again without being asked"


async def test_a_turn_left_delivering_is_delivered_before_a_new_reply_draws(
    store: SqliteStore,
) -> None:
    chat, backend = Chat(), Backend()
    turn_id, thread = await _left_by_a_run(store, chat, TurnStatus.DELIVERING)
    chat.place_failures.append(errors.DeliveryDelayed(detail="still down"))
    turns, _ = build(store, backend, chat)
    await turns.recover()
    await turns.draw(request("make it blue", thread=thread.thread), chat.surface_for)
    await turns.join()
    assert await _statuses(store, thread) == ["delivered", "delivered"]
    assert backend.calls[0].previous_response_id == f"resp_{turn_id}", "from the held image"
    assert (await store.ledger.outbox.held()) == []


async def test_retry_draws_in_the_same_message_once_however_often_it_is_pressed(
    store: SqliteStore,
) -> None:
    chat, backend = Chat(), Backend()
    turn_id, thread = await _left_by_a_run(store, chat, TurnStatus.DRAWING)
    turns, _ = build(store, backend, chat)
    await turns.recover()
    gate = backend.hold()
    await turns.retry(turn_id, platform="test", workspace="W1", user_id="U2")
    await eventually(lambda: backend.calls)
    with pytest.raises(errors.BadInput, match="already drawn again"):  # pressed again
        await turns.retry(turn_id, platform="test", workspace="W1", user_id="U2")
    gate.set()
    await turns.join()
    assert [c.prompt for c in backend.calls] == ["a cat"]
    assert len(chat.messages) == 1 and chat.messages["m1"].shows == "done"
    assert await _statuses(store, thread) == ["interrupted", "delivered"]
    with pytest.raises(errors.BadInput, match="cannot find that drawing"):
        await turns.retry(turn_id, platform="test", workspace="W2", user_id="U2")


@pytest.mark.parametrize(
    ("status", "words"),
    [
        (TurnStatus.DELIVERED, "was delivered; reply in its thread"),
        (TurnStatus.FAILED, "That drawing failed"),
        (TurnStatus.DRAWING, "already being drawn again"),
    ],
)
async def test_a_turn_that_is_not_interrupted_is_not_retried(
    store: SqliteStore, status: TurnStatus, words: str
) -> None:
    chat, backend = Chat(), Backend()
    turns, _ = build(store, backend, chat)
    turn_id = await ledger.record(store, request(), key("t1"), status)
    with pytest.raises(errors.BadInput, match=words):
        await turns.retry(turn_id, platform="test", workspace="W1", user_id="U1")
    assert backend.calls == []


async def test_replying_retry_retries_the_threads_interrupted_turn(store: SqliteStore) -> None:
    chat, backend = Chat(), Backend()
    _, thread = await _left_by_a_run(store, chat, TurnStatus.DRAWING)
    turns, _ = build(store, backend, chat)
    await turns.recover()
    await turns.draw(request("Retry!", thread=thread.thread, dedupe="r1"), chat.surface_for)
    await turns.join()
    assert [c.prompt for c in backend.calls] == ["a cat"]
    # Once nothing is interrupted, "retry" is a prompt like any other.
    await turns.draw(request("retry", thread=thread.thread, dedupe="r2"), chat.surface_for)
    await turns.join()
    assert [c.prompt for c in backend.calls] == ["a cat", "retry"]


async def test_a_reply_whose_context_expired_draws_from_the_threads_last_image(
    store: SqliteStore,
) -> None:
    c = core(store)
    chat, backend, turns = c.chat, c.backend, c.turns
    root_thread = await c.drawn("a cat")
    backend.expired.add("resp_1")
    await turns.draw(request("blue", thread=root_thread, dedupe="A"), chat.surface_for)
    await turns.join()
    assert [c.previous_response_id for c in backend.calls] == [None, "resp_1", None]
    assert chat.fetched == ["F1"]
    assert [i.data for i in backend.calls[2].images] == [backend.finals[0]]
    state = await store.threads.get(key(root_thread))
    assert state is not None and state.last_response_id == "resp_3"


async def _draw_held(turns: DrawService, chat: Chat, backend: Backend) -> None:
    await turns.draw(request("a cat"), chat.surface_for)
    await eventually(lambda: backend.calls)


async def test_shutdown_interrupts_what_outlives_the_grace_and_refuses_new_turns(
    store: SqliteStore,
) -> None:
    chat, backend = Chat(), Backend()
    turns, _ = build(store, backend, chat)
    backend.hold()
    await _draw_held(turns, chat, backend)
    await turns.aclose(grace=0)
    [message] = chat.messages.values()
    assert message.shows.startswith("interrupted: retry")
    assert await _statuses(store, key(message.thread)) == ["interrupted"]
    with pytest.raises(errors.BadInput, match="restarting"):
        await turns.draw(request("another"), chat.surface_for)
