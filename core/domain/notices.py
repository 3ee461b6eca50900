"""A repayment notice as lenders send it — an SMS or an app notice, pasted or forwarded —
read into the plan it speaks of: who, how much is due, when, and how many periods are
left.

The common shapes (tests/data/notices.json holds a corpus in both languages):
"【小米金融】…本期应还267.90元，还款日12月5日，剩余8期", "【花呗】…账单…应还金额1,266.00元，
最后还款日12月9日", "…第3/12期应还300.00元，请于12月15日前还款", "…信用卡分期第4期/共12期，
本期应还1,024.99元，还款日2026-12-18", "Xiaomi Finance: your installment of ¥267.90 is due
on Dec 5. 8 installments remaining.".

A notice is recognised when it names an amount due and a due date. A bill with no
periods is one period. Pure and bounded: the text is cut to ``MAX_NOTICE`` characters and
read once by a few regular expressions without nested repetition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from core.domain.quick_plan import QuickPlan, month_day_after
from core.domain.terms import PlanKind

MAX_NOTICE = 500
_MONEY = r"[¥￥]?\s*(\d{1,8}(?:,\d{3})*(?:\.\d{1,2})?)"
_BRACKETED = re.compile(r"^\s*[【\[]([^】\]]{1,20})[】\]]")
# Lenders and how a plan of theirs is named; the first found names the plan.
_KNOWN = (
    ("小米分期", "小米分期"),
    ("小米金融", "小米分期"),
    ("xiaomi", "Xiaomi"),
    ("借呗", "借呗"),
    ("jiebei", "Jiebei"),
    ("花呗", "花呗"),
    ("huabei", "Huabei"),
    ("白条", "京东白条"),
    ("baitiao", "JD Baitiao"),
    ("招联", "招联金融"),
    ("zhaolian", "Zhaolian"),
)
_BANK = re.compile(r"([\u4e00-\u9fff]{2,6}银行)|\b((?:[A-Z][A-Za-z]{1,20} ){1,3}Bank)\b")
_DUE_AMOUNT = re.compile(
    rf"(?:应还|待还)(?:款)?(?:金额)?(?:为|是|：|:)?\s*{_MONEY}\s*元?"
    rf"|(?:installment|payment|bill)\s+(?:of|is)\s+{_MONEY}"
    rf"|amount due\s*(?:of|is|:)?\s*{_MONEY}",
    re.I,
)
_FULL_DATE = re.compile(r"(\d{4})\s*[年\-/.]\s*(\d{1,2})\s*[月\-/.]\s*(\d{1,2})")
_ZH_DATE = re.compile(
    r"(?:还款日|还款日期|应还日期|最后还款日|请于|于)[^\d]{0,4}(\d{1,2})\s*月\s*(\d{1,2})"
)
_EN_DATE = re.compile(
    r"\b(?:due|by|on)\s+(?:on\s+|by\s+)?"
    r"(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(\d{1,2})(?:,?\s+(\d{4}))?",
    re.I,
)
_LEFT = re.compile(
    r"剩余?(?:期数)?\s*(\d{1,3})\s*期|(\d{1,3})\s*(?:installments?|payments?|periods?)\s*"
    r"(?:remaining|left|to go)",
    re.I,
)
_NTH_OF = re.compile(
    r"第\s*(\d{1,3})\s*(?:期)?\s*[/／]\s*(?:共\s*)?(\d{1,3})\s*期"
    r"|(?:installment|period|payment)\s+(\d{1,3})\s+of\s+(\d{1,3})",
    re.I,
)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CASH = ("借呗", "借款", "备用金", "jiebei", "loan")


@dataclass(frozen=True, slots=True)
class Notice:
    provider: str | None  # None: not named (/add asks)
    amount: Decimal  # due this period
    due: date
    periods_left: int | None  # None: not said (a bill: one period)

    def as_plan(self) -> QuickPlan:
        """The plan to add: so much a period for the periods left (a bill: one)."""
        kind = (
            PlanKind.CASH_ADVANCE
            if any(w in (self.provider or "").lower() for w in _CASH)
            else PlanKind.PURCHASE
        )
        return QuickPlan(
            provider=self.provider,
            periods=self.periods_left or 1,
            first_due=self.due,
            kind=kind,
            per_period=self.amount,
        )


def read_notice(text: str, today: date) -> Notice | None:
    """The notice in ``text``, or None when it names no amount due and due date."""
    line = " ".join(text[:MAX_NOTICE].split())
    amount = _amount(line)
    due = _due(line, today)
    if amount is None or due is None:
        return None
    return Notice(_provider(line), amount, due, _left(line))


def _amount(line: str) -> Decimal | None:
    found = _DUE_AMOUNT.search(line)
    if found is None:
        return None
    try:
        value = Decimal(next(g for g in found.groups() if g).replace(",", ""))
    except (InvalidOperation, StopIteration):
        return None
    return value if value > 0 else None


def _due(line: str, today: date) -> date | None:
    full = _FULL_DATE.search(line)
    if full is not None:
        try:
            return date(int(full[1]), int(full[2]), int(full[3]))
        except ValueError:
            return None
    zh = _ZH_DATE.search(line)
    if zh is not None:
        return month_day_after(today, int(zh[1]), int(zh[2]), on_or_after=True)
    en = _EN_DATE.search(line)
    if en is None:
        return None
    month = _MONTHS.index(en[1][:3].lower()) + 1
    if en[3]:
        try:
            return date(int(en[3]), month, int(en[2]))
        except ValueError:
            return None
    return month_day_after(today, month, int(en[2]), on_or_after=True)


def _left(line: str) -> int | None:
    left = _LEFT.search(line)
    if left is not None:
        return int(left[1] or left[2])
    nth = _NTH_OF.search(line)
    if nth is not None:
        current, total = int(nth[1] or nth[3]), int(nth[2] or nth[4])
        if 1 <= current <= total:
            return total - current + 1
    return None  # not said: a bill, or a notice of one period


def _provider(line: str) -> str | None:
    lowered = line.lower()
    for word, name in _KNOWN:
        if word in lowered:
            return name
    bank = _BANK.search(line)
    if bank is not None:
        return bank[1] or bank[2]
    bracketed = _BRACKETED.match(line)
    if bracketed is not None:
        return bracketed[1].strip()
    return None
