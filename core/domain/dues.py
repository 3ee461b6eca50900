"""What is coming: every installment's due date and what is left to pay on it, grouped by
day and by month — what ``/calendar`` shows and the calendar feed publishes.

Pure: plan books and a date in, values out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import groupby

from core.domain.dates import add_months
from core.domain.ledger import PlanBook
from core.domain.status import plan_positions
from core.money import ZERO


@dataclass(frozen=True, slots=True)
class DuePlan:
    """A plan as the calendar names it: its id, title and lender, and its book."""

    plan_id: int
    title: str
    provider: str
    book: PlanBook


@dataclass(frozen=True, slots=True)
class Due:
    """One installment on a date: what it charges and what is left of it (penalties
    included); ``revisions`` counts the payments that changed it."""

    plan_id: int
    title: str
    provider: str
    period: int
    periods: int
    due_date: date
    charged: Decimal
    owed: Decimal
    revisions: int

    @property
    def paid(self) -> bool:
        return self.owed <= 0


@dataclass(frozen=True, slots=True)
class DueDay:
    day: date
    dues: tuple[Due, ...]

    @property
    def total(self) -> Decimal:
        return sum((d.owed for d in self.dues), ZERO)


@dataclass(frozen=True, slots=True)
class DueMonth:
    first: date  # the month's first day
    days: tuple[DueDay, ...]

    @property
    def total(self) -> Decimal:
        return sum((d.total for d in self.days), ZERO)


@dataclass(frozen=True, slots=True)
class Window:
    """Calendar months ``first``..``last`` (inclusive) from a page of ``months`` months."""

    first: date
    last: date


def dues_of(plans: Iterable[DuePlan], on: date) -> list[Due]:
    """Every installment of ``plans`` as it stands on ``on``, by due date then plan."""
    found = []
    for plan in plans:
        periods = len(plan.book.ledgers)
        for pos in plan_positions(plan.book.ledgers, plan.book.terms, on):
            item = pos.ledger.installment
            found.append(
                Due(
                    plan.plan_id,
                    plan.title,
                    plan.provider,
                    item.period,
                    periods,
                    item.due_date,
                    item.total,
                    pos.owed.total,
                    len(pos.ledger.receipts),
                )
            )
    return sorted(found, key=lambda d: (d.due_date, d.plan_id, d.period))


def window(on: date, page: int, months: int) -> Window:
    """Page ``page`` (from 1) of ``months`` calendar months, the first page starting with
    the month of ``on`` and showing the days from ``on`` on."""
    start = add_months(on.replace(day=1), (page - 1) * months)
    end = add_months(start, months) - timedelta(days=1)
    return Window(on if page == 1 else start, end)


def pages_until(on: date, last_due: date | None, months: int) -> int:
    """How many pages of ``months`` months reach ``last_due`` (at least one)."""
    if last_due is None or last_due < on:
        return 1
    spread = (last_due.year - on.year) * 12 + last_due.month - on.month
    return spread // months + 1


def months_of(dues: Sequence[Due], shown: Window) -> list[DueMonth]:
    """The unpaid dues within ``shown``, by day, by month (months with none left out)."""
    inside = [d for d in dues if not d.paid and shown.first <= d.due_date <= shown.last]
    days = [DueDay(day, tuple(group)) for day, group in groupby(inside, key=lambda d: d.due_date)]
    return [
        DueMonth(first, tuple(group))
        for first, group in groupby(days, key=lambda d: d.day.replace(day=1))
    ]


def past_due(dues: Sequence[Due], on: date) -> Decimal:
    """What is left of installments due before ``on`` (the bill and anything overdue)."""
    return sum((d.owed for d in dues if not d.paid and d.due_date < on), ZERO)


def last_unpaid(dues: Sequence[Due]) -> date | None:
    unpaid = [d.due_date for d in dues if not d.paid]
    return max(unpaid) if unpaid else None
