"""/forget: delete a person's data for good, or keep their payment records without them.

Deleting rows is not enough on SQLite: the deleted text stays in free pages of the
database file and in the write-ahead log until both are overwritten. So the deletion
runs with ``secure_delete`` (SQLite zeroes what it frees), and ``scrub`` then copies
the log into the file and truncates it.

With ``keep_payment_records`` (the operator must keep payment records, FORGET_KEEPS_
PAYMENT_RECORDS), payments, their allocation lines, the installments they paid and the
plans' terms move to a pseudonymous owner: a user row with a random negative id (no
Telegram user has one), inactive, with nothing due. The foreign keys require the chain
allocation line → installment → plan → user, so the plans stay, closed, without their
titles or the lender's external id; everything else goes with the person.
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, update

from core.db.models import BotStateRow, PaymentRow, PlanRow, User
from core.db.uow import Database, UnitOfWork
from core.services.errors import PaymentInFlight
from core.services.overview import in_flight
from core.services.users import lock_user

log = logging.getLogger(__name__)
# A pseudonymous owner is never looked at by the sweeps.
NEVER = datetime(9999, 1, 1, tzinfo=UTC)
KEPT_TITLE = ""


async def forget_user(
    uow: UnitOfWork, telegram_id: int, now: datetime, *, keep_payment_records: bool = False
) -> bool:
    """Delete the user and, by cascade, every plan, payment, card, credit line, quote and
    reminder of theirs, and the chat's saved conversation state; False if unknown.

    ``keep_payment_records``: payments and what they paid are kept under a pseudonym.
    ``PaymentInFlight`` while a payment of theirs is with the provider: its outcome must
    find its record (and its owner be told) first; nothing is deleted."""
    if await uow.session.get(User, telegram_id) is None:
        return False
    # Locked first: a payment starting now (a confirm, an auto-repay) waits for this, and
    # one already committed is seen.
    await lock_user(uow, telegram_id)
    if await in_flight(uow, telegram_id):
        raise PaymentInFlight()
    connection = await uow.session.connection()
    if connection.dialect.name == "sqlite":
        await connection.exec_driver_sql("PRAGMA secure_delete=ON")
    if keep_payment_records:
        await _move_records(uow, telegram_id, now)
    await uow.session.execute(delete(User).where(User.telegram_id == telegram_id))
    await uow.session.execute(delete(BotStateRow).where(BotStateRow.user_id == telegram_id))
    await uow.commit()
    return True


async def _move_records(uow: UnitOfWork, telegram_id: int, now: datetime) -> None:
    owner = -(secrets.randbelow(2**62) + 1)
    uow.session.add(
        User(
            telegram_id=owner,
            language="zh",
            timezone="UTC",
            active=False,
            created_at=now,
            reminders_enabled=False,
            overdue_daily=False,
            next_sweep_at=NEVER,
        )
    )
    await uow.session.flush()
    await uow.session.execute(
        update(PlanRow)
        .where(PlanRow.user_id == telegram_id, PlanRow.closed_at.is_(None))
        .values(closed_at=now)
    )
    await uow.session.execute(
        update(PlanRow)
        .where(PlanRow.user_id == telegram_id)
        .values(
            user_id=owner,
            title=KEPT_TITLE,
            external_id=None,
            autopay=False,
            autopay_method_id=None,
        )
    )
    # The method a payment came from goes with the person (its label and last 4 digits).
    await uow.session.execute(
        update(PaymentRow)
        .where(PaymentRow.user_id == telegram_id)
        .values(user_id=owner, method_id=None, quote_id=None)
    )


async def scrub(db: Database) -> None:
    """SQLite: copy the write-ahead log into the database file and truncate it, so that
    deleted rows live on in neither (PostgreSQL: nothing to do)."""
    if db.engine.dialect.name != "sqlite":
        return
    async with db.engine.connect() as connection:
        result = await connection.run_sync(_checkpoint)
    if result and result[0]:
        # Another process was reading: the log is copied later, by SQLite's own checkpoint.
        log.warning("forget: the write-ahead log could not be truncated now (busy)")


def _checkpoint(connection: Any) -> Any:
    # On the driver's connection, outside SQLAlchemy's transaction: our engine begins every
    # transaction with BEGIN IMMEDIATE, and a checkpoint cannot truncate under its own reader.
    cursor = connection.connection.dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return cursor.fetchone()
    finally:
        cursor.close()
