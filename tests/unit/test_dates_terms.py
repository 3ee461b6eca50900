"""core.domain.dates (month arithmetic, typed dates) and core.domain.terms (validation)."""

from __future__ import annotations

import calendar
import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.dates import DateError, DateProblem, add_months, due_date, parse_date
from core.domain.terms import (
    MAX_APR,
    MAX_FEE_RATE,
    MAX_PERIODS,
    Method,
    PayoffPolicy,
    PlanKind,
    PlanTerms,
    TermsError,
    TermsProblem,
    validate_terms,
)
from core.money import MAX_AMOUNT


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


@pytest.mark.parametrize(
    ("start", "months", "day", "expected"),
    [
        (date(2025, 1, 15), 1, None, date(2025, 2, 15)),
        (date(2025, 1, 31), 1, None, date(2025, 2, 28)),
        (date(2024, 1, 31), 1, None, date(2024, 2, 29)),  # leap year
        (date(2025, 1, 31), 2, None, date(2025, 3, 31)),  # back to 31 after February
        (date(2025, 3, 31), 1, None, date(2025, 4, 30)),
        (date(2025, 11, 30), 2, None, date(2026, 1, 30)),  # across the year end
        (date(2025, 12, 15), 1, None, date(2026, 1, 15)),
        (date(2025, 3, 31), -1, None, date(2025, 2, 28)),
        (date(2025, 1, 15), -1, None, date(2024, 12, 15)),
        (date(2025, 2, 28), 1, 31, date(2025, 3, 31)),  # the day overrides start.day
        (date(2025, 2, 28), 0, 30, date(2025, 2, 28)),
        (date(2025, 5, 10), 0, None, date(2025, 5, 10)),
        (date(2025, 1, 1), 24, None, date(2027, 1, 1)),
    ],
)
def test_add_months(start: date, months: int, day: int | None, expected: date) -> None:
    assert add_months(start, months, day) == expected


@settings(deadline=None)
@given(st.dates(date(1900, 1, 1), date(2100, 12, 31)), st.integers(-240, 240))
def test_add_months_lands_on_the_day_or_month_end(start: date, months: int) -> None:
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day == min(start.day, _last_day(result.year, result.month))


def test_due_date() -> None:
    first = date(2025, 1, 31)
    assert due_date(first, 31, 1) == date(2025, 1, 31)
    assert due_date(first, 31, 2) == date(2025, 2, 28)
    assert due_date(first, 31, 3) == date(2025, 3, 31)
    assert due_date(first, 31, 4) == date(2025, 4, 30)
    assert due_date(first, 31, 13) == date(2026, 1, 31)
    # The repayment day, not the (fallen back) day of the previous due date, governs.
    assert due_date(date(2025, 2, 28), 30, 2) == date(2025, 3, 30)


@pytest.mark.parametrize("period", [0, -1])
def test_due_date_is_one_based(period: int) -> None:
    with pytest.raises(ValueError, match="1-based"):
        due_date(date(2025, 1, 15), 15, period)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-15", date(2026, 12, 15)),
        ("2026/12/15", date(2026, 12, 15)),
        ("2026.12.15", date(2026, 12, 15)),
        ("2026年12月15日", date(2026, 12, 15)),
        ("2026年12月15", date(2026, 12, 15)),
        ("2026 年 1 月 5 日", date(2026, 1, 5)),
        ("2026-1-5", date(2026, 1, 5)),
        ("  2024-02-29  ", date(2024, 2, 29)),
    ],
)
def test_parse_date_accepts(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", DateProblem.EMPTY),
        ("   ", DateProblem.EMPTY),
        ("tomorrow", DateProblem.NOT_A_DATE),
        ("15/12/2026", DateProblem.NOT_A_DATE),
        ("26-12-15", DateProblem.NOT_A_DATE),
        ("2026-12", DateProblem.NOT_A_DATE),
        ("2026-12-15 09:00", DateProblem.NOT_A_DATE),
        ("2026-123-1", DateProblem.NOT_A_DATE),
        ("2026-02-30", DateProblem.NO_SUCH_DAY),
        ("2025-02-29", DateProblem.NO_SUCH_DAY),
        ("2026-13-01", DateProblem.NO_SUCH_DAY),
        ("2026-00-10", DateProblem.NO_SUCH_DAY),
        ("2026-04-31", DateProblem.NO_SUCH_DAY),
        ("2026年6月0日", DateProblem.NO_SUCH_DAY),
    ],
)
def test_parse_date_rejects(text: str, problem: DateProblem) -> None:
    with pytest.raises(DateError) as caught:
        parse_date(text)
    assert caught.value.problem is problem
    assert caught.value.text == text
    assert isinstance(caught.value, ValueError)


@settings(deadline=None)
@given(st.dates(date(1000, 1, 1), date(9999, 12, 31)), st.sampled_from(["-", "/", "."]))
def test_parse_date_round_trips(day: date, sep: str) -> None:
    assert parse_date(day.strftime(f"%Y{sep}%m{sep}%d")) == day
    assert parse_date(f"{day.year}年{day.month}月{day.day}日") == day


# ---------------------------------------------------------------- terms

BASE = PlanTerms(
    principal=Decimal("6000.00"),
    periods=12,
    method=Method.ANNUITY,
    rate=Decimal("0.18"),
    first_due=date(2025, 2, 15),
)


