"""What if I pay ¥X extra each month: the debt-free date and what early payoffs save.

Month by month from today, the extra (and, once a plan is paid off, the dues it no
longer asks for: the same monthly budget keeps going to the next plan) goes into a pot;
whenever the pot holds the payoff of the next plan in the chosen order — priced on that
day as if every installment due before it had been paid on its due date — that plan is
paid off. The saving is what its schedule would still have charged from that day, less
the payoff. Plans that cannot be paid off early, or whose payoff saves nothing, are paid
as scheduled.

Pure and bounded: one step per month until the last due date, at most ``MAX_MONTHS``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from core.domain.dates import add_months
from core.domain.ledger import InstallmentLedger, Parts, PlanBook, Receipt
from core.domain.quotes import payoff_amount
from core.money import ZERO

MAX_MONTHS = 12 * 50


@dataclass(frozen=True, slots=True)
class WhatIf:
    extra: Decimal
    debt_free: date | None  # with the extra each month
    scheduled_debt_free: date | None  # paying every plan as scheduled
    saving: Decimal  # future charges the early payoffs avoid
    payoffs: tuple[tuple[int, date], ...]  # (plan key, the day it is paid off), in order


def last_due(book: PlanBook) -> date:
    return max(ledger.installment.due_date for ledger in book.ledgers)


def paid_as_scheduled(book: PlanBook, through: date, today: date) -> PlanBook:
    """The book as it would stand on ``through`` if every installment due before it were
    paid in full on its due date (those already due, today)."""
    ledgers = []
    for ledger in book.ledgers:
        due = ledger.installment.due_date
        if due >= through:
            ledgers.append(ledger)
            continue
        left = ledger.charged - ledger.paid()
        parts = Parts(
            ZERO, max(left.fee, ZERO), max(left.interest, ZERO), max(left.principal, ZERO)
        )
        if parts.total <= 0:
            ledgers.append(ledger)
            continue
        receipt = Receipt(max(due, today), parts)
        ledgers.append(replace(ledger, receipts=(*ledger.receipts, receipt)))
    return replace(book, ledgers=tuple(ledgers))


def scheduled_from(book: PlanBook, day: date) -> Decimal:
    """What the schedule still charges on installments due on or after ``day``."""
    return sum(
        (_left(ledger) for ledger in book.ledgers if ledger.installment.due_date >= day), ZERO
    )


def _left(ledger: InstallmentLedger) -> Decimal:
    return max(ledger.installment.total - ledger.paid().base, ZERO)


def _due_between(book: PlanBook, after: date, until: date) -> Decimal:
    return sum(
        (_left(ledger) for ledger in book.ledgers if after < ledger.installment.due_date <= until),
        ZERO,
    )


def pay_extra(
    books: Sequence[PlanBook], order: Sequence[int], extra: Decimal, today: date
) -> WhatIf:
    """Pay ``extra`` more each month, to the plans in ``order`` (their keys) first to last."""
    by_key = {book.key: book for book in books}
    ends = {key: last_due(book) for key, book in by_key.items()}
    scheduled_end = max(ends.values(), default=None)
    waiting = [key for key in order if key in by_key]
    freed: list[int] = []  # paid off early: their dues now go to the pot
    payoffs: list[tuple[int, date]] = []
    pot, saving, previous = ZERO, ZERO, today
    for month in range(1, MAX_MONTHS + 1):
        if not waiting:
            break
        day = add_months(today, month)
        pot += extra + sum((_due_between(by_key[k], previous, day) for k in freed), ZERO)
        previous = day
        for key in list(waiting):
            if ends[key] < day:  # paid out as scheduled
                waiting.remove(key)
                continue
            assumed = paid_as_scheduled(by_key[key], day, today)
            payoff = payoff_amount(assumed, day)
            worth = None if payoff is None else scheduled_from(by_key[key], day) - payoff
            if payoff is None or worth is None or worth <= 0:
                waiting.remove(key)  # cannot, or need not, be paid off early
                continue
            if pot < payoff:
                break
            pot -= payoff
            saving += worth
            ends[key] = day
            payoffs.append((key, day))
            waiting.remove(key)
            freed.append(key)
    debt_free = max(ends.values(), default=None)
    return WhatIf(extra, debt_free, scheduled_end, saving, tuple(payoffs))
