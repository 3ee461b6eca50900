"""Applying the Alembic migrations, from the command line or at start-up."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: the PostgreSQL advisory lock instances starting together queue on.
MIGRATION_LOCK = 7_302_451_120


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Several instances starting at once on a new database would each create the
        # tables; the lock (held to the end of this transaction) makes them take turns,
        # and the later ones find the schema already at head.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
    command.upgrade(alembic_config(connection), "head")


class ForeignKeysBroken(RuntimeError):
    """A migration left rows that refer to rows that do not exist."""


def _upgrade_sqlite(connection: Connection) -> None:
    """Migrate with foreign keys off. A migration that rebuilds a table (Alembic's batch
    mode: create a copy, move the rows, drop the old table) would otherwise, on dropping
    the old table, delete or null every row that refers to it, as if each were deleted.
    The pragma is set outside any transaction, as SQLite requires; the rows are checked
    before the foreign keys are back on."""
    cursor = connection.connection.cursor()  # the driver's own: no BEGIN is issued
    try:
        cursor.execute("PRAGMA foreign_keys=OFF")
        with connection.begin():
            _upgrade(connection)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise ForeignKeysBroken(f"rows refer to missing rows: {broken[:5]}")
    finally:
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


async def migrate(engine: AsyncEngine) -> None:
    """Bring the database to the newest schema; a no-op when it is already there."""
    if engine.dialect.name == "sqlite":
        async with engine.connect() as connection:
            await connection.run_sync(_upgrade_sqlite)
        return
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade)
