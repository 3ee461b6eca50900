"""The ``reminder_log`` rows of a claim, read and written in bulk: which keys have a row,
the new rows, and the rows an outcome settles — each one statement however many rows.

The keys travel as one JSON array parameter that the database unpacks (SQLite's
``json_each``, PostgreSQL's ``json_array_elements``), not as a bound parameter per value:
at the limits a user's daily overdue reminders are 1,200 rows, and SQLAlchemy's work per
bound parameter (naming, type processing, rendering ``IN`` lists) was most of the cost
of a sweep of that user (issue 10 §3).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, bindparam, delete, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import ReminderLogRow
from core.db.types import UTCDateTime

Key = tuple[int, str, int]  # (installment, kind, offset): a reminder's unique key
# A settled row older than this is forgotten: its key can never be due again (a reminder
# is sent within hours of its day, a receipt within a day), and a snooze tapped on a
# message this old is answered as an unknown reminder.
REMINDER_RETENTION = timedelta(days=60)
PENDING, CLAIMED, SENT, FAILED, SUPERSEDED = "pending", "claimed", "sent", "failed", "superseded"
SETTLED = (SENT, FAILED, SUPERSEDED)
PURGE_BATCH = 5000
# A row to insert: user, installment, kind, offset, fire_at, status.
NewRow = tuple[int, int, str, int, datetime, str]

_KNOWN = {
    "sqlite": """
        SELECT r.installment_id, r.kind, r."offset" FROM json_each(:keys) AS k
        JOIN reminder_log AS r ON r.installment_id = k.value ->> 0
            AND r.kind = k.value ->> 1 AND r."offset" = k.value ->> 2""",
    "postgresql": """
        SELECT r.installment_id, r.kind, r."offset"
        FROM json_array_elements(CAST(:keys AS json)) AS k(value)
        JOIN reminder_log AS r ON r.installment_id = CAST(k.value ->> 0 AS INTEGER)
            AND r.kind = k.value ->> 1 AND r."offset" = CAST(k.value ->> 2 AS INTEGER)""",
}

# ``WHERE true`` tells SQLite's parser that ON CONFLICT is not a join constraint.
_INSERT = {
    "sqlite": """
        INSERT INTO reminder_log
            (user_id, installment_id, kind, "offset", fire_at, status, lease_until,
             attempts, created_at)
        SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5,
            CASE WHEN value ->> 5 = :claimed THEN :lease_until END,
            CASE WHEN value ->> 5 = :claimed THEN 1 ELSE 0 END, :now
        FROM json_each(:rows) WHERE true
        ON CONFLICT (installment_id, kind, "offset") DO NOTHING
        RETURNING id, installment_id, kind, "offset\"""",
    "postgresql": """
        INSERT INTO reminder_log
            (user_id, installment_id, kind, "offset", fire_at, status, lease_until,
             attempts, created_at)
        SELECT CAST(value ->> 0 AS BIGINT), CAST(value ->> 1 AS INTEGER), value ->> 2,
            CAST(value ->> 3 AS INTEGER), CAST(value ->> 4 AS TIMESTAMPTZ), value ->> 5,
            CASE WHEN value ->> 5 = :claimed THEN :lease_until END,
            CASE WHEN value ->> 5 = :claimed THEN 1 ELSE 0 END, :now
        FROM json_array_elements(CAST(:rows AS json)) AS value
        ON CONFLICT (installment_id, kind, "offset") DO NOTHING
        RETURNING id, installment_id, kind, "offset\"""",
}

_IDS = {
    "sqlite": "SELECT value FROM json_each(:ids)",
    "postgresql": "SELECT CAST(value AS INTEGER) FROM json_array_elements_text(CAST(:ids AS json))"
    " AS value",
}


def _dialect(session: AsyncSession) -> str:
    name = session.get_bind().dialect.name
    return "postgresql" if name == "postgresql" else "sqlite"


async def known_keys(session: AsyncSession, keys: Sequence[Key]) -> set[Key]:
    """Which of these unique keys already have a reminder row."""
    if not keys:
        return set()
    statement = text(_KNOWN[_dialect(session)]).bindparams(keys=json.dumps(list(keys)))
    rows = await session.execute(statement)
    return {(i, k, o) for i, k, o in rows.all()}


async def insert_new(
    session: AsyncSession,
    rows: Sequence[NewRow],
    *,
    claimed: str,
    lease_until: datetime,
    now: datetime,
) -> dict[Key, int]:
    """Insert the rows, created ``now`` (those in status ``claimed`` leased until
    ``lease_until`` and counted as one attempt), skipping any key another sweep inserted
    meanwhile; the ids of the rows inserted here, by key."""
    if not rows:
        return {}
    dialect = _dialect(session)
    stored = _stored_instant(session, dialect)
    values = [[u, i, k, o, stored(at), s] for u, i, k, o, at, s in rows]
    statement = text(_INSERT[dialect]).bindparams(
        bindparam("rows", json.dumps(values)),
        bindparam("claimed", claimed),
        bindparam("lease_until", lease_until, type_=UTCDateTime()),
        bindparam("now", now, type_=UTCDateTime()),
    )
    result = await session.execute(statement)
    return {(i, k, o): log_id for log_id, i, k, o in result.all()}


def ids_in(session: AsyncSession, ids: Sequence[int]) -> ColumnElement[bool]:
    """``reminder_log.id IN (ids)`` with the ids as one parameter."""
    listed = text(_IDS[_dialect(session)]).bindparams(ids=json.dumps(list(ids)))
    return ReminderLogRow.id.in_(listed.columns(value=Integer))


def _stored_instant(session: AsyncSession, dialect: str) -> Callable[[datetime], Any]:
    """An instant as the ``fire_at`` column stores it (SQLite: SQLAlchemy's text form,
    through the column's own type; PostgreSQL: ISO text for a TIMESTAMPTZ cast), each
    distinct instant converted once."""
    if dialect == "postgresql":
        return lambda at: at.astimezone(UTC).isoformat()
    column_type = ReminderLogRow.__table__.c.fire_at.type
    dialect_of = session.get_bind().dialect
    process = column_type.dialect_impl(dialect_of).bind_processor(dialect_of)
    assert process is not None
    cache: dict[datetime, Any] = {}

    def stored(at: datetime) -> Any:
        if at not in cache:
            cache[at] = process(at)
        return cache[at]

    return stored


async def purge_settled(session: AsyncSession, now: datetime, batch: int = PURGE_BATCH) -> int:
    """Forget settled rows that fell due before the retention, at most ``batch`` at a
    time (the index on status and fire_at finds them); how many. The caller commits."""
    old = (
        select(ReminderLogRow.id)
        .where(
            ReminderLogRow.status.in_(SETTLED),
            ReminderLogRow.fire_at < now - REMINDER_RETENTION,
        )
        .limit(batch)
    )
    ids = list(await session.scalars(old))
    if ids:
        await session.execute(delete(ReminderLogRow).where(ids_in(session, ids)))
    return len(ids)