def test_enum_values() -> None:
    assert [m.value for m in Method] == [
        "fee_per_period",
        "annuity",
        "equal_principal",
        "interest_free",
    ]
    assert {k.value for k in PlanKind} == {"purchase", "cash_advance"}
    assert PayoffPolicy("forbidden") is PayoffPolicy.FORBIDDEN
    assert MAX_PERIODS == 60
    assert Decimal("0.36") == MAX_APR
    assert Decimal("0.03") == MAX_FEE_RATE


def test_plan_terms_defaults() -> None:
    assert BASE.repayment_day == 0
    assert BASE.day == 15  # the day of first_due
    assert BASE.disbursed_on == date(2025, 1, 15)  # one month before first_due
    assert BASE.grace_days == 3
    assert BASE.tolerance == Decimal("10.00")
    assert BASE.penalty_daily_rate == Decimal("0.0005")
    assert BASE.payoff_policy is PayoffPolicy.WAIVE_FUTURE_FEES
    assert validate_terms(BASE) is BASE


def test_plan_terms_day_and_start() -> None:
    terms = dataclasses.replace(
        BASE, first_due=date(2025, 2, 28), repayment_day=31, start_date=date(2025, 2, 1)
    )
    assert terms.day == 31
    assert terms.disbursed_on == date(2025, 2, 1)
    month_end = dataclasses.replace(BASE, first_due=date(2025, 3, 31))
    assert month_end.disbursed_on == date(2025, 2, 28)


def test_plan_terms_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        BASE.periods = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    "changes",
    [
        {"periods": 1, "principal": Decimal("1.00")},
        {"periods": 60, "principal": Decimal("60.00")},
        {"principal": MAX_AMOUNT},
        {"rate": Decimal("0.36")},
        {"rate": Decimal("0")},
        {"method": Method.EQUAL_PRINCIPAL, "rate": Decimal("0.36")},
        {"method": Method.FEE_PER_PERIOD, "rate": Decimal("0.03")},
        {"method": Method.INTEREST_FREE, "rate": Decimal("0")},
        {"repayment_day": 31, "first_due": date(2025, 2, 28)},
        {"grace_days": 0},
        {"grace_days": 30},
        {"tolerance": Decimal("0")},
        {"penalty_daily_rate": Decimal("0"), "penalty_cap_rate": Decimal("0")},
        {"start_date": date(2025, 2, 14)},
        {"early_repayment_fee_rate": Decimal("0.02")},
    ],
)
def test_validate_terms_accepts_boundaries(changes: dict[str, object]) -> None:
    terms = dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]
    assert validate_terms(terms) is terms


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"periods": 0}, TermsProblem.PERIODS),
        ({"periods": 61}, TermsProblem.PERIODS),
        ({"principal": Decimal("100.001")}, TermsProblem.PRINCIPAL),
        ({"principal": Decimal("0")}, TermsProblem.PRINCIPAL),
        ({"principal": Decimal("-100")}, TermsProblem.PRINCIPAL),
        ({"principal": Decimal("10000000.01")}, TermsProblem.PRINCIPAL),
        ({"principal": Decimal("11.99")}, TermsProblem.PRINCIPAL),  # < ¥1 per period
        ({"rate": Decimal("-0.01")}, TermsProblem.RATE),
        ({"rate": Decimal("Infinity")}, TermsProblem.RATE),
        ({"rate": Decimal("0.3601")}, TermsProblem.RATE),
        ({"method": Method.EQUAL_PRINCIPAL, "rate": Decimal("0.37")}, TermsProblem.RATE),
        ({"method": Method.FEE_PER_PERIOD, "rate": Decimal("0.0301")}, TermsProblem.RATE),
        ({"method": Method.INTEREST_FREE, "rate": Decimal("0.01")}, TermsProblem.RATE),
        ({"repayment_day": 32}, TermsProblem.REPAYMENT_DAY),
        ({"repayment_day": -1}, TermsProblem.REPAYMENT_DAY),
        ({"start_date": date(2025, 2, 15)}, TermsProblem.START_DATE),
        ({"start_date": date(2025, 3, 1)}, TermsProblem.START_DATE),
        ({"grace_days": -1}, TermsProblem.GRACE),
        ({"grace_days": 31}, TermsProblem.GRACE),
        ({"tolerance": Decimal("-0.01")}, TermsProblem.TOLERANCE),
        ({"penalty_daily_rate": Decimal("-0.0001")}, TermsProblem.PENALTY),
        ({"penalty_cap_rate": Decimal("-0.1")}, TermsProblem.PENALTY),
        ({"early_repayment_fee_rate": Decimal("-0.01")}, TermsProblem.EARLY_FEE),
    ],
)
def test_validate_terms_refuses(changes: dict[str, object], problem: TermsProblem) -> None:
    terms = dataclasses.replace(BASE, **changes)  # type: ignore[arg-type]
    with pytest.raises(TermsError) as caught:
        validate_terms(terms)
    assert caught.value.problem is problem
    assert caught.value.detail
    assert str(caught.value).startswith(problem.value)


def test_validate_terms_refuses_a_nan_rate_with_a_terms_error() -> None:
    """A NaN rate must be refused as a RATE problem, like Infinity (validate_terms checks
    ``is_finite``), not crash with decimal.InvalidOperation. Exposes a core bug: the
    ``rate < 0`` comparison runs before the finiteness check and raises on NaN."""
    terms = dataclasses.replace(BASE, rate=Decimal("NaN"))
    with pytest.raises(TermsError) as caught:
        validate_terms(terms)
    assert caught.value.problem is TermsProblem.RATE
