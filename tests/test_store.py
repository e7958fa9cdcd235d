"""bot.store.SqliteStore on a real database file: schema versions, deliveries, threads, turns."""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
from pathlib import Path

import pytest

import bot.store.schema.sqlite
from bot.models import DrawRequest, FinalImage, Held, ImageOptions, ThreadKey, ThreadState
from bot.store.database import SchemaTooNew
from bot.store.sqlite import SqliteStore, SqlStore
from bot.turns.status import IllegalMove, TurnStatus
from tests import ledger
from tests.stores import Opener, db_path, opener, sqlite_store, store

__all__ = ["db_path", "opener", "sqlite_store", "store"]  # fixtures, used by name

pytest_plugins = ["tests.postgres"]

KEY = ThreadKey(platform="slack", workspace="T1", channel="C1", thread="1700000000.000100")


def _latest_schema_version() -> int:
    """The highest NNNN_ prefix among the migration files shipped in bot/store/schema/sqlite/."""
    folder = Path(bot.store.schema.sqlite.__file__).parent
    versions = [int(path.name.split("_", 1)[0]) for path in folder.glob("[0-9]*_*.sql")]
    assert versions, "no migration files found"
    return max(versions)


def _pragma(path: Path, name: str) -> object:
    with contextlib.closing(sqlite3.connect(path)) as connection:
        return connection.execute(f"PRAGMA {name}").fetchone()[0]


def _request(prompt: str = "a lighthouse at dusk", user: str = "U1") -> DrawRequest:
    return DrawRequest(
        platform=KEY.platform,
        workspace=KEY.workspace,
        channel=KEY.channel,
        user_id=user,
        prompt=prompt,
        thread=KEY.thread,
    )


# --- schema --------------------------------------------------------------------------------


async def test_migrations_set_user_version_to_the_latest_file_number(db_path: Path) -> None:
    async with SqliteStore(path=db_path) as store:
        assert await store.ping()
    assert _pragma(db_path, "user_version") == _latest_schema_version()


async def test_migrations_create_the_tables(db_path: Path) -> None:
    async with SqliteStore(path=db_path):
        pass
    with contextlib.closing(sqlite3.connect(db_path)) as connection:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert {"threads", "turns", "seen_deliveries"} <= tables


async def test_journal_mode_is_wal(db_path: Path, sqlite_store: SqliteStore) -> None:
    row = await sqlite_store.db.one("PRAGMA journal_mode")
    assert row is not None and row[0] == "wal"
    assert _pragma(db_path, "journal_mode") == "wal"  # WAL is a property of the file


async def test_foreign_keys_are_on(sqlite_store: SqliteStore) -> None:
    row = await sqlite_store.db.one("PRAGMA foreign_keys")
    assert row is not None and row[0] == 1


