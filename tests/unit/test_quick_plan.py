"""A plan typed on one line: what each common way of saying it gives, and that no input
crashes the reader or makes it do more than a bounded amount of work (issue 13)."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.domain.quick_plan import MAX_LINE, QuickPlan, read_plan
from core.domain.terms import Method, PlanKind

D = Decimal
TODAY = date(2026, 12, 5)
FEE = Method.FEE_PER_PERIOD


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("花呗 3000 12期 0.6%", QuickPlan("花呗", D("3000"), 12, FEE, D("0.006"))),
        (
            "小米分期 2999 12期 0.6% 5号还",
            QuickPlan("小米分期", D("2999"), 12, FEE, D("0.006"), date(2027, 1, 5)),
        ),
        (
            "借呗 5000 6期 年化18%",
            QuickPlan("借呗", D("5000"), 6, Method.ANNUITY, D("0.18"), None, PlanKind.CASH_ADVANCE),
        ),
        (
            "京东白条 1299 3期 免息 每月10日还",
            QuickPlan("京东白条", D("1299"), 3, Method.INTEREST_FREE, D("0"), date(2026, 12, 10)),
        ),
        (
            "Xiaomi 2999 12 periods 0.6% fee, first due Jan 5",
            QuickPlan("Xiaomi", D("2999"), 12, FEE, D("0.006"), date(2027, 1, 5)),
        ),
        (
            "Huabei ¥1,200.50 6 months interest-free",
            QuickPlan("Huabei", D("1200.50"), 6, Method.INTEREST_FREE, D("0")),
        ),
        ("招联 8000 12期 18%", QuickPlan("招联", D("8000"), 12, Method.ANNUITY, D("0.18"))),
        ("!!!", QuickPlan()),
        ("", QuickPlan()),
    ],
)  # fmt: skip
def test_common_ways_of_saying_a_plan(line: str, expected: QuickPlan) -> None:
    assert read_plan(line, TODAY) == expected


def test_a_day_that_month_has_not_falls_on_its_last_day() -> None:
    assert read_plan("x 100 3期 免息 31号还", date(2027, 2, 1)).first_due == date(2027, 2, 28)
    assert read_plan("x 100 3期 免息 2月30日", TODAY).first_due is None  # no such day


@given(st.text(max_size=5000), st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 1)))
def test_any_text_is_read_without_error_in_bounded_time(text: str, today: date) -> None:
    started = time.perf_counter()
    found = read_plan(text, today)
    assert time.perf_counter() - started < 1.0  # a line of MAX_LINE characters at most
    assert found.periods is None or 0 <= found.periods <= 999
    assert found.principal is None or found.principal >= 1
    assert found.first_due is None or found.first_due > today
    assert found.provider is None or len(found.provider) <= MAX_LINE


def test_a_daily_rate_is_read_as_the_yearly_rate_it_makes() -> None:
    """备用金 and cash loans are quoted by the day: 0.05 % a day is 18.25 % a year."""
    for line in ("小米备用金 5000 6期 日利率0.05%", "Xiaomi cash loan 5000 6 months 0.05% a day"):
        found = read_plan(line, date(2026, 12, 5))
        assert (found.method, found.rate) == (Method.ANNUITY, Decimal("0.1825")), line
        assert found.kind is PlanKind.CASH_ADVANCE
