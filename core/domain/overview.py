"""The borrower's overview on a date: what is owed, due, next and overdue."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.domain.ledger import PlanBook
from core.domain.quotes import open_positions
from core.domain.status import InstallmentStatus, Position
from core.money import ZERO


@dataclass(frozen=True, slots=True)
class Summary:
    outstanding: Decimal  # everything still owed, penalties included
    current_bill: Decimal  # due, in grace and overdue
    next_due_date: date | None
    next_due_amount: Decimal
    overdue_amount: Decimal
    overdue_days: int
    penalty: Decimal  # penalty owed now


def summarize(books: Sequence[PlanBook], on: date) -> Summary:
    return summarize_open(open_positions(books, on), on)


def summarize_open(owing: Sequence[Position], on: date) -> Summary:
    """:func:`summarize` from the open positions already computed (``open_positions``)."""
    outstanding = sum((p.owed.total for p in owing), ZERO)
    current = sum((p.owed.total for p in owing if p.is_open), ZERO)
    overdue = [p for p in owing if p.status is InstallmentStatus.OVERDUE]
    upcoming = [p for p in owing if p.ledger.installment.due_date >= on]
    next_date = upcoming[0].ledger.installment.due_date if upcoming else None
    next_amount = sum(
        (p.owed.total for p in upcoming if p.ledger.installment.due_date == next_date), ZERO
    )
    return Summary(
        outstanding=outstanding,
        current_bill=current,
        next_due_date=next_date,
        next_due_amount=next_amount,
        overdue_amount=sum((p.owed.total for p in overdue), ZERO),
        overdue_days=max((p.days_overdue for p in overdue), default=0),
        penalty=sum((p.owed.penalty for p in owing), ZERO),
    )
