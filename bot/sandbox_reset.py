"""``repaybot sandbox --reset``: delete the sandbox's database so the demo loads afresh.

Deleting a database is the one thing the sandbox does that cannot be undone, so it is
narrow on purpose: only a SQLite file (a server database is never dropped), never the
file the bot itself is configured to use, and a file named explicitly with
``--database-url`` only if it is a RepayBot database (not any file a typo points at).
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from sqlalchemy.engine import make_url

from core.db.engine import is_sqlite
from core.settings import get_settings

# SQLite's companions of a database file: the write-ahead log, its index, a rollback journal.
COMPANIONS = ("-wal", "-shm", "-journal")


class ResetRefused(Exception):
    """Why the database was left alone."""


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another backend or an in-memory database."""
    if not is_sqlite(url):
        return None
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def reset_database(url: str, *, explicit: bool) -> Path:
    """Delete the database file of ``url`` with its companions; the path deleted.

    ``explicit`` says the person named the database (``--database-url``); otherwise it is
    the sandbox's own default. Raises :class:`ResetRefused` without touching anything.
    """
    path = sqlite_file(url)
    if path is None:
        raise ResetRefused(
            f"--reset deletes a SQLite file, and {url} is not one; nothing was touched"
        )
    bots = sqlite_file(get_settings().database_url)
    if path == bots:
        raise ResetRefused(
            f"{path} is the bot's own database (DATABASE_URL); --reset never deletes it"
        )
    if explicit and path.exists() and not _is_repaybot_database(path):
        raise ResetRefused(f"{path} is not a RepayBot database; nothing was touched")
    for name in (str(path), *(f"{path}{suffix}" for suffix in COMPANIONS)):
        Path(name).unlink(missing_ok=True)
    return path


def _is_repaybot_database(path: Path) -> bool:
    try:
        with closing(sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)) as connection:
            tables = {
                row[0]
                for row in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name IN ('users', 'alembic_version')"
                )
            }
    except sqlite3.DatabaseError:  # not a database at all
        return False
    return tables == {"users", "alembic_version"}
