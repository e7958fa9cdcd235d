"""A real PostgreSQL server of the tests' own, from Debian's `postgresql` package.

`PostgresServer` runs initdb into a fresh temporary directory and serves it on 127.0.0.1 at a
free port, with password (scram-sha-256) authentication and settings that trade durability for
speed. As root, initdb refuses to run, so the directory belongs to the `postgres` user and every
initdb and pg_ctl command runs as that user; as anyone else they run directly.

Fixtures, for a test module that says `pytest_plugins = ["tests.postgres"]`:

- `postgres_server`: one server per pytest process (so one per xdist worker), started on first
  use and removed at the end; it skips, naming the package, where PostgreSQL is not installed.
- `pg_url`: a fresh empty database for one test, as a libpq URL with user and password.

Its asserts are plain ones (PYTEST_DONT_REWRITE), so a test module may import from it before
pytest loads it as a plugin.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from itertools import count
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

import psycopg
import pytest
from psycopg import sql
from psycopg.rows import TupleRow

PACKAGE = "postgresql"
INSTALL_ROOT = Path("/usr/lib/postgresql")
PROGRAMS = ("initdb", "pg_ctl", "postgres")
OS_USER = "postgres"  # the user Debian's package creates; initdb runs as it when we are root
SUPERUSER = "easel"

# Fast and disposable: nothing here survives a crash of the machine, and nothing needs to.
SETTINGS = {
    "listen_addresses": "'127.0.0.1'",
    "max_connections": "200",  # three easel replicas with their pools, plus the tests
    # fsync off: a commit's WAL still reaches the OS, so data committed before kill() survives
    # it (synchronous_commit stays on: it costs a write() here, not a disk flush).
    "fsync": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "checkpoint_timeout": "1h",
    "shared_buffers": "32MB",
    "autovacuum": "off",
    "jit": "off",
    "password_encryption": "'scram-sha-256'",
    "log_min_messages": "warning",
}
HBA = """\
# TYPE  DATABASE  USER  ADDRESS       METHOD
local   all       all                 trust
host    all       all   127.0.0.1/32  scram-sha-256
"""


def find_bindir(root: Path = INSTALL_ROOT) -> Path | None:
    """The newest `<root>/<version>/bin` that has initdb, pg_ctl and postgres."""
    found: list[tuple[tuple[int, ...], Path]] = []
    for version_dir in root.glob("*"):
        if not re.fullmatch(r"\d+(\.\d+)*", version_dir.name):
            continue
        bindir = version_dir / "bin"
        if all(os.access(bindir / name, os.X_OK) for name in PROGRAMS):
            found.append((tuple(int(part) for part in version_dir.name.split(".")), bindir))
    return max(found)[1] if found else None


def unavailable_reason(root: Path = INSTALL_ROOT) -> str | None:
    """Why no server can start here, in words that say what to install; None when one can."""
    if find_bindir(root) is None:
        return (
            f"needs PostgreSQL's {', '.join(PROGRAMS)} in {root}/<version>/bin "
            f"(apt-get install {PACKAGE})"
        )
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "needs runuser (util-linux) to run PostgreSQL as its own user under root"
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"needs the {OS_USER!r} system user (apt-get install {PACKAGE} creates it)"
    return None


def scratch_root(*, needed: int = 1 << 30) -> Path | None:
    """/dev/shm when it is writable and has room, else None (the default temporary directory).

    In memory, CREATE DATABASE takes 10-20 ms; on an ext4 disk (mounted with discard) ~200 ms.
    """
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK | os.X_OK)):
        return None
    stats = os.statvfs(shm)
    return shm if stats.f_bavail * stats.f_frsize >= needed else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresError(RuntimeError):
    """initdb or pg_ctl failed; the message carries their output and the server's log."""


