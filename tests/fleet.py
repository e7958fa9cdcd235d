"""Several easels on one PostgreSQL database, each its own process behind a load balancer
that spreads Slack's requests over them, and the `turns` table they share, read with psycopg
as an operator reads it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx2
import psycopg
from psycopg import sql

from tests.process import BotProcess
from tests.slack import SlackSender

T = TypeVar("T")
FINISHED = frozenset({"delivered", "failed", "interrupted"})
_COLUMNS = "id, status, owner, thread, prompt, message, response_id, final, file_ref, ended_at"


@dataclass(frozen=True)
class Turn:
    """One row of the `turns` table."""

    id: int
    status: str
    owner: str | None
    thread: str
    prompt: str
    message: dict[str, Any]
    response_id: str | None
    final: dict[str, Any] | None
    file_ref: str | None
    ended_at: float | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def posted(self) -> bool:
        """Its message is posted and recorded: a restart can find it again."""
        return bool(self.message.get("ts"))


class TurnsTable:
    """The turns every replica writes, read straight from the database; the connection is
    opened again after the server restarted."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn: psycopg.AsyncConnection[Any] | None = None

    async def rows(self) -> list[Turn]:
        """Every turn, oldest first; psycopg.OperationalError while the server is away."""
        try:
            if self._conn is None or self._conn.closed:
                self._conn = await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True, connect_timeout=5
                )
            cursor = await self._conn.execute(f"SELECT {_COLUMNS} FROM turns ORDER BY id")
            found = await cursor.fetchall()
        except psycopg.OperationalError:
            await self.close()
            raise
        return [_turn(row) for row in found]

    async def count(self, table: str) -> int:
        """The rows in `table` (admissions: drawings in flight on every replica)."""
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            cursor = await conn.execute(query)
            row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def all(self, query: str) -> list[tuple[Any, ...]]:
        """What `query` finds, on a connection of its own (for failure messages)."""
        async with await psycopg.AsyncConnection.connect(self._url, autocommit=True) as conn:
            cursor = await conn.execute(query.encode())
            return await cursor.fetchall()

    async def close(self) -> None:
        if self._conn is not None:
            await self._conn.close()
            self._conn = None


def _turn(row: tuple[Any, ...]) -> Turn:
    turn_id, status, owner, thread, prompt, message, response_id, final, file_ref, ended = row
    return Turn(
        id=int(turn_id),
        status=str(status),
        owner=owner,
        thread=str(thread),
        prompt=str(prompt),
        message=json.loads(message) if message else {},
        response_id=response_id,
        final=json.loads(final) if final else None,
        file_ref=file_ref,
        ended_at=ended,
    )


class TableWatch:
    """One reader polls the table for every waiter: `turns` is the latest snapshot, by prompt;
    `until(predicate)` waits for a snapshot (or anything else) that satisfies it."""

    def __init__(self, table: TurnsTable, *, every: float = 0.05) -> None:
        self.table = table
        self.every = every
        self.turns: dict[str, Turn] = {}
        self.rows: list[Turn] = []
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self._poll())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.table.close()

    async def _poll(self) -> None:
        while True:
            try:
                rows = await self.table.rows()
            except psycopg.OperationalError:
                rows = None  # the server is restarting: the last snapshot stands meanwhile
            if rows is not None:
                self.rows = rows
                self.turns = {turn.prompt: turn for turn in rows}
            async with self._changed:
                self._changed.notify_all()
            await asyncio.sleep(self.every)

    async def until(self, predicate: Callable[[], T], within: float = 30) -> T:
        """Wait until `predicate()` (looked at after every snapshot) is truthy; return it."""
        async with asyncio.timeout(within), self._changed:
            while not (result := predicate()):
                await self._changed.wait()
        return result


class Fleet:
    """`count` easel processes with the same environment; `routed` are those the load
    balancer still sends requests to."""

    def __init__(self, env: dict[str, str], *, count: int, logs: Path) -> None:
        self.bots = [BotProcess(env, log_path=logs / f"easel-{n}.log") for n in range(count)]
        self.senders: list[SlackSender] = []
        self.routed = set(range(count))

    async def __aenter__(self) -> Self:
        try:
            await asyncio.gather(*(bot.start() for bot in self.bots))
        except BaseException:
            await self._kill_all()
            raise
        self.senders = [SlackSender(port=bot.port) for bot in self.bots]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sender in self.senders:
            await sender.aclose()
        if exc is not None:
            print(self.logs())  # shown by pytest with the failure
        running = [bot for bot in self.bots if _running(bot)]
        for bot in running:
            bot.terminate()
        codes = await asyncio.gather(*(bot.wait() for bot in running), return_exceptions=True)
        await self._kill_all()
        if exc is None:
            assert codes == [0] * len(running), self.logs()

    async def _kill_all(self) -> None:
        for bot in self.bots:
            if _running(bot):
                bot.kill()
                await bot.wait()

    def kill(self, n: int) -> float:
        """SIGKILL replica `n` (the load balancer stops sending to it); the moment it died."""
        self.routed.discard(n)
        self.bots[n].kill()
        return time.monotonic()

    def logs(self, tail: int = 6000) -> str:
        return "\n".join(
            f"--- easel {n} ---\n{bot.log()[-tail:]}" for n, bot in enumerate(self.bots)
        )

    async def health(self, n: int) -> int:
        """The status /healthz of replica `n` answers."""
        async with httpx2.AsyncClient(timeout=10) as http:
            response = await http.get(f"http://127.0.0.1:{self.bots[n].port}/healthz")
        return response.status_code


def _running(bot: BotProcess) -> bool:
    return bot.proc is not None and bot.proc.returncode is None


async def poll(
    check: Callable[[], Awaitable[bool]], *, within: float, every: float = 0.05
) -> float:
    """Wait until `await check()` is true; how long that took."""
    start = time.monotonic()
    async with asyncio.timeout(within):
        while not await check():  # noqa: ASYNC110 - what is polled records, it does not signal
            await asyncio.sleep(every)
    return time.monotonic() - start
