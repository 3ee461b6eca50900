"""Credit lines (额度) and the borrower's credit record."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.domain.ledger import PlanBook
from core.domain.status import (
    Bucket,
    InstallmentStatus,
    Position,
    delinquency_bucket,
    plan_positions,
)
from core.money import ZERO


@dataclass(frozen=True, slots=True)
class CreditLine:
    provider: str
    limit: Decimal
    used: Decimal
    frozen: bool = False

    @property
    def available(self) -> Decimal:
        """What can still be drawn; 0 while frozen or exhausted."""
        if self.frozen:
            return ZERO
        return max(self.limit - self.used, ZERO)


def same_provider(a: str, b: str) -> bool:
    """Lenders compared as people type them: regardless of case and surrounding spaces."""
    return a.strip().casefold() == b.strip().casefold()


class CreditRefusal(StrEnum):
    FROZEN = "frozen"
    EXHAUSTED = "exhausted"
    INSUFFICIENT = "insufficient"


class CreditRefused(ValueError):
    def __init__(self, refusal: CreditRefusal, line: CreditLine, amount: Decimal) -> None:
        super().__init__(
            f"{refusal.value}: {line.provider} available {line.available}, asked {amount}"
        )
        self.refusal = refusal
        self.line = line
        self.amount = amount


def check_line_open(line: CreditLine, amount: Decimal = ZERO) -> None:
    """Refuse any new draw on a frozen or exhausted line, whatever its amount: what /add
    says as soon as the lender is known, before the amount is asked."""
    if line.frozen:
        raise CreditRefused(CreditRefusal.FROZEN, line, amount)
    if line.available <= 0:
        raise CreditRefused(CreditRefusal.EXHAUSTED, line, amount)


def check_new_draw(line: CreditLine, amount: Decimal) -> None:
    """Refuse a new plan or cash advance the line cannot carry. Repayments never call this."""
    if amount <= 0:
        raise ValueError("a draw must be positive")
    check_line_open(line, amount)
    if amount > line.available:
        raise CreditRefused(CreditRefusal.INSUFFICIENT, line, amount)


def outstanding_principal(books: Sequence[PlanBook], on: date) -> Decimal:
    """Principal not yet repaid: what the plans use of their credit lines."""
    return sum(
        (
            ledger.installment.principal - ledger.paid(on).principal
            for book in books
            for ledger in book.ledgers
        ),
        ZERO,
    )


class Health(StrEnum):
    CLEAN = "clean"  # never late
    RECOVERED = "recovered"  # late before, nothing overdue now
    OVERDUE = "overdue"


@dataclass(frozen=True, slots=True)
class CreditRecord:
    on_time: int
    late: int
    overdue_installments: int
    overdue_days: int

    @property
    def bucket(self) -> Bucket | None:
        return delinquency_bucket(self.overdue_days)

    @property
    def health(self) -> Health:
        if self.overdue_installments:
            return Health.OVERDUE
        return Health.RECOVERED if self.late else Health.CLEAN


def credit_record(books: Sequence[PlanBook], on: date) -> CreditRecord:
    """On-time and late installments, and the oldest current delinquency."""
    return record_of(pos for book in books for pos in plan_positions(book.ledgers, book.terms, on))


def record_of(positions: Iterable[Position]) -> CreditRecord:
    """:func:`credit_record` from every installment's position, already computed."""
    on_time = late = overdue = days = 0
    for pos in positions:
        if pos.status is InstallmentStatus.PAID:
            on_time += 1
        elif pos.status is InstallmentStatus.PAID_LATE:
            late += 1
        elif pos.status is InstallmentStatus.OVERDUE:
            overdue += 1
            days = max(days, pos.days_overdue)
    return CreditRecord(on_time, late, overdue, days)
