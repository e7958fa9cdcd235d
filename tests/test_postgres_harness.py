"""The PostgreSQL test server itself: URLs, fresh databases, restarts, NOTIFY and passwords.

Every test here talks to a real server through psycopg's AsyncConnection, as easel will.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from pathlib import Path

import psycopg
import pytest
from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict

from tests.postgres import PostgresServer, find_bindir, unavailable_reason

pytest_plugins = ["tests.postgres"]  # the fixtures postgres_server and pg_url

QUICK = 2  # seconds: a connection attempt to a server that is down fails well before this


async def connect(url: str) -> AsyncConnection[tuple[object, ...]]:
    return await AsyncConnection.connect(url, autocommit=True, connect_timeout=QUICK)


async def scalar(
    conn: AsyncConnection[tuple[object, ...]], query: str, params: Sequence[object] = ()
) -> object:
    row = await (await conn.execute(query, params)).fetchone()
    assert row is not None
    return row[0]


def database_of(url: str) -> str:
    return str(conninfo_to_dict(url)["dbname"])


# -- without a server ---------------------------------------------------------------------------


def test_finds_the_newest_complete_bin_directory(tmp_path: Path) -> None:
    def install(version: str, *programs: str) -> None:
        bindir = tmp_path / version / "bin"
        bindir.mkdir(parents=True)
        for name in programs:
            (bindir / name).touch(mode=0o755)

    assert find_bindir(tmp_path) is None
    reason = unavailable_reason(tmp_path)
    assert reason is not None and "apt-get install postgresql" in reason
    install("9.6", "initdb", "pg_ctl", "postgres")
    install("15", "initdb", "pg_ctl", "postgres")
    install("16", "initdb", "pg_ctl")  # no server binary: not a usable installation
    install("common", "initdb", "pg_ctl", "postgres")
    assert find_bindir(tmp_path) == tmp_path / "15" / "bin"


def test_url_is_read_back_by_libpq_with_awkward_characters() -> None:
    server = PostgresServer(bindir=Path("/nonexistent"))
    server.port = 54321
    url = server.url("db/with space", user="us@er", password="p@ss:w/rd%")
    assert conninfo_to_dict(url) == {
        "host": "127.0.0.1",
        "port": "54321",
        "dbname": "db/with space",
        "user": "us@er",
        "password": "p@ss:w/rd%",
    }
    assert "password" not in conninfo_to_dict(server.url("db", with_password=False))


# -- the server ---------------------------------------------------------------------------------


async def test_connects_with_the_url_and_runs_a_query(pg_url: str) -> None:
    async with await connect(pg_url) as conn:
        assert await scalar(conn, "SELECT current_database()") == database_of(pg_url)
        assert await scalar(conn, "SELECT 6 * 7") == 42
        assert int(str(await scalar(conn, "SHOW server_version_num"))) >= 130000  # DROP (FORCE)


async def test_settings_for_tests_and_replicas(pg_url: str) -> None:
    async with await connect(pg_url) as conn:
        assert await scalar(conn, "SHOW listen_addresses") == "127.0.0.1"
        assert await scalar(conn, "SHOW max_connections") == "200"
        assert await scalar(conn, "SHOW fsync") == "off"
        assert await scalar(conn, "SHOW server_encoding") == "UTF8"


seen_databases: set[str] = set()


@pytest.mark.parametrize("turn", [1, 2])
async def test_each_test_gets_a_fresh_empty_database(pg_url: str, turn: int) -> None:
    database = database_of(pg_url)
    assert database not in seen_databases
    seen_databases.add(database)
    async with await connect(pg_url) as conn:
        tables = "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        assert await scalar(conn, tables) == 0
        await conn.execute("CREATE TABLE left_behind (turn int)")  # the other turn must not see it


async def test_databases_are_apart(postgres_server: PostgresServer) -> None:
    first, second = postgres_server.create_database(), postgres_server.create_database()
    try:
        async with await connect(postgres_server.url(first)) as conn:
            await conn.execute("CREATE TABLE only_in_first (v int)")
        async with await connect(postgres_server.url(second)) as conn:
            assert await scalar(conn, "SELECT to_regclass('only_in_first') IS NULL") is True
    finally:
        postgres_server.drop_database(first)
        postgres_server.drop_database(second)
    async with await connect(postgres_server.url()) as conn:
        query = "SELECT count(*) FROM pg_database WHERE datname = ANY(%s)"
        assert await scalar(conn, query, [[first, second]]) == 0


async def test_stop_refuses_connections_and_start_keeps_the_data(
    postgres_server: PostgresServer,
    pg_url: str,
) -> None:
    async with await connect(pg_url) as conn:
        await conn.execute("CREATE TABLE kept (v text)")
        await conn.execute("INSERT INTO kept VALUES ('before the stop')")
    survivor = await connect(pg_url)
    await asyncio.to_thread(postgres_server.stop)
    try:
        with pytest.raises(psycopg.OperationalError):
            await connect(pg_url)
    finally:
        await asyncio.to_thread(postgres_server.start)
    with pytest.raises(psycopg.OperationalError):  # a connection from before does not come back
        await survivor.execute("SELECT 1")
    await survivor.close()
    async with await connect(pg_url) as conn:  # the same URL: same port, same password
        assert await scalar(conn, "SELECT v FROM kept") == "before the stop"


async def test_restart_and_kill_keep_committed_data(
    postgres_server: PostgresServer,
    pg_url: str,
) -> None:
    async with await connect(pg_url) as conn:
        await conn.execute("CREATE TABLE kept (v int)")
        await conn.execute("INSERT INTO kept VALUES (1)")
    await asyncio.to_thread(postgres_server.restart)
    async with await connect(pg_url) as conn:
        await conn.execute("INSERT INTO kept VALUES (2)")
    await asyncio.to_thread(postgres_server.kill)  # as a crash: recovery from the WAL at start
    try:
        with pytest.raises(psycopg.OperationalError):
            await connect(pg_url)
    finally:
        await asyncio.to_thread(postgres_server.start)
    async with await connect(pg_url) as conn:
        assert await scalar(conn, "SELECT array_agg(v ORDER BY v) FROM kept") == [1, 2]


async def test_listen_notify_round_trip(pg_url: str) -> None:
    async with await connect(pg_url) as listener, await connect(pg_url) as sender:
        await listener.execute("LISTEN easel_turns")
        await sender.execute("SELECT pg_notify('easel_turns', 'turn 7 queued')")
        received = [n async for n in listener.notifies(timeout=5, stop_after=1)]
        assert [(n.channel, n.payload, n.pid) for n in received] == [
            ("easel_turns", "turn 7 queued", sender.info.backend_pid)
        ]


async def test_password_in_the_url_is_checked_with_scram(
    postgres_server: PostgresServer,
    pg_url: str,
) -> None:
    database = database_of(pg_url)
    role, password = f"replica_{secrets.token_hex(4)}", secrets.token_urlsafe(12)
    with postgres_server.connect() as admin:
        admin.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                sql.Identifier(role), sql.Literal(password)
            )
        )
    try:
        async with await connect(postgres_server.url(database, user=role, password=password)) as c:
            assert await scalar(c, "SELECT current_user") == role
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            await connect(postgres_server.url(database, user=role, password=password + "x"))
        with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
            await connect(postgres_server.url(database, password="not-the-password"))
        async with await connect(postgres_server.url()) as admin_async:
            query = "SELECT rolpassword FROM pg_authid WHERE rolname = %s"
            stored = await scalar(admin_async, query, [role])
            assert str(stored).startswith("SCRAM-SHA-256$")
            method = await scalar(
                admin_async,
                "SELECT auth_method FROM pg_hba_file_rules WHERE '127.0.0.1' = address",
            )
            assert method == "scram-sha-256"
    finally:
        with postgres_server.connect() as admin:
            admin.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


@pytest.fixture
def no_password_around(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No PGPASSWORD, and a password file that does not exist yet; returns its path."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    passfile = tmp_path / "pgpass"
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    return passfile


def write_passfile(path: Path, line: str) -> None:
    path.write_text(line + "\n")
    path.chmod(0o600)  # libpq ignores a password file that others can read


async def test_pgpassword_is_used_when_the_url_has_no_password(
    postgres_server: PostgresServer,
    pg_url: str,
    no_password_around: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bare = postgres_server.url(database_of(pg_url), with_password=False)
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        await connect(bare)
    monkeypatch.setenv("PGPASSWORD", postgres_server.password)
    async with await connect(bare) as conn:
        assert await scalar(conn, "SELECT 1") == 1


async def test_pgpass_file_is_used_when_the_url_has_no_password(
    postgres_server: PostgresServer,
    pg_url: str,
    no_password_around: Path,
) -> None:
    database = database_of(pg_url)
    bare = postgres_server.url(database, with_password=False)
    line = f"127.0.0.1:{postgres_server.port}:{database}:{postgres_server.user}:"
    write_passfile(no_password_around, line + postgres_server.password)
    async with await connect(bare) as conn:
        assert await scalar(conn, "SELECT current_user") == postgres_server.user
    write_passfile(no_password_around, f"127.0.0.1:{postgres_server.port}:other_db:*:nope")
    with pytest.raises(psycopg.OperationalError, match="no password supplied"):
        await connect(bare)
