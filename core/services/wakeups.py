"""When the sweep must next look at each user, so a sweep reads only users with work due.

Each user row carries ``next_sweep_at``: the sweep selects the users whose time has come
(or who have none: NULL means at once), and after claiming their messages sets it to the
first instant anything of theirs can fall due — a reminder, an auto-debit attempt, a
pending message, a lease running out — but never more than a day ahead. Whatever can
bring something due sooner (a new plan, a policy or auto-repay change, a snooze, a send
given back, the user returning) calls :func:`wake`. Waking too early costs one look;
waking too late would delay a reminder, which is why changes wake and the day's cap
stays as a safety net.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import ColumnElement, func, or_, select, update

from core.db.models import ReminderLogRow, User
from core.db.uow import UnitOfWork
from core.domain.quotes import open_positions
from core.domain.reminders import Owing, ReminderPolicy, next_fire_after
from core.services.autopay_sweep import attempt_slots, attempted, pending_attempt_key
from core.services.books import LoadedPlan
from core.services.clock import local_date

MAX_SLEEP = timedelta(hours=24)


def is_due(now: datetime) -> ColumnElement[bool]:
    """The condition selecting users the sweep must look at now."""
    return or_(User.next_sweep_at.is_(None), User.next_sweep_at <= now)


async def wake(uow: UnitOfWork, user_id: int, at: datetime | None = None) -> None:
    """Have the sweep look at the user by ``at`` (at once when None); keeps an earlier time.

    Does not commit: it belongs to the change that caused it.
    """
    statement = update(User).where(User.telegram_id == user_id)
    if at is None:
        await uow.session.execute(statement.values(next_sweep_at=None))
    else:  # NULL (at once) compares as unknown and stays NULL
        await uow.session.execute(statement.where(User.next_sweep_at > at).values(next_sweep_at=at))


async def plan_next_sweep(
    uow: UnitOfWork,
    user: User,
    plans: list[LoadedPlan],
    policy: ReminderPolicy,
    now: datetime,
    autopay_at: time,
) -> datetime:
    """Set and return when the sweep must next look at ``user`` (for an inactive user,
    only their auto-debits count: their messages wait until they come back)."""
    on = local_date(now, user.timezone)
    candidates: list[datetime | None] = [now + MAX_SLEEP]
    owing = []
    for plan in plans:
        for pos in open_positions([plan.book], on):
            item = pos.ledger.installment
            grace = plan.book.terms.grace_days
            owing.append(
                Owing(pos.ledger.key, item.due_date, pos.owed.total, grace, plan.row.autopay)
            )
            if plan.row.autopay:
                slots = attempt_slots(item.due_date, grace, autopay_at, user.timezone)
                candidates.append(next((s for s in slots if s > now), None))
                # An attempt due but not run (the auto-debit pass skipped this user while
                # another transaction held it): look again at once, or it would be lost.
                key = pending_attempt_key(pos.ledger.key, slots, now)
                if key is not None and not await attempted(uow, key):
                    candidates.append(now)
    candidates.append(next_fire_after(now, policy, owing))
    if user.active:
        candidates += await _next_message(uow, user.telegram_id)
    chosen = min(c for c in candidates if c is not None)
    user.next_sweep_at = max(chosen, now + timedelta(seconds=1))
    return user.next_sweep_at


async def _next_message(uow: UnitOfWork, user_id: int) -> list[datetime | None]:
    """The earliest pending message and the earliest claim's lease end of a user."""
    waiting = await uow.session.execute(
        select(
            func.min(ReminderLogRow.fire_at).filter(ReminderLogRow.status == "pending"),
            func.min(ReminderLogRow.lease_until).filter(ReminderLogRow.status == "claimed"),
        ).where(ReminderLogRow.user_id == user_id)
    )
    return list(waiting.one())
