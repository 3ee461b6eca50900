"""The sending half of a sweep: claim the messages due now — one batch per user of the
reminders due, and each auto-repay receipt — and record how each send ended.

Every message is a ``reminder_log`` row under a unique key, so it goes out at most once.
Scheduled reminders are claimed by inserting their row; pending rows (snoozed reminders,
sends released after a flood limit or a timeout, receipts written with their payment) are
claimed by flipping them to ``claimed``. A claim carries a lease: a claim whose sender died
between sending and recording is claimed again when its lease runs out — the one case
where a message can go out twice, and it is logged.

Several instances on one PostgreSQL split the users between them: each user row is taken
``FOR UPDATE SKIP LOCKED`` for the claim, so a user another sweep holds is skipped, not
waited for. SQLite has one writer (``BEGIN IMMEDIATE``) and needs no row lock.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import PaymentMethodRow, ReminderLogRow, User
from core.db.uow import UnitOfWork
from core.domain.quotes import open_positions
from core.domain.reminders import (
    CATCH_UP_WINDOW,
    Owing,
    Reminder,
    ReminderKind,
    ReminderPolicy,
    due_reminders,
)
from core.domain.status import Position
from core.services.autopay_sweep import RECEIPT, AutopayReceipt
from core.services.books import LoadedPlan, load_plans
from core.services.clock import local_date
from core.services.reminders import parse_days
from core.services.wakeups import is_due, plan_next_sweep, wake

log = logging.getLogger(__name__)
DEFAULT_LEASE = timedelta(minutes=2)
DEFAULT_AUTOPAY_TIME = time(10, 0)  # the setting's default; sweeps pass AUTOPAY_TIME
SNOOZED = "snoozed"  # kind of a snoozed reminder coming back; offset: the snoozed row's id
RECEIPT_WINDOW = timedelta(hours=24)  # a receipt older than this is no longer news
PENDING, CLAIMED, SENT, FAILED, SUPERSEDED = "pending", "claimed", "sent", "failed", "superseded"


@dataclass(frozen=True, slots=True)
class ReminderItem:
    log_id: int
    installment_id: int
    kind: ReminderKind
    offset: int
    plan_title: str
    due_date: date
    amount: Decimal
    penalty: Decimal
    days_overdue: int
    method_label: str | None = None  # for an auto-repay notice: the card it will use
    balance_short: bool = False  # … and whether its balance is below the amount
    snoozed: bool = False  # a snoozed reminder coming back
    fire_at: datetime | None = None  # when it fell due


@dataclass(frozen=True, slots=True)
class ReminderBatch:
    """One message to one user: the reminders due at one moment, or one receipt."""

    user_id: int
    language: str
    timezone: str
    items: tuple[ReminderItem, ...]
    receipt: AutopayReceipt | None = None
    receipt_log_id: int | None = None
    attempts: int = 1  # how many times this message has been claimed (the most of its rows)
    due_at: datetime | None = None  # when the oldest part of it fell due

    @property
    def log_ids(self) -> list[int]:
        ids = [item.log_id for item in self.items]
        return ids if self.receipt_log_id is None else [*ids, self.receipt_log_id]


def policy_of(user: User) -> ReminderPolicy:
    return ReminderPolicy(
        enabled=user.reminders_enabled,
        days_before=parse_days(user.remind_days),
        at=user.remind_time,
        timezone=user.timezone,
        overdue_daily=user.overdue_daily,
    )


async def claim_due_reminders(
    uow: UnitOfWork,
    now: datetime,
    *,
    lease: timedelta = DEFAULT_LEASE,
    limit: int | None = None,
    autopay_at: time = DEFAULT_AUTOPAY_TIME,
) -> list[ReminderBatch]:
    """Claim the messages due at ``now`` for active users; commits the claims.

    With ``limit``, stop after the user whose messages reach it (a user's messages are
    claimed together), so a sender can send what it claimed well within the lease.
    """
    user_ids = await uow.session.scalars(
        select(User.telegram_id).where(is_due(now)).order_by(User.telegram_id)
    )
    batches = []
    for user_id in list(user_ids):
        user = await _take_user(uow, user_id)
        if user is None:  # another sweep holds this user right now
            continue
        plans = await load_plans(uow.session, user.telegram_id)
        if user.active:
            batches += await _claim_for(uow, user, plans, now, lease)
        # An inactive user gets no message, but their auto-debits still need looks.
        policy = policy_of(user) if user.active else ReminderPolicy(enabled=False)
        await plan_next_sweep(uow, user, plans, policy, now, autopay_at)
        if limit is not None and len(batches) >= limit:
            break
    await uow.commit()
    return batches


async def _take_user(uow: UnitOfWork, user_id: int) -> User | None:
    found: User | None = await uow.session.scalar(
        select(User)
        .where(User.telegram_id == user_id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return found


async def _claim_for(
    uow: UnitOfWork, user: User, plans: list[LoadedPlan], now: datetime, lease: timedelta
) -> list[ReminderBatch]:
    on = local_date(now, user.timezone)
    positions = {
        pos.ledger.key: (plan, pos) for plan in plans for pos in open_positions([plan.book], on)
    }
    methods = await _methods(uow, user.telegram_id)
    items: list[ReminderItem] = []
    if positions and user.reminders_enabled:
        items += await _claim_scheduled(uow, user, positions, methods, now, lease)
    receipts: list[ReminderBatch] = []
    attempts = 1
    due_at = min((i.fire_at for i in items if i.fire_at is not None), default=None)
    for row in await _waiting(uow, user.telegram_id, now):
        if row.kind != RECEIPT and any(i.installment_id == row.installment_id for i in items):
            await _settle(uow, row.id, SUPERSEDED)  # this installment is in the message already
            continue
        if not await _take(uow, row, now, lease, positions):
            continue
        if row.kind == RECEIPT:
            receipt = AutopayReceipt.from_payload(row.payload or {})
            receipts.append(
                ReminderBatch(
                    user.telegram_id,
                    user.language,
                    user.timezone,
                    (),
                    receipt,
                    row.id,
                    row.attempts,
                    row.fire_at,
                )
            )
            continue
        attempts = max(attempts, row.attempts)
        due_at = row.fire_at if due_at is None else min(due_at, row.fire_at)
        found = positions[row.installment_id]
        kind, offset = _kind_now(row, found[1], on)
        snoozed = row.kind == SNOOZED
        items.append(
            _item(row.id, kind, offset, found, methods, snoozed=snoozed, fire_at=row.fire_at)
        )
    if not items:
        return receipts
    items.sort(key=lambda i: (i.due_date, i.installment_id))
    batch = ReminderBatch(
        user.telegram_id,
        user.language,
        user.timezone,
        tuple(items),
        attempts=attempts,
        due_at=due_at,
    )
    return [batch, *receipts]


async def _claim_scheduled(
    uow: UnitOfWork,
    user: User,
    positions: dict[int, tuple[LoadedPlan, Position]],
    methods: list[PaymentMethodRow],
    now: datetime,
    lease: timedelta,
) -> list[ReminderItem]:
    """The reminders the user's policy says are due now, claimed by inserting their rows."""
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
    for reminder in due.send:
        log_id = await _insert(uow, user.telegram_id, reminder, CLAIMED, now, now + lease)
        if log_id is not None:
            found = positions[reminder.key]
            claimed.append(
                _item(
                    log_id, reminder.kind, reminder.offset, found, methods, fire_at=reminder.fire_at
                )
            )
    for key in due.settled - chosen:
        superseded = Reminder(ReminderKind(key[1]), key[0], key[2], now)
        await _insert(uow, user.telegram_id, superseded, SUPERSEDED, now, None)
    return claimed


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
        "attempts": 1 if status == CLAIMED else 0,
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


