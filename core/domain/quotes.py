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
class EarlyFee:
    """An early-repayment fee: ``rate`` × ``base``, the principal not yet due (SPEC §3 says
    "remaining principal"; the payoff screen and the README say which)."""

    rate: Decimal
    base: Decimal

    @property
    def amount(self) -> Decimal:
        return quantize(self.base * self.rate)


@dataclass(frozen=True, slots=True)
class Quote:
    kind: QuoteKind
    lines: tuple[AllocationLine, ...]
    adjustments: tuple[Adjustment, ...] = ()
    early_fee: EarlyFee | None = None

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


class ReachesPayoff(ValueError):
    """What a payment would put on a plan reaches what paying it off costs today: no
    payment may exceed the payoff (SPEC §3), so the payoff is offered instead."""

    def __init__(self, plan_key: int, payoff: Decimal) -> None:
        super().__init__(f"plan {plan_key}: reaches its payoff of {payoff}")
        self.plan_key = plan_key
        self.payoff = payoff


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
    quote = Quote(QuoteKind.PERIOD, _full(owing[:1]))
    # A period not yet billed, paid ahead with all its interest, may cost more than
    # paying the plan off (the last one always does): then the payoff is offered.
    payoff = payoff_amount(book, on)
    if payoff is not None and quote.total > payoff:
        raise ReachesPayoff(book.key, payoff)
    return quote


def quote_custom(amount: Decimal, books: Sequence[PlanBook], on: date) -> Quote:
    """A chosen amount allocated oldest first; future periods are paid ahead in full.

    What lands on one plan must stay below what paying that plan off costs today:
    otherwise future interest would be prepaid and never refunded (``ReachesPayoff``,
    and the payoff is offered). A plan that forbids early payoff is capped only by
    everything it owes."""
    owing = open_positions(books, on)
    if not owing:
        raise NothingDue("nothing is owed")
    owed = [Owed(p.ledger.key, p.ledger.installment.due_date, p.owed) for p in owing]
    lines = allocate_payment(amount, owed)
    for book in books:
        keys = {ledger.key for ledger in book.ledgers}
        put = sum((line.parts.total for line in lines if line.key in keys), ZERO)
        payoff = payoff_amount(book, on) if put > 0 else None
        if payoff is not None and put >= payoff:
            raise ReachesPayoff(book.key, payoff)
    return Quote(QuoteKind.CUSTOM, lines)


def payoff_amount(book: PlanBook, on: date) -> Decimal | None:
    """What paying the plan off costs on ``on``; None when its terms forbid it or
    nothing is owed."""
    try:
        return quote_early_payoff(book, on).total
    except (PayoffForbidden, NothingDue):
        return None


def quote_early_payoff(book: PlanBook, on: date) -> Quote:
    """Settle the whole plan on ``on``.

    Installments already due are owed in full with their penalties. The current
    period's interest is pro-rated by the days elapsed; later interest is not
    charged. A billed period's fee is owed (JD and Xiaomi style): only the fees of
    periods not yet billed follow the plan's payoff policy (waived, charged, or
    replaced by an early-repayment fee on the principal not yet due). A payoff is
    never cheaper than the bill it contains: should the pro-rated interest make it
    so (the last period), the current period's interest is charged up to the bill.
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
        billed = pos.is_open  # in the current bill: its fee is owed whatever the policy
        charged = billed or terms.payoff_policy is PayoffPolicy.CHARGE_FUTURE_FEES
        fee = item.fee if charged else paid.fee
        adjustments.append(Adjustment(pos.ledger.key, interest, fee))
        owed = Parts(ZERO, fee - paid.fee, interest - paid.interest, pos.owed.principal)
        lines.append(AllocationLine(pos.ledger.key, owed))
    early_fee = None
    if terms.payoff_policy is PayoffPolicy.EARLY_REPAYMENT_FEE and adjustments:
        not_due = {adj.key for adj in adjustments}
        base = sum((line.parts.principal for line in lines if line.key in not_due), ZERO)
        early_fee = EarlyFee(terms.early_repayment_fee_rate, base)
        lines, adjustments = _add_to_first(lines, adjustments, Parts(fee=early_fee.amount))
    shortfall = sum((p.owed.total for p in owing if p.is_open), ZERO) - sum(
        (line.parts.total for line in lines), ZERO
    )
    if shortfall > 0:
        lines, adjustments = _add_to_first(lines, adjustments, Parts(interest=shortfall))
    return Quote(QuoteKind.PAYOFF, tuple(lines), tuple(adjustments), early_fee)


def _earned_interest(pos: Position, on: date) -> Decimal:
    """Interest of a period not yet due, pro-rated by the days elapsed in it."""
    item = pos.ledger.installment
    if on <= item.start_date:
        return ZERO
    elapsed = (on - item.start_date).days
    length = (item.due_date - item.start_date).days
    return quantize(item.interest * elapsed / length)


def _add_to_first(
    lines: list[AllocationLine], adjustments: list[Adjustment], extra: Parts
) -> tuple[list[AllocationLine], list[Adjustment]]:
    """Charge ``extra`` fee and interest on the first installment not yet due.

    For the bill's floor that is the current period: the shortfall is at most the part
    of its interest not yet earned, since only pro-rating makes a payoff cheaper."""
    first = adjustments[0]
    adjustments[0] = Adjustment(first.key, first.interest + extra.interest, first.fee + extra.fee)
    lines = [
        AllocationLine(line.key, line.parts + extra) if line.key == first.key else line
        for line in lines
    ]
    return lines, adjustments


def total_owed(books: Sequence[PlanBook], on: date) -> Decimal:
    """Everything still owed on ``on``, penalties included."""
    return sum((p.owed.total for p in open_positions(books, on)), ZERO)