async def test_reopening_does_not_rerun_migrations_and_data_survives(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.store")
    async with SqliteStore(path=db_path) as store:
        await store.threads.open(KEY)
        await store.threads.advance(KEY, response_id="resp_1", image_call_id="ig_1", file_ref="F1")
    first_open = [r for r in caplog.records if "migrating" in r.getMessage()]
    assert len(first_open) == _latest_schema_version()  # each schema file once, in order
    caplog.clear()

    async with SqliteStore(path=db_path) as store:
        assert await store.threads.is_easels(KEY)
        assert await store.threads.get(KEY) == ThreadState("resp_1", "ig_1", "F1")
    assert not [r for r in caplog.records if "migrating" in r.getMessage()]
    assert _pragma(db_path, "user_version") == _latest_schema_version()


async def test_schema_newer_than_the_code_raises_on_open(db_path: Path) -> None:
    newer = _latest_schema_version() + 1
    with contextlib.closing(sqlite3.connect(db_path)) as connection:
        connection.execute(f"PRAGMA user_version = {newer}")

    store = SqliteStore(path=db_path)
    try:
        with pytest.raises(SchemaTooNew) as caught:
            async with store:
                pytest.fail("the store opened a database from a newer easel")
        assert str(newer) in str(caught.value)
        assert str(db_path) in str(caught.value)
    finally:
        with contextlib.suppress(RuntimeError):
            await store.db.close()
    assert _pragma(db_path, "user_version") == newer  # left alone


async def test_failed_open_releases_the_connection(db_path: Path) -> None:
    with contextlib.closing(sqlite3.connect(db_path)) as connection:
        connection.execute(f"PRAGMA user_version = {_latest_schema_version() + 1}")

    store = SqliteStore(path=db_path)
    try:
        with pytest.raises(SchemaTooNew):
            async with store:
                pass
        with pytest.raises(RuntimeError, match="not open"):
            _ = store.db.connection
    finally:
        with contextlib.suppress(RuntimeError):
            await store.db.close()


# --- deliveries ----------------------------------------------------------------------------


async def test_claim_delivery_is_true_once_then_false(store: SqlStore) -> None:
    assert await store.claims.claim("slack:T1:Ev1") is True
    assert await store.claims.claim("slack:T1:Ev1") is False
    assert await store.claims.claim("slack:T1:Ev1") is False
    assert await store.claims.claim("slack:T1:Ev2") is True


async def test_claim_delivery_is_remembered_across_reopen(opener: Opener) -> None:
    async with opener() as store:
        assert await store.claims.claim("slack:T1:Ev1") is True
    async with opener() as store:
        assert await store.claims.claim("slack:T1:Ev1") is False
        assert await store.claims.claim("slack:T1:Ev2") is True


# --- threads -------------------------------------------------------------------------------


async def test_thread_unknown_until_opened(store: SqlStore) -> None:
    assert await store.threads.is_easels(KEY) is False
    assert await store.threads.get(KEY) is None


async def test_open_thread_makes_it_known_but_without_state(store: SqlStore) -> None:
    await store.threads.open(KEY)
    assert await store.threads.is_easels(KEY) is True
    assert await store.threads.get(KEY) is None


async def test_open_thread_twice_is_harmless_and_keeps_state(store: SqlStore) -> None:
    await store.threads.open(KEY)
    await store.threads.advance(KEY, response_id="resp_1", image_call_id="ig_1", file_ref="F1")
    await store.threads.open(KEY)
    assert await store.threads.get(KEY) == ThreadState("resp_1", "ig_1", "F1")


async def test_advance_thread_sets_then_overwrites_state(store: SqlStore) -> None:
    await store.threads.open(KEY)
    await store.threads.advance(KEY, response_id="resp_1", image_call_id="ig_1", file_ref="F1")
    assert await store.threads.get(KEY) == ThreadState(
        last_response_id="resp_1", last_image_call_id="ig_1", last_file_ref="F1"
    )
    await store.threads.advance(KEY, response_id="resp_2", image_call_id="ig_2", file_ref="F2")
    assert await store.threads.get(KEY) == ThreadState(
        last_response_id="resp_2", last_image_call_id="ig_2", last_file_ref="F2"
    )


async def test_advance_thread_without_open_creates_the_thread(store: SqlStore) -> None:
    await store.threads.advance(KEY, response_id="resp_1", image_call_id="ig_1", file_ref="F1")
    assert await store.threads.is_easels(KEY) is True
    assert await store.threads.get(KEY) == ThreadState("resp_1", "ig_1", "F1")


@pytest.mark.parametrize(
    "other",
    [
        ThreadKey("slack", "T2", KEY.channel, KEY.thread),
        ThreadKey("discord", KEY.workspace, KEY.channel, KEY.thread),
        ThreadKey("slack", KEY.workspace, "C2", KEY.thread),
        ThreadKey("slack", KEY.workspace, KEY.channel, "1700000000.000200"),
    ],
    ids=["workspace", "platform", "channel", "thread"],
)
async def test_keys_differing_in_one_part_never_collide(
    store: SqliteStore, other: ThreadKey
) -> None:
    await store.threads.open(KEY)
    await store.threads.advance(KEY, response_id="resp_1", image_call_id="ig_1", file_ref="F1")
    assert await store.threads.is_easels(other) is False
    assert await store.threads.get(other) is None

    await store.threads.advance(other, response_id="resp_9", image_call_id="ig_9", file_ref="F9")
    assert await store.threads.get(other) == ThreadState("resp_9", "ig_9", "F9")
    assert await store.threads.get(KEY) == ThreadState("resp_1", "ig_1", "F1")


async def test_keys_whose_parts_join_to_the_same_string_never_collide(
    store: SqliteStore,
) -> None:
    one = ThreadKey("slack", "T1:C1", "X", "1.0")
    two = ThreadKey("slack", "T1", "C1:X", "1.0")
    assert str(one) == str(two)
    await store.threads.open(one)
    assert await store.threads.is_easels(two) is False


# --- turns ---------------------------------------------------------------------------------


async def test_begin_records_a_drawing_turn(store: SqlStore) -> None:
    options = ImageOptions(size="1024x1024", quality="high")
    turn_id = await ledger.begin(store, _request(), KEY, options=options)
    assert isinstance(turn_id, int)

    [turn] = await store.ledger.turns(KEY)
    assert turn["id"] == turn_id
    assert turn["status"] == "drawing"
    assert turn["user_id"] == "U1"
    assert turn["prompt"] == "a lighthouse at dusk"
    assert (turn["platform"], turn["workspace"], turn["channel"], turn["thread"]) == (
        KEY.platform,
        KEY.workspace,
        KEY.channel,
        KEY.thread,
    )
    assert ImageOptions(**json.loads(turn["options"])) == options
    assert turn["started_at"] > 0
    assert turn["ended_at"] is None
    assert turn["usage"] is None
    assert turn["error_code"] is None
    assert turn["response_id"] is None


async def test_a_delivered_turn_keeps_its_response_usage_and_cost(store: SqlStore) -> None:
    turn_id = await ledger.begin(store, _request(), KEY)
    usage = {"input_tokens": 12, "output_tokens": 1056, "total_tokens": 1068}
    final = ledger.final_image(turn_id, usage=usage)
    await ledger.deliver(store, turn_id, KEY, final=final, cost=0.04)

    [turn] = await store.ledger.turns(KEY)
    assert turn["status"] == "delivered"
    assert turn["response_id"] == final.response_id
    assert json.loads(turn["usage"]) == usage
    assert turn["cost_usd"] == 0.04
    assert turn["error_code"] is None
    assert turn["ended_at"] >= turn["started_at"]


async def test_end_records_failure_with_error_code(store: SqlStore) -> None:
    turn_id = await ledger.begin(store, _request(), KEY)
    await store.ledger.end(turn_id, status=TurnStatus.FAILED, error_code="moderation_blocked")

    [turn] = await store.ledger.turns(KEY)
    assert turn["status"] == "failed"
    assert turn["error_code"] == "moderation_blocked"
    assert turn["usage"] is None
    assert turn["response_id"] is None
    assert turn["ended_at"] is not None


@pytest.mark.parametrize(
    ("start", "to"),
    [
        (TurnStatus.DRAWING, TurnStatus.QUEUED),
        (TurnStatus.DRAWING, TurnStatus.DELIVERED),
        (TurnStatus.FAILED, TurnStatus.DRAWING),
        (TurnStatus.INTERRUPTED, TurnStatus.FAILED),
        (TurnStatus.DELIVERED, TurnStatus.FAILED),
    ],
)
async def test_a_move_the_table_does_not_allow_is_refused_and_changes_nothing(
    store: SqlStore, start: TurnStatus, to: TurnStatus
) -> None:
    turn_id = await ledger.record(store, _request(), KEY, start)
    with pytest.raises(IllegalMove, match=f"cannot move to {to} from {start}"):
        await store.ledger.move(turn_id, to)
    [turn] = await store.ledger.turns(KEY)
    assert turn["status"] == start


async def test_a_turn_cannot_begin_delivered(store: SqlStore) -> None:
    with pytest.raises(IllegalMove):
        await ledger.begin(store, _request(), KEY, status=TurnStatus.DELIVERED)
    assert await store.ledger.turns(KEY) == []


async def test_a_queued_turn_moves_to_drawing(store: SqlStore) -> None:
    turn_id = await ledger.begin(store, _request(), KEY, status=TurnStatus.QUEUED)
    await store.ledger.move(turn_id, TurnStatus.DRAWING)
    [turn] = await store.ledger.turns(KEY)
    assert turn["status"] == "drawing"


async def test_turns_are_listed_oldest_first_and_per_thread(store: SqlStore) -> None:
    other = ThreadKey("slack", "T2", KEY.channel, KEY.thread)
    ids: list[int] = []
    for n in range(3):
        ids.append(await ledger.begin(store, _request(f"prompt {n}"), KEY))
        await ledger.begin(store, _request(f"elsewhere {n}"), other)
    await ledger.deliver(store, ids[1], KEY)
    await store.ledger.end(ids[0], status=TurnStatus.FAILED, error_code="timeout")

    turns = await store.ledger.turns(KEY)
    assert [t["id"] for t in turns] == ids
    assert [t["prompt"] for t in turns] == ["prompt 0", "prompt 1", "prompt 2"]
    assert [t["status"] for t in turns] == ["failed", "delivered", "drawing"]
    assert [t["prompt"] for t in await store.ledger.turns(other)] == [
        "elsewhere 0",
        "elsewhere 1",
        "elsewhere 2",
    ]


async def test_turns_of_an_unknown_thread_is_empty(store: SqlStore) -> None:
    assert await store.ledger.turns(KEY) == []


async def test_other_queries_still_return_plain_rows_after_turns(store: SqlStore) -> None:
    await ledger.begin(store, _request(), KEY)
    await store.ledger.turns(KEY)
    assert await store.db.one("SELECT 1, 2") == (1, 2)


async def test_turns_survive_reopen(opener: Opener) -> None:
    async with opener() as store:
        turn_id = await ledger.begin(store, _request(), KEY)
        final = ledger.final_image(turn_id, usage={"total_tokens": 5})
        await ledger.deliver(store, turn_id, KEY, final=final)
    async with opener() as store:
        [turn] = await store.ledger.turns(KEY)
    assert turn["id"] == turn_id
    assert json.loads(turn["usage"]) == {"total_tokens": 5}


async def test_the_outbox_keeps_a_final_image_until_it_is_delivered(opener: Opener) -> None:
    key = ThreadKey("slack", "T1", "C1", "1.0")
    final = FinalImage(
        data=b"\x89PNG final bytes",
        output_format="png",
        response_id="resp_1",
        image_call_id="ig_1",
        revised_prompt="a cat",
        usage={"total_tokens": 3},
    )
    async with opener() as store:
        turn = await ledger.begin(store, _request(), key)
        await store.ledger.hold(turn, final)
        assert [t.status for t in await store.ledger.unfinished()] == ["delivering"]
    async with opener() as store:  # as after a crash
        assert await store.ledger.held(turn) == Held(final)
        await store.ledger.placed(turn, key=key, final=final, file_ref="F1")
        assert await store.ledger.held(turn) == Held(final, file_ref="F1")  # as after a crash
        await store.ledger.complete(turn, final=final, cost_usd=0.04)
        assert await store.ledger.held(turn) is None
        assert (await store.ledger.outbox.held()) == []
        state = await store.threads.get(key)
        assert state is not None and state.last_response_id == "resp_1"


async def test_a_stray_outbox_image_is_removed_at_start(opener: Opener) -> None:
    key = ThreadKey("slack", "T1", "C1", "1.0")
    async with opener() as store:
        turn = await ledger.begin(store, _request(), key)
        await store.ledger.outbox.put(
            turn, b"written, then the process died before the turn said so"
        )
        assert (await store.ledger.outbox.held()) == [turn]
    async with opener() as store:
        assert (await store.ledger.outbox.held()) == []
