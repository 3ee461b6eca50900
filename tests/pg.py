"""A real PostgreSQL server for the tests, started on loopback by the tests themselves.

Usage::

    from tests.pg import get_server

    server = get_server()  # started lazily, once per test process
    server.create_database("t_abc")  # or: await server.acreate_database("t_abc")
    url = server.url_for("t_abc")  # postgresql+asyncpg://postgres@127.0.0.1:PORT/t_abc
    server.drop_database("t_abc")  # or: await server.adrop_database("t_abc")

If ``REPAYBOT_TEST_POSTGRES_URL`` is set (an admin URL such as
``postgresql://user:pw@127.0.0.1:5432/postgres``) that server is used and never stopped.
Otherwise ``initdb``/``pg_ctl`` are taken from the newest ``/usr/lib/postgresql/*/bin`` or
from ``PATH``; a missing installation is an error, never a skip. As root, the server runs as
the unprivileged ``postgres`` user (or a ``repaybot-pg`` system user created on demand),
because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import asyncpg
from sqlalchemy.engine import URL, make_url

ENV_URL = "REPAYBOT_TEST_POSTGRES_URL"
FALLBACK_USER = "repaybot-pg"
NOT_FOUND = "PostgreSQL server binaries not found: apt-get install postgresql"

__all__ = ["ENV_URL", "PostgresServer", "find_bindir", "get_server"]

T = TypeVar("T")


def _version_key(bindir: str) -> tuple[int, ...]:
    version = Path(bindir).parent.name
    return tuple(int(part) for part in re.findall(r"\d+", version)) or (0,)


def find_bindir() -> Path:
    """The directory holding initdb, pg_ctl and psql; RuntimeError when there is none."""
    candidates = [
        d
        for d in glob.glob("/usr/lib/postgresql/*/bin")
        if os.access(os.path.join(d, "initdb"), os.X_OK)
        and os.access(os.path.join(d, "pg_ctl"), os.X_OK)
    ]
    if candidates:
        return Path(max(candidates, key=_version_key))
    initdb = shutil.which("initdb")
    if initdb and shutil.which("pg_ctl", path=os.path.dirname(initdb)):
        return Path(initdb).parent
    raise RuntimeError(NOT_FOUND)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _quote_ident(name: str) -> str:
    if not name or "\x00" in name:
        raise ValueError(f"invalid database name {name!r}")
    return '"' + name.replace('"', '""') + '"'


def _run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on a private loop (works inside a running loop)."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(asyncio.run(coro))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target, name="tests.pg")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


def _ensure_unprivileged_user() -> str:
    for name in ("postgres", FALLBACK_USER):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            return name
    subprocess.run(
        ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", FALLBACK_USER],
        check=True,
        capture_output=True,
    )
    return FALLBACK_USER


class PostgresServer:
    """One PostgreSQL server: either started here (``start()``) or an external one."""

    def __init__(self, bindir: Path | None = None) -> None:
        self._bindir = bindir
        self._url: URL | None = None
        self._tmpdir: Path | None = None
        self._run_as: str | None = None
        self._owned = False
        self._owner_pid = os.getpid()
        self._options: str | None = None

    # -- construction -------------------------------------------------------------------

    @classmethod
    def from_url(cls, url: str) -> PostgresServer:
        """Use an already running server; ``stop()`` leaves it alone."""
        server = cls()
        server._url = make_url(url).set(drivername="postgresql")
        with contextlib.suppress(RuntimeError):
            server._bindir = find_bindir()
        return server

    def start(self) -> Self:
        """initdb into a fresh temp directory and start on 127.0.0.1:<free port>."""
        if self._url is not None:
            return self
        if self._bindir is None:
            self._bindir = find_bindir()
        if os.geteuid() == 0:
            self._run_as = _ensure_unprivileged_user()
        # As root the server user must reach the directory: keep it under /tmp (mode 1777).
        parent = "/tmp" if self._run_as and os.path.isdir("/tmp") else None
        self._tmpdir = Path(tempfile.mkdtemp(prefix="repaybot-pg-", dir=parent))
        self._owned = True
        self._owner_pid = os.getpid()
        atexit.register(self.stop)
        if self._run_as:
            user = pwd.getpwnam(self._run_as)
            os.chown(self._tmpdir, user.pw_uid, user.pw_gid)
        datadir = self._tmpdir / "data"
        self._pg(
            "initdb",
            "-D",
            str(datadir),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
        )
        last_error: RuntimeError | None = None
        for _attempt in range(3):  # the free port may be taken between probe and bind
            port = _free_port()
            options = (
                f"-k {shlex.quote(str(self._tmpdir))} -c listen_addresses=127.0.0.1 -p {port}"
                " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
                " -c max_connections=200"
            )
            try:
                self._pg(
                    "pg_ctl",
                    "start",
                    "-w",
                    "-t",
                    "60",
                    "-D",
                    str(datadir),
                    "-l",
                    str(self._tmpdir / "server.log"),
                    "-o",
                    options,
                )
            except RuntimeError as exc:
                last_error = exc
                continue
            self._url = URL.create(
                "postgresql", username="postgres", host="127.0.0.1", port=port, database="postgres"
            )
            self._options = options
            return self
        self.stop()
        raise RuntimeError(f"could not start PostgreSQL: {last_error}")

    def _pg(self, program: str, *args: str) -> subprocess.CompletedProcess[str]:
        assert self._bindir is not None
        assert self._tmpdir is not None
        cmd = [str(self._bindir / program), *args]
        if self._run_as:
            cmd = ["runuser", "-u", self._run_as, "--", *cmd]
        env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
        env.pop("PGDATA", None)
        proc = subprocess.run(
            cmd, cwd=self._tmpdir, env=env, capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            log = self._tmpdir / "server.log"
            tail = ""
            with contextlib.suppress(OSError):
                tail = "\n--- server.log ---\n" + log.read_text(errors="replace")[-4000:]
            raise RuntimeError(
                f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}{tail}"
            )
        return proc

    # -- lifecycle -----------------------------------------------------------------------

    def halt(self) -> None:
        """Stop a server started here, keeping its files, as an operator or a failover
        would (``fast``: clients are disconnected); ``resume()`` starts it again."""
        assert self._owned, "only a server started here"
        assert self._tmpdir is not None
        self._pg("pg_ctl", "stop", "-D", str(self._tmpdir / "data"), "-m", "fast", "-w")

    def resume(self) -> None:
        """Start a halted server again on the same port, with the same data."""
        assert self._tmpdir is not None
        assert self._options is not None
        datadir = self._tmpdir / "data"
        log = str(self._tmpdir / "server.log")
        self._pg(
            "pg_ctl", "start", "-w", "-t", "60", "-D", str(datadir), "-l", log, "-o", self._options
        )

    def stop(self) -> None:
        """Stop a server started here (immediate mode) and delete its files. Idempotent.

        A no-op for an external server and in a forked child of the process that started it.
        """
        if not self._owned or os.getpid() != self._owner_pid:
            return
        self._owned = False
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)
        if self._tmpdir is None:
            return
        datadir = self._tmpdir / "data"
        if (datadir / "postmaster.pid").exists():
            with contextlib.suppress(Exception):
                self._pg("pg_ctl", "stop", "-D", str(datadir), "-m", "immediate", "-w")
        shutil.rmtree(self._tmpdir, ignore_errors=True)
        self._url = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -----------------------------------------------------------------------

    @property
    def url(self) -> URL:
        if self._url is None:
            raise RuntimeError("PostgreSQL server is not running")
        return self._url

    @property
    def host(self) -> str:
        return self.url.host or "127.0.0.1"

    @property
    def port(self) -> int:
        return self.url.port or 5432

    @property
    def admin_url(self) -> str:
        """libpq/asyncpg URL of the maintenance database, e.g. postgresql://postgres@h:p/postgres."""
        return self.url.render_as_string(hide_password=False)

    def url_for(self, dbname: str, driver: str = "postgresql+asyncpg") -> str:
        """SQLAlchemy URL string for ``dbname`` on this server."""
        return self.url.set(drivername=driver, database=dbname).render_as_string(
            hide_password=False
        )

    # -- databases (async: asyncpg) ------------------------------------------------------

    async def _admin_execute(self, sql: str) -> None:
        conn = await asyncpg.connect(self.admin_url)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    async def acreate_database(self, name: str, template: str | None = None) -> None:
        """CREATE DATABASE name [TEMPLATE template]; the template must have no connections."""
        await self._admin_execute(_create_sql(name, template))

    async def adrop_database(self, name: str) -> None:
        """DROP DATABASE IF EXISTS name WITH (FORCE): open connections are terminated."""
        await self._admin_execute(_drop_sql(name))

    # -- databases (sync: psql, usable from inside a running event loop) -----------------

    def _psql(self, sql: str) -> None:
        psql = None
        if self._bindir is not None and (self._bindir / "psql").exists():
            psql = str(self._bindir / "psql")
        psql = psql or shutil.which("psql")
        if psql is None:  # external server without client tools: asyncpg on a private loop
            _run_in_thread(self._admin_execute(sql))
            return
        env = {**os.environ}
        if self.url.password:
            env["PGPASSWORD"] = str(self.url.password)
        cmd = [
            psql,
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-h",
            self.host,
            "-p",
            str(self.port),
            "-U",
            self.url.username or "postgres",
            "-d",
            self.url.database or "postgres",
            "-c",
            sql,
        ]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(f"psql failed ({proc.returncode}): {sql}\n{proc.stderr}")

    def create_database(self, name: str, template: str | None = None) -> None:
        """Synchronous ``acreate_database`` (runs psql)."""
        self._psql(_create_sql(name, template))

    def drop_database(self, name: str) -> None:
        """Synchronous ``adrop_database`` (runs psql)."""
        self._psql(_drop_sql(name))


