"""Snoozing a reminder: the reminder the user tapped comes back once, later.

A snooze is a pending ``reminder_log`` row per line of the snoozed message, keyed
(installment, "snoozed", the snoozed row's id) — for a plan's overdue notice, the plan's
first installment: a double tap, or a second choice, finds the snooze already there. What
comes back is read as the installment (or the plan) stands then, and what was paid
meanwhile does not come back at all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import ReminderLogRow
from core.db.uow import UnitOfWork
from core.domain.ledger import PlanBook
from core.domain.quotes import open_positions
from core.domain.reminders import local_instant
from core.services.books import load_plans
from core.services.clock import local_date
from core.services.payment_receipts import RECEIPT
from core.services.reminder_items import SNOOZED
from core.services.reminder_rows import PENDING, SENT
from core.services.users import lock_user
from core.services.wakeups import wake

EVENING = time(20, 0)


class SnoozeChoice(StrEnum):
    HOUR = "hour"  # an hour from now
    TONIGHT = "tonight"  # 20:00 today, the user's time
    TOMORROW = "tomorrow"  # tomorrow at the user's reminder time


class SnoozeStatus(StrEnum):
    SNOOZED = "snoozed"
    ALREADY = "already"  # this message was snoozed before: it comes back once
    TOO_LATE = "too_late"  # "tonight" pressed at or after 20:00
    NOTHING_LEFT = "nothing_left"  # everything in the message is paid
    UNKNOWN = "unknown"  # not a reminder of this user's (or not recorded as sent)


@dataclass(frozen=True, slots=True)
class SnoozeResult:
    status: SnoozeStatus
    until: datetime | None = None  # UTC


def snooze_until(
    choice: SnoozeChoice, now: datetime, timezone: str, remind_at: time
) -> datetime | None:
    """When a reminder snoozed at ``now`` comes back; None for "tonight" once it is 20:00."""
    if choice is SnoozeChoice.HOUR:
        return now + timedelta(hours=1)
    today = now.astimezone(ZoneInfo(timezone)).date()
    if choice is SnoozeChoice.TONIGHT:
        evening = local_instant(today, EVENING, timezone)
        return evening if now < evening else None
    return local_instant(today + timedelta(days=1), remind_at, timezone)


def _late(book: PlanBook, owing: set[int], on: date) -> bool:
    grace = timedelta(days=book.terms.grace_days)
    return any(
        ledger.key in owing and ledger.installment.due_date + grace < on for ledger in book.ledgers
    )


async def snooze(
    uow: UnitOfWork, user_id: int, message_id: int, choice: SnoozeChoice, now: datetime
) -> SnoozeResult:
    """Snooze the reminder message ``message_id`` the user received; commits."""
    user = await lock_user(uow, user_id)
    rows = list(
        await uow.session.scalars(
            select(ReminderLogRow).where(
                ReminderLogRow.user_id == user_id,
                ReminderLogRow.message_id == message_id,
                ReminderLogRow.status == SENT,
                ReminderLogRow.kind != RECEIPT,
            )
        )
    )
    if not rows:
        return SnoozeResult(SnoozeStatus.UNKNOWN)
    earlier = await uow.session.scalar(
        select(ReminderLogRow.fire_at).where(
            ReminderLogRow.kind == SNOOZED,
            ReminderLogRow.offset.in_([row.id for row in rows]),
            ReminderLogRow.installment_id.in_([row.installment_id for row in rows]),
        )
    )
    if earlier is not None:
        return SnoozeResult(SnoozeStatus.ALREADY, earlier)
    until = snooze_until(choice, now, user.timezone, user.remind_time)
    if until is None:
        return SnoozeResult(SnoozeStatus.TOO_LATE)
    on = local_date(now, user.timezone)
    books = [plan.book for plan in await load_plans(uow.session, user_id)]
    owing = {pos.ledger.key for pos in open_positions(books, on)}
    # An overdue notice is its plan's, keyed by the plan's first installment (paid or not),
    # and comes back as the plan stands (``reminder_items.waiting_item``).
    about = owing | {book.ledgers[0].key for book in books if _late(book, owing, on)}
    left = [row for row in rows if row.installment_id in about]
    if not left:
        return SnoozeResult(SnoozeStatus.NOTHING_LEFT)
    dialect = postgresql if uow.session.get_bind().dialect.name == "postgresql" else sqlite
    for row in left:
        await uow.session.execute(
            dialect.insert(ReminderLogRow)
            .values(
                user_id=user_id,
                installment_id=row.installment_id,
                kind=SNOOZED,
                offset=row.id,
                fire_at=until,
                status=PENDING,
                attempts=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["installment_id", "kind", "offset"])
        )
    await wake(uow, user_id, until)
    await uow.commit()
    return SnoozeResult(SnoozeStatus.SNOOZED, until)
