from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store.sqlite import SqliteStore
from tests.core.chat import BUILT


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(path=tmp_path / "easel.db") as opened:
        yield opened
        while BUILT:  # every service a test built stops before its store closes
            await BUILT.pop().aclose(grace=0)