def _create_sql(name: str, template: str | None) -> str:
    sql = f"CREATE DATABASE {_quote_ident(name)}"
    if template is not None:
        sql += f" TEMPLATE {_quote_ident(template)}"
    return sql


def _drop_sql(name: str) -> str:
    return f"DROP DATABASE IF EXISTS {_quote_ident(name)} WITH (FORCE)"


_server: PostgresServer | None = None
_server_lock = threading.Lock()


def get_server() -> PostgresServer:
    """The test process's server: ``REPAYBOT_TEST_POSTGRES_URL`` or one started on first use."""
    global _server
    with _server_lock:
        if _server is None or _server._url is None:
            url = os.environ.get(ENV_URL)
            _server = PostgresServer.from_url(url) if url else PostgresServer().start()
        return _server


# Imported both as ``tests.pg`` (python -m pytest from the repo root) and as ``pg`` (pytest's
# rootdir-less sys.path insertion): alias the two names so one process starts one server.
_this = sys.modules[__name__]
if __name__ == "tests.pg":
    sys.modules.setdefault("pg", _this)
elif __name__ == "pg" and "tests" in sys.modules:
    sys.modules.setdefault("tests.pg", _this)


@contextlib.asynccontextmanager
async def database_url_for(backend: str, folder: Path, prefix: str) -> AsyncIterator[str]:
    """A test's database: a SQLite file in ``folder`` for ``"sqlite"``, otherwise a fresh
    database on the shared PostgreSQL server, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder}/repaybot.db"
        return
    server = get_server()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await server.acreate_database(name)
    try:
        yield server.url_for(name)
    finally:
        await server.adrop_database(name)