class PostgresServer:
    """One PostgreSQL cluster in its own temporary directory; `with` starts and removes it."""

    def __init__(
        self,
        *,
        bindir: Path,
        parent: Path | None = None,
        max_connections: int = 200,
        name: str = "easel-pg",
    ) -> None:
        self.bindir = bindir
        self.parent = parent
        self.max_connections = max_connections
        self.name = name
        self.user = SUPERUSER
        self.password = secrets.token_urlsafe(16)
        self.host = "127.0.0.1"
        self.port = 0
        self.base: Path | None = None
        self.running = False
        self._databases = count(1)

    # -- life cycle ---------------------------------------------------------------------------

    def __enter__(self) -> PostgresServer:
        try:
            self.init()
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    @property
    def data_dir(self) -> Path:
        assert self.base is not None, "init() first"
        return self.base / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.base is not None, "init() first"
        return self.base

    @property
    def log_path(self) -> Path:
        assert self.base is not None, "init() first"
        return self.base / "server.log"

    def init(self) -> None:
        """initdb into a fresh temporary directory (in `parent`, if given), then write the
        settings and pg_hba.conf."""
        base = Path(tempfile.mkdtemp(prefix=f"{self.name}-", dir=self.parent))
        self.base = base
        if os.geteuid() == 0:
            owner = pwd.getpwnam(OS_USER)
            os.chown(base, owner.pw_uid, owner.pw_gid)
        password_file = base / "password"
        self._write(password_file, self.password + "\n")
        self._run(
            "initdb",
            f"--pgdata={self.data_dir}",
            f"--username={self.user}",
            f"--pwfile={password_file}",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",
        )
        password_file.unlink()
        settings = {
            **SETTINGS,
            "max_connections": str(self.max_connections),
            "unix_socket_directories": f"'{self.socket_dir}'",
        }
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        (self.data_dir / "pg_hba.conf").write_text(HBA)  # rewritten in place: owner unchanged

    def start(self, *, attempts: int = 3) -> None:
        """pg_ctl start -w: returns once the server accepts connections.

        The first start picks a free port, and another one if that port was taken meanwhile;
        later starts keep the port, so URLs handed out before stay valid.
        """
        if self.base is None:
            self.init()
        for attempt in range(1, attempts + 1):
            fresh_port = self.port == 0
            if fresh_port:
                self.port = free_port()
            try:
                self._ctl("start", "--wait", "--timeout=60", f"--log={self.log_path}")
            except PostgresError:
                if not fresh_port or attempt == attempts:
                    raise
                self.port = 0
                continue
            self.running = True
            return

    def stop(self) -> None:
        """pg_ctl stop -m fast: clients are disconnected, the server shuts down cleanly."""
        self._ctl("stop", "--wait", "--mode=fast")
        self.running = False

    def kill(self) -> None:
        """pg_ctl stop -m immediate: no shutdown checkpoint, as after a crash; the next start
        recovers from the WAL."""
        self._ctl("stop", "--wait", "--mode=immediate")
        self.running = False

    def restart(self) -> None:
        """Stop (fast) and start again on the same port and data."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop the server if it runs, then remove its directory."""
        if self.base is None:
            return
        if self.running:
            try:
                self.stop()
            except PostgresError:
                self.kill()
        shutil.rmtree(self.base, ignore_errors=True)
        self.base = None

    # -- clients ------------------------------------------------------------------------------

    def url(
        self,
        database: str = "postgres",
        *,
        user: str | None = None,
        password: str | None = None,
        with_password: bool = True,
    ) -> str:
        """`postgresql://user:password@127.0.0.1:port/database`, as libpq reads it.

        Without `user`, the superuser and its password; `with_password=False` leaves the
        password out, for libpq to find in PGPASSWORD or the password file.
        """
        if user is None:
            user = self.user
            if password is None:
                password = self.password
        userinfo = quote(user, safe="")
        if with_password and password is not None:
            userinfo += ":" + quote(password, safe="")
        return f"postgresql://{userinfo}@{self.host}:{self.port}/{quote(database, safe='')}"

    def connect(self, database: str = "postgres") -> psycopg.Connection[TupleRow]:
        """A synchronous autocommit connection as the superuser, for setting tests up."""
        return psycopg.connect(self.url(database), autocommit=True, connect_timeout=10)

    def create_database(
        self, name: str | None = None, *, label: str = "", template: str = "template1"
    ) -> str:
        """CREATE DATABASE (a copy of `template`) and return its name.

        Without `name`, a name unique on this server, with `label` (a test's name, say) in it
        to tell the databases apart when looking at a failed run.
        """
        if name is None:
            slug = re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")
            name = f"t{next(self._databases)}_{slug}".rstrip("_")[:63]
        with self.connect() as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(name), sql.Identifier(template)
                )
            )
        return name

    def drop_database(self, name: str) -> None:
        """DROP DATABASE ... WITH (FORCE): connections still open to it are ended."""
        with self.connect() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )

    def log(self) -> str:
        """The server's log so far (for failure messages)."""
        if self.base is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")

    # -- commands -----------------------------------------------------------------------------

    def _ctl(self, action: str, *args: str) -> None:
        port = ("-o", f"-p {self.port}") if action == "start" else ()
        self._run("pg_ctl", action, f"--pgdata={self.data_dir}", *args, *port)

    def _run(self, program: str, *args: str) -> None:
        assert self.base is not None
        argv = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            argv = ["runuser", "-u", OS_USER, "--", *argv]
        # PG* variables meant for the tests' clients must not steer the server's tools.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        done = subprocess.run(
            argv,
            cwd=self.base,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode != 0:
            raise PostgresError(
                f"{program} {args[0] if args else ''} failed ({done.returncode}):\n"
                f"{done.stdout}{done.stderr}\n--- server log ---\n{self.log()[-4000:]}"
            )

    def _write(self, path: Path, text: str) -> None:
        """Write a file the server's user can read (and nobody else)."""
        path.write_text(text)
        path.chmod(0o600)
        if os.geteuid() == 0:
            owner = pwd.getpwnam(OS_USER)
            os.chown(path, owner.pw_uid, owner.pw_gid)


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server per pytest process (each xdist worker has its own), removed at the end."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    bindir = find_bindir()
    assert bindir is not None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with PostgresServer(bindir=bindir, parent=scratch_root(), name=f"easel-pg-{worker}") as server:
        yield server


@pytest.fixture
def pg_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh empty database for this test, as a libpq URL; dropped afterwards."""
    if not postgres_server.running:  # an earlier test stopped it and did not get to start it
        postgres_server.start()
    name = postgres_server.create_database(label=request.node.name)
    yield postgres_server.url(name)
    if not postgres_server.running:
        postgres_server.start()
    postgres_server.drop_database(name)
