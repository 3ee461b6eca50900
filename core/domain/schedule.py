"""Repayment schedules for the four methods, summing exactly to the principal."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.domain.dates import due_date, months_between
from core.domain.terms import Method, PlanTerms, validate_terms
from core.money import ZERO, quantize, quantize_down


@dataclass(frozen=True, slots=True)
class ScheduledInstallment:
    """One period of a schedule: it runs from ``start_date`` (exclusive) to ``due_date``."""

    period: int
    start_date: date
    due_date: date
    principal: Decimal
    interest: Decimal
    fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fee


@dataclass(frozen=True, slots=True)
class Totals:
    principal: Decimal
    interest: Decimal
    fee: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fee


def schedule_totals(installments: Iterable[ScheduledInstallment]) -> Totals:
    principal = interest = fee = ZERO
    for item in installments:
        principal += item.principal
        interest += item.interest
        fee += item.fee
    return Totals(principal, interest, fee)


MONTHS = 12


def monthly_interest(balance: Decimal, annual_rate: Decimal) -> Decimal:
    """One month's interest on a balance; multiplied before dividing so exact half-fens
    round half up instead of being lost in a recurring APR/12."""
    return quantize(balance * annual_rate / MONTHS)


def first_period_interest(
    balance: Decimal, annual_rate: Decimal, start: date, due: date
) -> Decimal:
    """Interest of a first period by its days: one month's interest × the months from
    disbursement to the first due date (``months_between``). A regular first period is
    charged exactly ``monthly_interest``; a shorter or longer one in proportion."""
    return quantize(balance * annual_rate * months_between(start, due) / MONTHS)


def annuity_payment(principal: Decimal, rate_per_period: Decimal, periods: int) -> Decimal:
    """The equal instalment of 等额本息, rounded half up to the fen."""
    if rate_per_period == 0:
        return quantize(principal / periods)
    growth = (1 + rate_per_period) ** periods
    return quantize(principal * rate_per_period * growth / (growth - 1))


def _principal_parts(terms: PlanTerms) -> list[Decimal]:
    """Principal split evenly; the last period absorbs the remainder (Fineract style)."""
    share = quantize_down(terms.principal / terms.periods)
    parts = [share] * terms.periods
    parts[-1] = terms.principal - share * (terms.periods - 1)
    return parts


def build_schedule(terms: PlanTerms) -> tuple[ScheduledInstallment, ...]:
    """The plan's installments, period 1 first; principals sum exactly to the principal."""
    validate_terms(terms)
    dates = [due_date(terms.first_due, terms.day, k) for k in range(1, terms.periods + 1)]
    starts = [terms.disbursed_on, *dates[:-1]]
    principal, interest, fee = _components(terms)
    if terms.method in (Method.ANNUITY, Method.EQUAL_PRINCIPAL) and terms.rate > 0:
        # Interest is earned by days (SPEC §3): the principal of every period is that of
        # the regular schedule, and the first period's interest is for its own length.
        interest[0] = first_period_interest(terms.principal, terms.rate, starts[0], dates[0])
    return tuple(
        ScheduledInstallment(k + 1, starts[k], dates[k], principal[k], interest[k], fee[k])
        for k in range(terms.periods)
    )


def _components(terms: PlanTerms) -> tuple[list[Decimal], list[Decimal], list[Decimal]]:
    n = terms.periods
    zeros = [ZERO] * n
    if terms.method is Method.FEE_PER_PERIOD:
        return _principal_parts(terms), zeros, [quantize(terms.principal * terms.rate)] * n
    if terms.method is Method.INTEREST_FREE or terms.rate == 0:
        return _principal_parts(terms), zeros, zeros
    if terms.method is Method.EQUAL_PRINCIPAL:
        principal = _principal_parts(terms)
        balance, interest = terms.principal, []
        for part in principal:
            interest.append(monthly_interest(balance, terms.rate))
            balance -= part
        return principal, interest, zeros
    return (*_annuity_components(terms.principal, terms.rate, n), zeros)


def _annuity_components(
    principal: Decimal, annual_rate: Decimal, periods: int
) -> tuple[list[Decimal], list[Decimal]]:
    payment = annuity_payment(principal, annual_rate / MONTHS, periods)
    balance = principal
    principals: list[Decimal] = []
    interests: list[Decimal] = []
    for k in range(periods):
        interest = monthly_interest(balance, annual_rate)
        part = balance if k == periods - 1 else min(payment - interest, balance)
        principals.append(part)
        interests.append(interest)
        balance -= part
    return principals, interests