async def _waiting(uow: UnitOfWork, user_id: int, now: datetime) -> list[ReminderLogRow]:
    """Pending rows whose time has come, and claims whose sender never recorded an outcome."""
    rows = await uow.session.scalars(
        select(ReminderLogRow)
        .where(
            ReminderLogRow.user_id == user_id,
            or_(
                (ReminderLogRow.status == PENDING) & (ReminderLogRow.fire_at <= now),
                (ReminderLogRow.status == CLAIMED) & (ReminderLogRow.lease_until < now),
            ),
        )
        .order_by(ReminderLogRow.fire_at, ReminderLogRow.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list(rows)


async def _take(
    uow: UnitOfWork,
    row: ReminderLogRow,
    now: datetime,
    lease: timedelta,
    positions: dict[int, tuple[LoadedPlan, Position]],
) -> bool:
    """Claim a waiting row; settle it instead when it is too old or its installment is paid."""
    window = RECEIPT_WINDOW if row.kind == RECEIPT else CATCH_UP_WINDOW
    if now - row.fire_at > window:
        await _settle(uow, row.id, SUPERSEDED)  # missed by too much: dropped, like any reminder
        return False
    if row.kind != RECEIPT and row.installment_id not in positions:
        await _settle(uow, row.id, SUPERSEDED)  # paid meanwhile: nothing to remind of
        return False
    reclaimed = row.status == CLAIMED  # read before the update refreshes the row
    condition = (
        (ReminderLogRow.status == CLAIMED) & (ReminderLogRow.lease_until < now)
        if reclaimed
        else ReminderLogRow.status == PENDING
    )
    taken = await uow.session.execute(
        update(ReminderLogRow)
        .where(ReminderLogRow.id == row.id, condition)
        .values(status=CLAIMED, lease_until=now + lease, attempts=ReminderLogRow.attempts + 1)
        .execution_options(synchronize_session="fetch")  # the loaded row shows the claim
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        return False
    if reclaimed:
        log.warning("reclaimed message %s after its lease ran out: it may go out twice", row.id)
    return True


async def _settle(uow: UnitOfWork, log_id: int, status: str) -> None:
    await uow.session.execute(
        update(ReminderLogRow)
        .where(ReminderLogRow.id == log_id)
        .values(status=status, lease_until=None)
    )


def _kind_now(row: ReminderLogRow, pos: Position, on: date) -> tuple[ReminderKind, int]:
    """How a waiting row reads today: a retried reminder as it was; a snoozed one as the
    installment stands now (overdue, or days to its due date — negative while in grace)."""
    if row.kind != SNOOZED:
        return ReminderKind(row.kind), row.offset
    if pos.days_overdue > 0:
        return ReminderKind.OVERDUE, pos.days_overdue
    return ReminderKind.BEFORE_DUE, (pos.ledger.installment.due_date - on).days


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
    *,
    snoozed: bool = False,
    fire_at: datetime | None = None,
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
        pos.ledger.key,
        kind,
        offset,
        plan.row.title,
        due,
        owed.total,
        owed.penalty,
        pos.days_overdue,
        label,
        short,
        snoozed,
        fire_at,
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
        values |= {"status": SENT, "message_id": message_id, "sent_at": now}
    else:
        values |= {"status": FAILED, "failure": failure}
    await uow.session.execute(
        update(ReminderLogRow).where(ReminderLogRow.id.in_(log_ids)).values(**values)
    )
    await uow.commit()


async def release(
    uow: UnitOfWork, log_ids: list[int], at: datetime, *, count_attempt: bool = True
) -> None:
    """Give claimed messages back, to be sent again from ``at`` (after a flood limit or a
    timeout). A flood limit is not the message's fault: it does not use up an attempt."""
    values: dict[str, Any] = {"status": PENDING, "lease_until": None, "fire_at": at}
    if not count_attempt:
        values["attempts"] = ReminderLogRow.attempts - 1
    owners = await uow.session.scalars(
        update(ReminderLogRow)
        .where(ReminderLogRow.id.in_(log_ids), ReminderLogRow.status == CLAIMED)
        .values(**values)
        .returning(ReminderLogRow.user_id)
    )
    for user_id in set(owners):
        await wake(uow, user_id, at)
    await uow.commit()
