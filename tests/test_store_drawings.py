"""The store's contract for the buttons, on both engines: what a turn records for them, the
turns each button drew, deletions that rewind a thread, and claims that go stale."""

from __future__ import annotations

from bot.models import Action, DrawRequest, ThreadKey
from bot.store.sqlite import SqlStore
from bot.turns.status import TurnStatus
from tests import ledger
from tests.clock import ManualClock
from tests.stores import Opener, db_path, opener, store

pytest_plugins = ["tests.postgres"]
__all__ = ["db_path", "opener", "store"]  # fixtures, used by name

KEY = ThreadKey("slack", "T1", "C1", "1700000000.000100")


def _request(prompt: str = "a kettle", **pressed: object) -> DrawRequest:
    return DrawRequest(
        platform="slack",
        workspace="T1",
        channel="C1",
        user_id="U1",
        prompt=prompt,
        thread=KEY.thread,
        **pressed,  # type: ignore[arg-type]
    )


async def _delivered(store: SqlStore, prompt: str, **pressed: object) -> int:
    turn_id = await ledger.begin(store, _request(prompt, **pressed), KEY)
    final = ledger.final_image(turn_id)
    await store.ledger.hold(turn_id, final, drawn_from=f"before_{turn_id}")
    await store.ledger.placed(turn_id, key=KEY, final=final, file_ref=f"F{turn_id}")
    await store.ledger.complete(turn_id, final=final, cost_usd=0.1, image_size="1536x1024")
    return turn_id


async def test_a_delivered_turn_keeps_what_its_buttons_need(store: SqlStore) -> None:
    first = await _delivered(store, "a kettle")
    redo = await _delivered(store, "a kettle", action=Action.REDO, origin=first)
    turn = await store.ledger.get(redo)
    assert turn is not None
    assert (turn.action, turn.origin) == (Action.REDO, first)
    assert (turn.drawn_from, turn.response_id, turn.image_call_id) == (
        f"before_{redo}",
        f"resp_{redo}",
        f"ig_{redo}",
    )
    assert (turn.file_ref, turn.image_size, turn.deleted) == (f"F{redo}", "1536x1024", False)


async def test_pressed_counts_a_buttons_turns_running_and_ended(store: SqlStore) -> None:
    first = await _delivered(store, "a kettle")
    assert await store.drawings.pressed(first, Action.VARY) == (0, 0)
    await _delivered(store, "vary", action=Action.VARY, origin=first)
    running = await ledger.begin(store, _request("vary", action=Action.VARY, origin=first), KEY)
    await ledger.begin(store, _request("redo", action=Action.REDO, origin=first), KEY)
    assert await store.drawings.pressed(first, Action.VARY) == (1, 1)
    await store.ledger.end(running, status=TurnStatus.FAILED, error_code="x")
    assert await store.drawings.pressed(first, Action.VARY) == (0, 2)


async def test_deleting_the_threads_image_rewinds_it_to_the_last_one_not_deleted(
    store: SqlStore,
) -> None:
    first = await _delivered(store, "a kettle")
    second = await _delivered(store, "blue")
    third = await _delivered(store, "green")
    assert await store.drawings.delete(second, by="U1")  # not the head: the thread stays
    state = await store.threads.get(KEY)
    assert state is not None and state.last_file_ref == f"F{third}"
    assert await store.drawings.delete(third, by="UADMIN")
    state = await store.threads.get(KEY)
    assert state is not None
    assert (state.last_response_id, state.last_file_ref) == (f"resp_{first}", f"F{first}")
    assert not await store.drawings.delete(third, by="U1"), "deleted once"
    assert await store.drawings.delete(first, by="U1")
    assert await store.threads.get(KEY) is None  # nothing left to go on from
    assert await store.threads.is_easels(KEY)
    turn = await store.ledger.get(third)
    assert turn is not None and turn.deleted_by == "UADMIN"
    assert turn.status is TurnStatus.DELIVERED  # it was drawn and paid for
    assert await store.usage.delivered_count("slack", "T1", "U1", since=0) == 3


async def test_only_a_delivered_drawing_can_be_deleted(store: SqlStore) -> None:
    running = await ledger.begin(store, _request(), KEY)
    assert not await store.drawings.delete(running, by="U1")
    turn = await store.ledger.get(running)
    assert turn is not None and not turn.deleted


async def test_a_stale_claim_may_be_made_again(opener: Opener) -> None:
    clock = ManualClock()
    async with opener(clock=clock) as store:
        assert await store.claims.claim("redo:slack:1:0", stale_after=600)
        assert not await store.claims.claim("redo:slack:1:0", stale_after=600)
        clock.advance(601)
        assert await store.claims.claim("redo:slack:1:0", stale_after=600)
        assert not await store.claims.claim("redo:slack:1:0", stale_after=600)
        assert not await store.claims.claim("redo:slack:1:0")  # never stale without it
