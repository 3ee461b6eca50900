"""What one line of a reminder message says, read from where the user's installments stand
at the look: an installment's reminder before its due date, or a plan's overdue notice
(every installment of it past its grace, totalled) — and how a message waiting to be sent
again (released after a failure, or snoozed) reads now.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from core.db.models import PaymentMethodRow, ReminderLogRow
from core.domain.reminders import ReminderKind
from core.domain.status import Position
from core.money import ZERO
from core.services.wakeups import Looked

SNOOZED = "snoozed"  # kind of a snoozed reminder coming back; offset: the snoozed row's id


@dataclass(frozen=True, slots=True)
class ReminderItem:
    """One line. For a plan's overdue notice, ``installment_id`` is the plan's first
    installment (its key), the figures are the totals of its ``count`` late installments,
    ``due_date`` and ``days_overdue`` those of the oldest."""

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
    count: int = 1  # installments it is about
    covers: frozenset[int] = frozenset()  # their ids (empty: just ``installment_id``)

    @property
    def installments(self) -> frozenset[int]:
        return self.covers or frozenset({self.installment_id})


def scheduled_item(
    view: Looked,
    log_id: int,
    kind: ReminderKind,
    offset: int,
    key: int,
    fire_at: datetime,
) -> ReminderItem | None:
    """The line of a reminder the policy says is due now (``key``: its installment, or
    for an overdue notice the plan's first installment); None if nothing is owed."""
    if kind is ReminderKind.OVERDUE:
        return _plan_item(view, log_id, offset, key, fire_at=fire_at)
    held = view.positions.get(key)
    if held is None:
        return None
    return _installment_item(view, log_id, kind, offset, held[1], fire_at=fire_at)


def waiting_item(view: Looked, row: ReminderLogRow) -> ReminderItem | None:
    """How a waiting row reads now: a retried reminder as it was sent, with today's
    figures; a snoozed one as its installment stands now (its plan's overdue notice once
    it is past its grace). None when nothing it was about is owed any more."""
    snoozed = row.kind == SNOOZED
    if row.kind == ReminderKind.OVERDUE:
        return _plan_item(view, row.id, row.offset, row.installment_id, fire_at=row.fire_at)
    held = view.positions.get(row.installment_id)
    if held is None:  # paid; or, snoozed, the first installment of a late plan
        if snoozed and row.installment_id in view.plans:
            return _plan_item(view, row.id, None, row.installment_id, True, row.fire_at)
        return None
    plan, pos = held
    if not snoozed:
        kind = ReminderKind(row.kind)
        return _installment_item(view, row.id, kind, row.offset, pos, fire_at=row.fire_at)
    first = plan.book.ledgers[0].key
    if any(late.ledger.key == row.installment_id for late in view.late(first)):
        return _plan_item(view, row.id, None, first, True, row.fire_at)
    # Days to its due date; negative while in its grace.
    ahead = (pos.ledger.installment.due_date - view.on).days
    kind = ReminderKind.BEFORE_DUE
    return _installment_item(view, row.id, kind, ahead, pos, snoozed=True, fire_at=row.fire_at)


def with_method(item: ReminderItem, view: Looked, methods: list[PaymentMethodRow]) -> ReminderItem:
    """An auto-repay notice names the card it will use and whether its balance is short."""
    if item.kind is not ReminderKind.AUTOPAY_NOTICE:
        return item
    plan = view.positions[item.installment_id][0]
    chosen = next((m for m in methods if m.id == plan.row.autopay_method_id), None)
    chosen = chosen or next((m for m in methods if m.is_default), None)
    short = chosen is None or chosen.balance < item.amount
    return replace(item, method_label=chosen.label if chosen else None, balance_short=short)


def _installment_item(
    view: Looked,
    log_id: int,
    kind: ReminderKind,
    offset: int,
    pos: Position,
    *,
    snoozed: bool = False,
    fire_at: datetime | None = None,
) -> ReminderItem:
    plan = view.positions[pos.ledger.key][0]
    return ReminderItem(
        log_id,
        pos.ledger.key,
        kind,
        offset,
        plan.row.title,
        pos.ledger.installment.due_date,
        pos.owed.total,
        pos.owed.penalty,
        pos.days_overdue,
        snoozed=snoozed,
        fire_at=fire_at,
    )


def _plan_item(
    view: Looked,
    log_id: int,
    offset: int | None,
    first_key: int,
    snoozed: bool = False,
    fire_at: datetime | None = None,
) -> ReminderItem | None:
    """The plan's overdue notice; ``offset`` None: today's (a snooze coming back)."""
    late = view.late(first_key)
    if not late:
        return None
    oldest = late[0].ledger.installment.due_date
    if offset is None:
        offset = (view.on - view.plans[first_key].book.ledgers[0].installment.due_date).days
    return ReminderItem(
        log_id,
        first_key,
        ReminderKind.OVERDUE,
        offset,
        view.plans[first_key].row.title,
        oldest,
        sum((pos.owed.total for pos in late), ZERO),
        sum((pos.owed.penalty for pos in late), ZERO),
        (view.on - oldest).days,
        snoozed=snoozed,
        fire_at=fire_at,
        count=len(late),
        covers=frozenset(pos.ledger.key for pos in late),
    )
