"""A rate as a person types it in /add: "18%", "0.6%", "日利率0.05%" (备用金 and cash
loans are quoted by the day: 0.05 % a day is 18.25 % a year), or a bare number whose unit
only that person knows. "18" is surely 18 % a year, but "0.18" may be 18 % or 0.18 % a year,
or 0.18 % a month; "0.6" on a fee-per-period plan is 0.6 % a period. Rather than guess,
every reading that the law allows for the repayment method is offered to choose from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from core.domain.terms import Method, RateProblem, rate_problem

_HUNDRED = Decimal(100)
_MONTHS = Decimal(12)
_DAYS = Decimal(365)  # a daily rate a year, simple: how lenders state 日利率 beside 年化
_DAILY = re.compile(
    r"日利率|日息|日费率|日利|每天|每日|/\s*[天日]|daily|per\s*day|a\s*day|/\s*day", re.I
)
# Up to 4 digits before the point and 10 after: anything longer is no rate anyone has, and
# a bounded number keeps Decimal arithmetic away from its exponent limits.
_TYPED = re.compile(r"(\d{1,4}(?:\.\d{1,10})?|\.\d{1,10})(%?)")  # always fullmatch


def said_daily(text: str) -> bool:
    """Whether ``text`` quotes a rate by the day ("日利率0.05%", "0.05% a day")."""
    return _DAILY.search(text) is not None


def yearly_of_daily(rate: Decimal) -> Decimal:
    """A daily rate as the yearly one lenders state beside it (× 365, simple)."""
    return rate * _DAYS


class RateUnit(StrEnum):
    PERCENT = "percent"  # 18 → 18 %, a year or a period as the method has it
    FRACTION = "fraction"  # 0.18 → 18 %
    MONTHLY_PERCENT = "monthly_percent"  # 1.5 → 1.5 % a month, 18 % a year (annual methods)
    DAILY_PERCENT = "daily_percent"  # 0.05 → 0.05 % a day, 18.25 % a year (annual methods)


@dataclass(frozen=True, slots=True)
class RateReading:
    """One way to read what was typed: ``rate`` is the plan's rate (annual, or per period
    for ``fee_per_period``), ``typed`` the number as written."""

    rate: Decimal
    unit: RateUnit
    typed: Decimal


@dataclass(frozen=True, slots=True)
class TypedRate:
    """The readings allowed, in the order people most often mean them; ``certain`` when
    a "%" was written (or the rate is zero) and the only reading needs no question."""

    readings: tuple[RateReading, ...]
    certain: bool


class RateError(ValueError):
    """Not a number (``problem`` None), or no reading is a rate the law allows."""

    def __init__(self, text: str, problem: RateProblem | None = None) -> None:
        super().__init__(f"{problem.value if problem else 'not_a_rate'}: {text[:40]!r}")
        self.problem = problem


def _number(text: str) -> tuple[Decimal, bool] | None:
    raw = text.strip().replace("％", "%").replace("．", ".").replace("。", ".").replace(" ", "")
    match = _TYPED.fullmatch(raw)
    if match is None:
        return None
    # \d also matches other scripts' digits (full-width ０-９); Decimal wants ASCII.
    digits = "".join(str(int(c)) if c.isdigit() else c for c in match[1])
    return Decimal(digits), bool(match[2])


def read_rate(text: str, method: Method) -> TypedRate:
    """The readings of ``text`` that ``method`` allows, or ``RateError`` saying why none."""
    annual = method in (Method.ANNUITY, Method.EQUAL_PRINCIPAL)
    daily = said_daily(text[:80])
    found = _number(_DAILY.sub("", text[:80]) if daily else text)
    if found is None or (daily and not annual):  # a fee plan is quoted by the period
        raise RateError(text)
    typed, percent = found
    if daily:  # said: "日利率0.05%", "0.05%/天", "0.05% a day"
        reading = RateReading(yearly_of_daily(typed / _HUNDRED), RateUnit.DAILY_PERCENT, typed)
        problem = rate_problem(method, reading.rate)
        if problem is not None:
            raise RateError(text, problem)
        return TypedRate((reading,), certain=True)
    candidates = [RateReading(typed / _HUNDRED, RateUnit.PERCENT, typed)]
    if not percent and typed:
        candidates.append(RateReading(typed, RateUnit.FRACTION, typed))
        if annual:
            monthly = typed / _HUNDRED * _MONTHS
            candidates.append(RateReading(monthly, RateUnit.MONTHLY_PERCENT, typed))
            by_day = yearly_of_daily(typed / _HUNDRED)
            candidates.append(RateReading(by_day, RateUnit.DAILY_PERCENT, typed))
    readings: list[RateReading] = []
    for reading in candidates:
        fine = rate_problem(method, reading.rate) is None
        if fine and all(r.rate != reading.rate for r in readings):
            readings.append(reading)
    if not readings:
        raise RateError(text, rate_problem(method, candidates[0].rate))
    return TypedRate(tuple(readings), certain=percent or not typed)
