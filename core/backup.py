"""Backup and restore of the database, for ``repaybot backup`` and ``repaybot restore``.

SQLite: SQLite's online backup API — a consistent copy of the file taken while the bot
keeps running (a write in progress is not in it; in WAL mode writers are not blocked).
PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore --clean``, with the password
passed in the environment, never on a command line other users can see.

A restore replaces the database's content: stop the bot first.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(RuntimeError):
    """The backup or restore could not be done (a tool failed, or is missing)."""


class BackupRefused(BackupError):
    """What was asked is wrong: a file that is missing, exists, or is not a backup."""


@dataclass(frozen=True, slots=True)
class Target:
    kind: str  # sqlite | postgresql
    sqlite_path: Path | None = None
    pg_url: URL | None = None


def target_of(database_url: str) -> Target:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise BackupRefused("an in-memory SQLite database cannot be backed up")
        return Target("sqlite", sqlite_path=Path(url.database))
    if url.get_backend_name() == "postgresql":
        return Target("postgresql", pg_url=url)
    raise BackupRefused(f"unsupported database: {url.get_backend_name()}")


def backup(database_url: str, dest: Path, *, force: bool = False) -> None:
    """Write a backup of the database to ``dest`` (refused if it exists, unless ``force``)."""
    if dest.exists() and not force:
        raise BackupRefused(f"{dest} exists (use --force to overwrite it)")
    target = target_of(database_url)
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        if target.sqlite_path is not None:
            _sqlite_backup(target.sqlite_path, partial)
        elif target.pg_url is not None:
            _pg("pg_dump", target.pg_url, ["--format=custom", f"--file={partial}"])
        partial.replace(dest)  # a backup file is either complete or absent
    finally:
        partial.unlink(missing_ok=True)


def restore(database_url: str, source: Path) -> None:
    """Replace the database's content with the backup ``source``."""
    if not source.is_file():
        raise BackupRefused(f"{source}: no such backup file")
    target = target_of(database_url)
    if target.sqlite_path is not None:
        _check_sqlite_backup(source)
        target.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        with _connect(source) as src, _connect(target.sqlite_path) as dst:
            src.backup(dst)
    elif target.pg_url is not None:
        _pg(
            "pg_restore",
            target.pg_url,
            ["--clean", "--if-exists", "--no-owner", "--exit-on-error", str(source)],
            dbname_flag=True,
        )


def _sqlite_backup(path: Path, dest: Path) -> None:
    if not path.is_file():
        raise BackupRefused(f"{path}: no such database file")
    with _connect(path) as src, _connect(dest) as dst:
        src.backup(dst)  # all pages in one step: one consistent snapshot


def _check_sqlite_backup(source: Path) -> None:
    try:
        with _connect(source) as db:
            db.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupRefused(f"{source} is not a RepayBot SQLite backup ({exc})") from exc


def _connect(path: Path) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(path, timeout=30))


def pg_tool(name: str) -> str:
    """``pg_dump``/``pg_restore`` from PATH, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    if not candidates:
        raise BackupError(f"{name} not found: install the PostgreSQL client (postgresql-client)")
    return max(candidates, key=lambda p: [int(n) for n in re.findall(r"\d+", p)])


def _pg(tool: str, url: URL, args: list[str], *, dbname_flag: bool = False) -> None:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    conninfo = plain.render_as_string(hide_password=False)
    command = [pg_tool(tool), *args]
    command += [f"--dbname={conninfo}"] if dbname_flag else [conninfo]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{tool} failed: {done.stderr.strip() or done.returncode}")
