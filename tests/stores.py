"""Stores on both engines, for the store's contract tests: each test runs on SQLite and on a
real PostgreSQL of the tests' own (tests/postgres.py; skipped, naming the package, where
PostgreSQL is not installed)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.store.sqlite import PostgresStore, SqliteStore, SqlStore

Opener = Callable[..., SqlStore]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "easel.db"


Opener = Callable[[], SqlStore]


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, db_path: Path) -> Opener:
    """A new store on the test's own database, each call another easel on it: the same
    contract runs on both engines."""
    if request.param == "postgres":
        url = request.getfixturevalue("pg_url")
        return lambda **kw: PostgresStore(url=url, **kw)
    return lambda **kw: SqliteStore(path=db_path, **kw)


@pytest.fixture
async def store(opener: Opener) -> AsyncIterator[SqlStore]:
    async with opener() as opened:
        yield opened


@pytest.fixture
async def sqlite_store(db_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(path=db_path) as opened:
        yield opened
