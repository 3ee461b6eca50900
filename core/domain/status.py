"""Where an installment stands on a date: status, days overdue, bucket and what is owed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from core.domain.ledger import InstallmentLedger, Parts
from core.domain.penalty import grace_end, late_penalty, went_late
from core.domain.terms import PlanTerms
from core.money import ZERO


class InstallmentStatus(StrEnum):
    UPCOMING = "upcoming"  # a later period
    DUE = "due"  # the current period, or a remainder that was within the tolerance
    IN_GRACE = "in_grace"
    OVERDUE = "overdue"
    PAID = "paid"
    PAID_LATE = "paid_late"


OPEN_STATUSES = frozenset(
    {InstallmentStatus.DUE, InstallmentStatus.IN_GRACE, InstallmentStatus.OVERDUE}
)


class Bucket(StrEnum):
    """Delinquency bucket by days overdue."""

    M1 = "M1"  # 1-30
    M2 = "M2"  # 31-60
    M3 = "M3"  # 61-90
    M3_PLUS = "M3+"


def delinquency_bucket(days_overdue: int) -> Bucket | None:
    if days_overdue <= 0:
        return None
    if days_overdue <= 30:
        return Bucket.M1
    if days_overdue <= 60:
        return Bucket.M2
    if days_overdue <= 90:
        return Bucket.M3
    return Bucket.M3_PLUS


@dataclass(frozen=True, slots=True)
class Position:
    """An installment on a date: its status and what is owed per component."""

    ledger: InstallmentLedger
    status: InstallmentStatus
    owed: Parts
    penalty_accrued: Parts
    days_overdue: int

    @property
    def bucket(self) -> Bucket | None:
        return delinquency_bucket(self.days_overdue)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def position(ledger: InstallmentLedger, terms: PlanTerms, on: date) -> Position:
    """The installment as it stands at the end of ``on``, counting receipts up to ``on``."""
    item = ledger.installment
    # Whether it went late is asked once (a sweep computes a position for every open
    # installment of a user; this is most of the cost).
    past_grace = on > grace_end(ledger, terms)
    late = past_grace and went_late(ledger, terms)
    penalty = late_penalty(ledger, terms, on) if late else ZERO
    paid = ledger.paid(on)
    owed = Parts(
        max(penalty - paid.penalty, ZERO),
        item.fee - paid.fee,
        item.interest - paid.interest,
        item.principal - paid.principal,
    )
    status = _status(ledger, terms, on, owed, past_grace, late)
    days = (on - item.due_date).days if status is InstallmentStatus.OVERDUE else 0
    return Position(ledger, status, owed, Parts(penalty=penalty), days)


def _status(
    ledger: InstallmentLedger,
    terms: PlanTerms,
    on: date,
    owed: Parts,
    past_grace: bool,
    late: bool,  # went late, when past grace
) -> InstallmentStatus:
    item = ledger.installment
    if owed.total <= 0:
        went = late if past_grace else went_late(ledger, terms)
        return InstallmentStatus.PAID_LATE if went else InstallmentStatus.PAID
    if on <= item.start_date:
        return InstallmentStatus.UPCOMING
    if on <= item.due_date:
        return InstallmentStatus.DUE
    if not past_grace:
        return InstallmentStatus.IN_GRACE
    # Late at the end of grace: overdue until everything, penalty included, is paid.
    # Short by no more than the tolerance then: on time, the remainder simply due.
    if late:
        return InstallmentStatus.OVERDUE
    return InstallmentStatus.DUE


def plan_positions(
    ledgers: tuple[InstallmentLedger, ...], terms: PlanTerms, on: date
) -> list[Position]:
    return [position(ledger, terms, on) for ledger in ledgers]
