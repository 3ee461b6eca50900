"""A rate as a person types it in /add: "18%", "0.6%", or a bare number whose unit only
that person knows. "18" is surely 18 % a year, but "0.18" may be 18 % or 0.18 % a year,
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
# Up to 4 digits before the point and 10 after: anything longer is no rate anyone has, and
# a bounded number keeps Decimal arithmetic away from its exponent limits.
_TYPED = re.compile(r"(\d{1,4}(?:\.\d{1,10})?|\.\d{1,10})(%?)")  # always fullmatch


class RateUnit(StrEnum):
    PERCENT = "percent"  # 18 → 18 %, a year or a period as the method has it
    FRACTION = "fraction"  # 0.18 → 18 %
    MONTHLY_PERCENT = "monthly_percent"  # 1.5 → 1.5 % a month, 18 % a year (annual methods)


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
    found = _number(text)
    if found is None:
        raise RateError(text)
    typed, percent = found
    candidates = [RateReading(typed / _HUNDRED, RateUnit.PERCENT, typed)]
    if not percent and typed:
        candidates.append(RateReading(typed, RateUnit.FRACTION, typed))
        if method in (Method.ANNUITY, Method.EQUAL_PRINCIPAL):
            monthly = typed / _HUNDRED * _MONTHS
            candidates.append(RateReading(monthly, RateUnit.MONTHLY_PERCENT, typed))
    readings: list[RateReading] = []
    for reading in candidates:
        fine = rate_problem(method, reading.rate) is None
        if fine and all(r.rate != reading.rate for r in readings):
            readings.append(reading)
    if not readings:
        raise RateError(text, rate_problem(method, candidates[0].rate))
    return TypedRate(tuple(readings), certain=percent or not typed)
