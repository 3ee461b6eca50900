"""Calendar rules: monthly due dates with month-end fallback, and parsing typed dates."""

from __future__ import annotations

import calendar
import re
from datetime import date
from decimal import Decimal
from enum import StrEnum


def add_months(start: date, months: int, day: int | None = None) -> date:
    """The date ``months`` after ``start`` on ``day`` (default ``start.day``).

    Days that the target month lacks (29-31) fall back to its last day.
    """
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    wanted = start.day if day is None else day
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(wanted, last))


def due_date(first_due: date, repayment_day: int, period: int) -> date:
    """Due date of ``period`` (1-based) of a monthly plan paid on ``repayment_day``."""
    if period < 1:
        raise ValueError("period is 1-based")
    return add_months(first_due, period - 1, repayment_day)


def months_between(start: date, end: date) -> Decimal:
    """How many months of the repayment calendar run from ``start`` to ``end``.

    Whole months are counted back from ``end`` (``add_months``, so with the month-end
    fallback); what is left over is the days of it over the days of the month it falls
    in. A regular first period (``start`` one month before ``end``) is exactly 1; the
    interest of a period and the discounting of its payment both use this measure, so
    interest is earned by days and the disclosed rate is the IRR of the real dates.
    The work is constant however far apart the dates are.
    """
    if end <= start:
        raise ValueError("end must be after start")
    whole = (end.year - start.year) * 12 + end.month - start.month
    while add_months(end, -whole) < start:  # at most twice: the month fell short
        whole -= 1
    anchor = add_months(end, -whole)  # on or after start
    before = add_months(end, -whole - 1)  # before start
    return whole + Decimal((anchor - start).days) / Decimal((anchor - before).days)


class DateProblem(StrEnum):
    EMPTY = "empty"
    NOT_A_DATE = "not_a_date"
    NO_SUCH_DAY = "no_such_day"


class DateError(ValueError):
    def __init__(self, problem: DateProblem, text: str) -> None:
        super().__init__(f"{problem.value}: {text!r}")
        self.problem = problem
        self.text = text


_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")  # fullmatch


def parse_date(text: str) -> date:
    """Parse ``2026-12-15``, ``2026/12/15``, ``2026.12.15`` or ``2026年12月15日``."""
    raw = text.strip()
    if not raw:
        raise DateError(DateProblem.EMPTY, text)
    match = _DATE.fullmatch(raw)
    if match is None:
        raise DateError(DateProblem.NOT_A_DATE, text)
    year, month, day = (int(part) for part in match.groups())
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise DateError(DateProblem.NO_SUCH_DAY, text) from exc
