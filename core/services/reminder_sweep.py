"""The reminder half of a sweep: claim what is due now, one batch per user, and record
how each send ended.

A claim inserts the reminder's unique row (installment, kind, offset) with a lease, so
two sweeps, in one process or several, never claim the same reminder. A claim whose
lease ran out (its sender died between sending and recording) is claimed again; that is
the one case where a reminder can go out twice, and it is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import PaymentMethodRow, ReminderLogRow, User
from core.db.uow import UnitOfWork
from core.domain.quotes import open_positions
from core.domain.reminders import Owing, Reminder, ReminderKind, ReminderPolicy, due_reminders
from core.domain.status import Position
from core.services.books import LoadedPlan, load_plans
from core.services.clock import local_date
from core.services.reminders import parse_days

log = logging.getLogger(__name__)
DEFAULT_LEASE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class ReminderItem:
    log_id: int
    kind: ReminderKind
    offset: int
    plan_title: str
    due_date: date
    amount: Decimal
    penalty: Decimal
    days_overdue: int
    method_label: str | None = None  # for an auto-repay notice: the card it will use
    balance_short: bool = False  # … and whether its balance is below the amount


@dataclass(frozen=True, slots=True)
class ReminderBatch:
    """Everything one user is reminded of at one moment: one message."""

    user_id: int
    language: str
    timezone: str
    items: tuple[ReminderItem, ...]

    @property
    def log_ids(self) -> list[int]:
        return [item.log_id for item in self.items]


def policy_of(user: User) -> ReminderPolicy:
    return ReminderPolicy(
        enabled=user.reminders_enabled,
        days_before=parse_days(user.remind_days),
        at=user.remind_time,
        timezone=user.timezone,
        overdue_daily=user.overdue_daily,
    )


async def claim_due_reminders(
    uow: UnitOfWork, now: datetime, *, lease: timedelta = DEFAULT_LEASE
) -> list[ReminderBatch]:
    """Claim every reminder due at ``now`` for active users; commits the claims."""
    users = await uow.session.scalars(
        select(User)
        .where(User.active.is_(True), User.reminders_enabled.is_(True))
        .order_by(User.telegram_id)
    )
    batches = []
    for user in list(users):
        plans = await load_plans(uow.session, user.telegram_id)
        items = await _claim_for(uow, user, plans, now, lease)
        if items:
            batches.append(ReminderBatch(user.telegram_id, user.language, user.timezone, items))
    await uow.commit()
    return batches


async def _claim_for(
    uow: UnitOfWork, user: User, plans: list[LoadedPlan], now: datetime, lease: timedelta
) -> tuple[ReminderItem, ...]:
    on = local_date(now, user.timezone)
    positions = {
        pos.ledger.key: (plan, pos) for plan in plans for pos in open_positions([plan.book], on)
    }
    if not positions:
        return ()
    owing = [
        Owing(
            key,
            pos.ledger.installment.due_date,
            pos.owed.total,
            plan.book.terms.grace_days,
            plan.row.autopay,
        )
        for key, (plan, pos) in positions.items()
    ]
    known = await uow.session.execute(
        select(ReminderLogRow.installment_id, ReminderLogRow.kind, ReminderLogRow.offset).where(
            ReminderLogRow.installment_id.in_(list(positions))
        )
    )
    due = due_reminders(now, policy_of(user), owing, {tuple(row) for row in known})  # type: ignore[misc]
    chosen = {r.dedup_key for r in due.send}
    claimed: list[ReminderItem] = []
    methods = await _methods(uow, user.telegram_id)
    for reminder in due.send:
        log_id = await _insert(uow, user.telegram_id, reminder, "claimed", now, now + lease)
        if log_id is not None:
            found = positions[reminder.key]
            claimed.append(_item(log_id, reminder.kind, reminder.offset, found, methods))
    for key in due.settled - chosen:
        superseded = Reminder(ReminderKind(key[1]), key[0], key[2], now)
        await _insert(uow, user.telegram_id, superseded, "superseded", now, None)
    claimed.extend(await _reclaim_expired(uow, user, positions, methods, now, lease))
    return tuple(claimed)


async def _insert(
    uow: UnitOfWork,
    user_id: int,
    reminder: Reminder,
    status: str,
    now: datetime,
    lease_until: datetime | None,
) -> int | None:
    """Insert the reminder's row unless another sweep already did; its id if we did."""
    values: dict[str, Any] = {
        "user_id": user_id,
        "installment_id": reminder.key,
        "kind": reminder.kind.value,
        "offset": reminder.offset,
        "fire_at": reminder.fire_at,
        "status": status,
        "lease_until": lease_until,
        "attempts": 1 if status == "claimed" else 0,
        "created_at": now,
    }
    dialect = postgresql if uow.session.get_bind().dialect.name == "postgresql" else sqlite
    statement = (
        dialect.insert(ReminderLogRow)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["installment_id", "kind", "offset"])
        .returning(ReminderLogRow.id)
    )
    inserted: int | None = (await uow.session.execute(statement)).scalar_one_or_none()
    return inserted


