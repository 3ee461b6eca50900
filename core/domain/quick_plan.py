"""A plan typed on one line, the way people say it: "花呗 3000 12期 0.6%", "借呗 5000 6期
年化18%", "Xiaomi 2999 12 periods 0.6% fee, first due Jan 5", "京东白条 1299 3期 免息 5号还".

Pure and bounded: the line is cut to ``MAX_LINE`` characters and read once by a few
regular expressions without nested repetition. What is not there is left out, and /add
asks for it; nothing read is saved before the same preview and Save as every /add.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from core.domain.dates import due_date
from core.domain.rates import said_daily, yearly_of_daily
from core.domain.terms import Method, PlanKind

MAX_LINE = 200
FEE_RATE_AT_MOST = Decimal("0.03")  # a per-period fee rate above this is read as a year's
_MONTHS = {
    name: n
    for n, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
_CASH = ("备用金", "借呗", "借款", "cash advance", "loan")
_PERIODS = re.compile(r"(\d{1,3})\s*(?:期|个月|periods?|months?|instal(?:l)?ments?)", re.I)
_RATE = re.compile(r"(年化|apr\s*|annual\s*)?(?<![\d.])(\d{1,3}(?:\.\d{1,4})?)\s*%", re.I)
_FREE = re.compile(r"免息|0\s*利息|interest[- ]free|no interest", re.I)
_DAY_ZH = re.compile(r"(?:每月)?(\d{1,2})\s*[号日]\s*还?")
_MONTH_DAY_ZH = re.compile(r"(\d{1,2})\s*月\s*(\d{1,2})\s*[号日]")
_MONTH_DAY_EN = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})\b", re.I
)
_AMOUNT = re.compile(
    r"(?<![\d.])[¥￥]?\s*(\d{1,8}(?:,\d{3})*(?:\.\d{1,2})?)(?![\d.]*\s*(?:%|期|个月|号|日|月|periods?|months?))",
    re.I,
)
_PROVIDER = re.compile(r"^\s*([^\d¥￥\s,，]{1,64})")
_MONEY = r"[¥￥]?\s*(\d{1,8}(?:,\d{3})*(?:\.\d{1,2})?)"
# So much a period: "每期267.90", "月供 267.9", "267.90/期", "267.90 per month", "¥267.90 a month".
_NOT_A_DAY = r"(?![\d.]*\s*[号日])"  # "每月12号还" is a day, not an amount
_PER_PERIOD = re.compile(
    rf"(?:每期|月供|每月)\s*(?:还|应还)?\s*{_MONEY}{_NOT_A_DAY}"
    rf"|{_MONEY}\s*元?\s*(?:/|每|per|a)\s*(?:期|月|period|month|mo)\b",
    re.I,
)
_PRINCIPAL = re.compile(rf"(?:本金|principal(?:\s+of)?)\s*{_MONEY}", re.I)
_TOTAL_FEE = re.compile(
    rf"(?:总手续费|手续费共|手续费合计|total\s+fees?(?:\s+of)?)\s*{_MONEY}(?!\s*%)", re.I
)


@dataclass(frozen=True, slots=True)
class QuickPlan:
    """What one line says; None where it says nothing."""

    provider: str | None = None
    principal: Decimal | None = None
    periods: int | None = None
    method: Method | None = None
    rate: Decimal | None = None
    first_due: date | None = None
    kind: PlanKind = PlanKind.PURCHASE
    # Said as the lender's app shows it mid-way (so much a period): the amount, and the
    # principal and the total fee when the line gives them (``principal`` is then None).
    per_period: Decimal | None = None
    stated_principal: Decimal | None = None
    total_fee: Decimal | None = None


def read_plan(text: str, today: date) -> QuickPlan:
    """The plan a line describes; dates are the next such day from ``today``."""
    line = text[:MAX_LINE]
    provider = _provider(line)
    periods_match = _PERIODS.search(line)
    periods = int(periods_match[1]) if periods_match else None
    method, rate = _method_and_rate(line)
    kind = PlanKind.CASH_ADVANCE if any(w in line.lower() for w in _CASH) else PlanKind.PURCHASE
    first_due = _first_due(line, today)
    per_period = _money(_PER_PERIOD.search(line))
    if per_period is not None:
        return QuickPlan(
            provider,
            None,
            periods,
            method,
            rate,
            first_due,
            kind,
            per_period,
            _money(_PRINCIPAL.search(line)),
            _money(_TOTAL_FEE.search(line)),
        )
    return QuickPlan(provider, _principal(line), periods, method, rate, first_due, kind)


def _money(found: re.Match[str] | None) -> Decimal | None:
    text = None if found is None else next((g for g in found.groups() if g), None)
    if text is None:
        return None
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return value if value > 0 else None


def _provider(line: str) -> str | None:
    found = _PROVIDER.match(line)
    if found is None:
        return None
    name = found[1].strip()
    return name if re.search(r"\w", name) else None  # a name has a letter or a character


def _principal(line: str) -> Decimal | None:
    for found in _AMOUNT.finditer(line):
        try:
            value = Decimal(found[1].replace(",", ""))
        except InvalidOperation:
            continue
        if value >= 1:
            return value
    return None


def _method_and_rate(line: str) -> tuple[Method | None, Decimal | None]:
    if _FREE.search(line):
        return Method.INTEREST_FREE, Decimal("0")
    found = _RATE.search(line)
    if found is None:
        return None, None
    rate = Decimal(found[2]) / 100
    if said_daily(line):  # "日利率0.05%": 备用金 and cash loans are quoted by the day
        return Method.ANNUITY, yearly_of_daily(rate)
    if found[1] or rate > FEE_RATE_AT_MOST:  # "年化 18%": a year's rate
        return Method.ANNUITY, rate
    return Method.FEE_PER_PERIOD, rate  # "0.6%": a fee each period, as 分期 quote it


def _first_due(line: str, today: date) -> date | None:
    month_day = _MONTH_DAY_ZH.search(line)
    if month_day is None:
        english = _MONTH_DAY_EN.search(line)
        if english is not None:
            return month_day_after(today, _MONTHS[english[1][:3].lower()], int(english[2]))
    else:
        return month_day_after(today, int(month_day[1]), int(month_day[2]))
    day_only = _DAY_ZH.search(line)
    if day_only is not None:
        day = int(day_only[1])
        if 1 <= day <= 31:
            this_month = due_date(today.replace(day=1), day, 1)
            return this_month if this_month > today else due_date(today.replace(day=1), day, 2)
    return None


def month_day_after(today: date, month: int, day: int, *, on_or_after: bool = False) -> date | None:
    """The next ``month``/``day`` after ``today`` (or on it, with ``on_or_after``; a leap
    day within four years); None if there is no such day."""
    for year in range(today.year, today.year + 5):
        try:
            found = date(year, month, day)
        except ValueError:
            continue
        if found > today or (on_or_after and found == today):
            return found
    return None
