"""Quotes: what a payment would be and how it would be allocated, before any money moves.

Four kinds: the current bill across plans, one plan's next period, early payoff
of a plan (Fineract foreclosure), and a custom amount.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.domain.allocation import AllocationLine, Owed, allocate_payment
from core.domain.ledger import Parts, PlanBook, sum_parts
from core.domain.status import Position, plan_positions
from core.domain.terms import PayoffPolicy
from core.money import ZERO, quantize


class QuoteKind(StrEnum):
    BILL = "bill"
    PERIOD = "period"
    PAYOFF = "payoff"
    CUSTOM = "custom"


@dataclass(frozen=True, slots=True)
class Adjustment:
    """An installment's charged interest and fee after an early payoff waives part of them."""

    key: int
    interest: Decimal
    fee: Decimal


@dataclass(frozen=True, slots=True)
class Quote:
    kind: QuoteKind
    lines: tuple[AllocationLine, ...]
    adjustments: tuple[Adjustment, ...] = ()

    @property
    def breakdown(self) -> Parts:
        return sum_parts(line.parts for line in self.lines)

    @property
    def total(self) -> Decimal:
        return self.breakdown.total


class NothingDue(ValueError):
    """There is nothing to pay for this choice."""


class PayoffForbidden(ValueError):
    """The plan's terms do not allow early payoff."""


def open_positions(books: Sequence[PlanBook], on: date) -> list[Position]:
    """Every installment that still owes something, oldest due date first."""
    return open_of(pos for book in books for pos in plan_positions(book.ledgers, book.terms, on))


def open_of(positions: Iterable[Position]) -> list[Position]:
    """:func:`open_positions` from positions already computed."""
    found = [pos for pos in positions if pos.owed.total > 0]
    return sorted(found, key=lambda p: (p.ledger.installment.due_date, p.ledger.key))


def _full(positions: Sequence[Position]) -> tuple[AllocationLine, ...]:
    return tuple(AllocationLine(p.ledger.key, p.owed) for p in positions)


def quote_bill(books: Sequence[PlanBook], on: date) -> Quote:
    """The current bill: everything due, in grace or overdue, across plans."""
    due = [p for p in open_positions(books, on) if p.is_open]
    if not due:
        raise NothingDue("nothing is due")
    return Quote(QuoteKind.BILL, _full(due))


def quote_next_period(book: PlanBook, on: date) -> Quote:
    """The plan's oldest installment that still owes something, in full."""
    owing = open_positions([book], on)
    if not owing:
        raise NothingDue("the plan is paid off")
    return Quote(QuoteKind.PERIOD, _full(owing[:1]))


def quote_custom(amount: Decimal, books: Sequence[PlanBook], on: date) -> Quote:
    """A chosen amount allocated oldest first; future periods are paid ahead in full."""
    owing = open_positions(books, on)
    if not owing:
        raise NothingDue("nothing is owed")
    owed = [Owed(p.ledger.key, p.ledger.installment.due_date, p.owed) for p in owing]
    return Quote(QuoteKind.CUSTOM, allocate_payment(amount, owed))


def quote_early_payoff(book: PlanBook, on: date) -> Quote:
    """Settle the whole plan on ``on``.

    Installments already due are owed in full with their penalties. The current
    period's interest is pro-rated by the days elapsed; later interest is not
    charged. Fees of periods not yet due follow the plan's payoff policy.
    """
    terms = book.terms
    if terms.payoff_policy is PayoffPolicy.FORBIDDEN:
        raise PayoffForbidden("this plan cannot be paid off early")
    owing = open_positions([book], on)
    if not owing:
        raise NothingDue("the plan is paid off")
    lines: list[AllocationLine] = []
    adjustments: list[Adjustment] = []
    for pos in owing:
        item, paid = pos.ledger.installment, pos.ledger.paid(on)
        if item.due_date <= on:
            lines.append(AllocationLine(pos.ledger.key, pos.owed))
            continue
        interest = max(_earned_interest(pos, on), paid.interest)
        fee = item.fee if terms.payoff_policy is PayoffPolicy.CHARGE_FUTURE_FEES else paid.fee
        adjustments.append(Adjustment(pos.ledger.key, interest, fee))
        owed = Parts(ZERO, fee - paid.fee, interest - paid.interest, pos.owed.principal)
        lines.append(AllocationLine(pos.ledger.key, owed))
    if terms.payoff_policy is PayoffPolicy.EARLY_REPAYMENT_FEE and adjustments:
        lines, adjustments = _add_early_fee(lines, adjustments, terms.early_repayment_fee_rate)
    return Quote(QuoteKind.PAYOFF, tuple(lines), tuple(adjustments))


def _earned_interest(pos: Position, on: date) -> Decimal:
    """Interest of a period not yet due, pro-rated by the days elapsed in it."""
    item = pos.ledger.installment
    if on <= item.start_date:
        return ZERO
    elapsed = (on - item.start_date).days
    length = (item.due_date - item.start_date).days
    return quantize(item.interest * elapsed / length)


def _add_early_fee(
    lines: list[AllocationLine], adjustments: list[Adjustment], rate: Decimal
) -> tuple[list[AllocationLine], list[Adjustment]]:
    """Charge ``rate`` × the principal not yet due, on the first installment not yet due."""
    not_due = {adj.key for adj in adjustments}
    remaining = sum((line.parts.principal for line in lines if line.key in not_due), ZERO)
    fee = quantize(remaining * rate)
    first = adjustments[0]
    adjustments[0] = Adjustment(first.key, first.interest, first.fee + fee)
    lines = [
        AllocationLine(line.key, line.parts + Parts(fee=fee)) if line.key == first.key else line
        for line in lines
    ]
    return lines, adjustments


def total_owed(books: Sequence[PlanBook], on: date) -> Decimal:
    """Everything still owed on ``on``, penalties included."""
    return sum((p.owed.total for p in open_positions(books, on)), ZERO)
