"""Where a bench run's easel keeps its state: a fresh SQLite file for one process, or a fresh
database on a PostgreSQL server of the run's own for replicas, started by the tests' launcher
(tests/postgres.py); afterwards, what each replica did, read from the `turns` table they
share (tests/fleet.py)."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from bench.common import Json
from bench.procs import ChildFailed, children_of, process_cpu
from tests.fleet import TurnsTable
from tests.postgres import PostgresServer, find_bindir, scratch_root, unavailable_reason


def fresh_sqlite(workdir: Path) -> Path:
    db = workdir / "easel.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return db


def postgres_missing() -> str | None:
    """Why replicas cannot run here (what to install), or None."""
    return unavailable_reason()


class Database:
    """`async with Database(workdir, replicas=n) as db`: `db.url` is the run's EASEL_DB."""

    def __init__(self, workdir: Path, *, replicas: int) -> None:
        self.workdir = workdir
        self.replicas = replicas
        self.url = ""
        self._server: PostgresServer | None = None

    async def __aenter__(self) -> Database:
        if self.replicas == 1:
            self.url = str(fresh_sqlite(self.workdir))
            return self
        missing = postgres_missing()
        bindir = find_bindir()
        if missing is not None or bindir is None:
            raise ChildFailed(f"replicas need PostgreSQL: {missing}")
        server = PostgresServer(bindir=bindir, parent=scratch_root(), name="easel-bench-pg")
        self._server = server
        await asyncio.to_thread(server.__enter__)
        name = await asyncio.to_thread(server.create_database, label="bench")
        self.url = server.url(name)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            await asyncio.to_thread(self._server.cleanup)
            self._server = None

    @property
    def name(self) -> str:
        return "postgres"

    def cpu_seconds(self) -> float:
        """The PostgreSQL server's CPU so far: its postmaster with the backends it waited for,
        and the backends still running (0 for SQLite, which runs inside easel)."""
        if self._server is None:
            return 0.0
        try:
            postmaster = int((self._server.data_dir / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0.0
        live = sum(process_cpu(pid) for pid in children_of(postmaster))
        return process_cpu(postmaster, waited=True) + live

    async def replicas_report(self) -> Json | None:
        """How the turns spread over the replicas, and any prompt drawn twice (PostgreSQL)."""
        if self._server is None:
            return None
        table = TurnsTable(self.url)
        try:
            rows = await table.rows()
        finally:
            await table.close()
        owners = Counter(turn.owner or "-" for turn in rows)
        prompts = Counter(turn.prompt for turn in rows)
        return {
            "turns_by_replica": sorted(owners.values(), reverse=True),
            "drawn_twice": sorted(p for p, n in prompts.items() if n > 1),
        }
