"""Late-payment penalty (罚息): simple daily accrual after grace, with tolerance and a cap."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from core.domain.ledger import InstallmentLedger
from core.domain.terms import PlanTerms
from core.money import ZERO, quantize

ONE_DAY = timedelta(days=1)


def grace_end(ledger: InstallmentLedger, terms: PlanTerms) -> date:
    return ledger.installment.due_date + timedelta(days=terms.grace_days)


def went_late(ledger: InstallmentLedger, terms: PlanTerms) -> bool:
    """Whether more than the tolerance was still unpaid when the grace period ended."""
    return ledger.unpaid_base_before(grace_end(ledger, terms) + ONE_DAY) > terms.tolerance


def penalty_cap(ledger: InstallmentLedger, terms: PlanTerms) -> Decimal:
    return quantize(ledger.installment.total * terms.penalty_cap_rate)


def accrued_penalty(ledger: InstallmentLedger, terms: PlanTerms, on: date) -> Decimal:
    """Penalty accrued on one installment through the end of ``on``.

    Nothing accrues while the installment is within grace, or if what remained
    unpaid when grace ended was within the tolerance. The tolerance is judged that
    once: an installment found late accrues, each day from the day after the due
    date, ``daily rate × unpaid principal+interest+fee`` at the start of that day —
    however small that has become — until paid: simple interest, never on
    penalties, up to the cap. Late and accruing are the same thing.
    """
    if on <= grace_end(ledger, terms) or not went_late(ledger, terms):
        return ZERO
    return late_penalty(ledger, terms, on)


def late_penalty(ledger: InstallmentLedger, terms: PlanTerms, on: date) -> Decimal:
    """:func:`accrued_penalty` of an installment known to be late and past its grace on
    ``on`` (the caller has asked :func:`went_late` already: it is not asked twice)."""
    if not ledger.receipts:  # the unpaid amount never changed: one multiplication
        days = (on - ledger.installment.due_date).days
        accrued = ledger.installment.total * days * terms.penalty_daily_rate
        return min(quantize(accrued), penalty_cap(ledger, terms))
    first_day = ledger.installment.due_date + ONE_DAY
    changes = sorted({r.on + ONE_DAY for r in ledger.receipts if first_day < r.on + ONE_DAY <= on})
    weighted = Decimal(0)
    cursor = first_day
    for boundary in [*changes, on + ONE_DAY]:
        # Never below zero: a ledger whose receipts exceed the base (made by hand; the
        # allocation never overpays) accrues nothing rather than a negative amount.
        weighted += max(ledger.unpaid_base_before(cursor), ZERO) * (boundary - cursor).days
        cursor = boundary
    return min(quantize(weighted * terms.penalty_daily_rate), penalty_cap(ledger, terms))