async def _reclaim_expired(
    uow: UnitOfWork,
    user: User,
    positions: dict[int, tuple[LoadedPlan, Position]],
    methods: list[PaymentMethodRow],
    now: datetime,
    lease: timedelta,
) -> list[ReminderItem]:
    """Claims whose sender never recorded an outcome; taken over once the lease is over."""
    stale = await uow.session.scalars(
        select(ReminderLogRow).where(
            ReminderLogRow.user_id == user.telegram_id,
            ReminderLogRow.status == "claimed",
            ReminderLogRow.lease_until < now,
        )
    )
    items = []
    for row in list(stale):
        taken = await uow.session.execute(
            update(ReminderLogRow)
            .where(ReminderLogRow.id == row.id, ReminderLogRow.lease_until < now)
            .values(lease_until=now + lease, attempts=ReminderLogRow.attempts + 1)
        )
        if taken.rowcount != 1 or row.installment_id not in positions:  # type: ignore[attr-defined]
            continue
        log.warning("reclaimed reminder %s after its lease ran out: it may go out twice", row.id)
        found = positions[row.installment_id]
        items.append(_item(row.id, ReminderKind(row.kind), row.offset, found, methods))
    return items


async def _methods(uow: UnitOfWork, user_id: int) -> list[PaymentMethodRow]:
    rows = await uow.session.scalars(
        select(PaymentMethodRow).where(
            PaymentMethodRow.user_id == user_id, PaymentMethodRow.removed_at.is_(None)
        )
    )
    return list(rows)


def _item(
    log_id: int,
    kind: ReminderKind,
    offset: int,
    found: tuple[LoadedPlan, Position],
    methods: list[PaymentMethodRow],
) -> ReminderItem:
    plan, pos = found
    due = pos.ledger.installment.due_date
    owed = pos.owed
    label, short = None, False
    if kind is ReminderKind.AUTOPAY_NOTICE:
        chosen = next((m for m in methods if m.id == plan.row.autopay_method_id), None)
        chosen = chosen or next((m for m in methods if m.is_default), None)
        label = chosen.label if chosen else None
        short = chosen is None or chosen.balance < owed.total
    return ReminderItem(
        log_id,
        kind,
        offset,
        plan.row.title,
        due,
        owed.total,
        owed.penalty,
        pos.days_overdue,
        label,
        short,
    )


async def record_outcome(
    uow: UnitOfWork,
    log_ids: list[int],
    now: datetime,
    *,
    message_id: int | None = None,
    failure: str | None = None,
) -> None:
    """After Telegram answered: sent (with its message id) or failed (with the reason)."""
    values: dict[str, Any] = {"lease_until": None}
    if failure is None:
        values |= {"status": "sent", "message_id": message_id, "sent_at": now}
    else:
        values |= {"status": "failed", "failure": failure}
    await uow.session.execute(
        update(ReminderLogRow).where(ReminderLogRow.id.in_(log_ids)).values(**values)
    )
    await uow.commit()
