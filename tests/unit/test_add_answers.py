"""The pure rules behind /add's steps: typed rates and their readings, the bounds of a
first due date, a rate's legal maximum, the most periods for a principal, a closed line."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from core.domain.credit import CreditLine, CreditRefusal, CreditRefused, check_line_open
from core.domain.dates import parse_date
from core.domain.rates import RateError, RateUnit, read_rate
from core.domain.terms import (
    Method,
    PlanTerms,
    RateProblem,
    TermsError,
    most_periods,
    rate_problem,
    validate_terms,
)
from core.limits import MAX_PLAN_PERIODS
from core.services.errors import InvalidInput
from core.services.limits import check_first_due

TODAY = date(2026, 11, 22)
D = Decimal


@pytest.mark.parametrize(
    ("text", "method", "rate"),
    [
        ("18%", Method.ANNUITY, D("0.18")),
        ("18 ％", Method.EQUAL_PRINCIPAL, D("0.18")),
        ("０.６%", Method.FEE_PER_PERIOD, D("0.006")),
        ("0", Method.ANNUITY, D("0")),
        ("0%", Method.FEE_PER_PERIOD, D("0")),
    ],
)
def test_a_percent_sign_or_zero_leaves_no_doubt(text: str, method: Method, rate: Decimal) -> None:
    typed = read_rate(text, method)
    assert typed.certain
    assert [r.rate for r in typed.readings] == [rate]


def test_a_bare_18_is_read_as_18_percent_a_year_and_asked() -> None:
    typed = read_rate("18", Method.ANNUITY)
    assert not typed.certain
    assert [(r.rate, r.unit) for r in typed.readings] == [(D("0.18"), RateUnit.PERCENT)]


def test_a_bare_fraction_on_an_annual_method_has_three_readings() -> None:
    typed = read_rate("0.18", Method.ANNUITY)
    assert [(r.rate, r.unit) for r in typed.readings] == [
        (D("0.0018"), RateUnit.PERCENT),
        (D("0.18"), RateUnit.FRACTION),
        (D("0.0216"), RateUnit.MONTHLY_PERCENT),
    ]


def test_a_bare_number_per_period_is_a_percent_or_a_fraction_within_the_fee_limit() -> None:
    assert [r.rate for r in read_rate("0.6", Method.FEE_PER_PERIOD).readings] == [D("0.006")]
    both = read_rate("0.006", Method.FEE_PER_PERIOD).readings
    assert [r.rate for r in both] == [D("0.00006"), D("0.006")]


@pytest.mark.parametrize(
    ("text", "method", "problem"),
    [
        ("40%", Method.ANNUITY, RateProblem.ABOVE_MAX_APR),
        ("40", Method.EQUAL_PRINCIPAL, RateProblem.ABOVE_MAX_APR),
        ("5%", Method.FEE_PER_PERIOD, RateProblem.ABOVE_MAX_FEE),
        ("0.0000000001%", Method.ANNUITY, RateProblem.TOO_MANY_PLACES),
    ],
)
def test_a_rate_above_the_legal_maximum_is_refused(
    text: str, method: Method, problem: RateProblem
) -> None:
    with pytest.raises(RateError) as caught:
        read_rate(text, method)
    assert caught.value.problem is problem


@pytest.mark.parametrize(
    "text", ["lots", "", "18%%", "-5", "1e3", "NaN", "9" * 5000, "1.2.3", "18\n%", "%"]
)
def test_what_is_no_number_is_not_a_rate(text: str) -> None:
    with pytest.raises(RateError) as caught:
        read_rate(text, Method.ANNUITY)
    assert caught.value.problem is None


def test_rate_problem_is_what_validate_terms_refuses() -> None:
    assert rate_problem(Method.ANNUITY, D("0.36")) is None
    assert rate_problem(Method.ANNUITY, D("0.3601")) is RateProblem.ABOVE_MAX_APR
    assert rate_problem(Method.INTEREST_FREE, D("0.01")) is RateProblem.NOT_ZERO
    assert rate_problem(Method.FEE_PER_PERIOD, D("-0.01")) is RateProblem.NEGATIVE
    terms = PlanTerms(D("1000.00"), 12, Method.ANNUITY, D("0.40"), date(2026, 12, 15))
    with pytest.raises(TermsError, match=r"annual rate above 0\.36"):
        validate_terms(terms)


def test_most_periods_keeps_a_yuan_per_period() -> None:
    assert most_periods(D("10000.00")) == MAX_PLAN_PERIODS
    assert most_periods(D("12.99")) == 12
    assert most_periods(D("0.50")) == 0


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0001-01-01", "too_early"),
        ("1900-01-01", "too_early"),
        ("9999-12-31", "too_late"),
        ("2028-01-01", "too_late"),
    ],
)
def test_a_typed_first_due_date_out_of_bounds_is_refused(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_first_due(parse_date(text), TODAY)
    assert (caught.value.field, caught.value.problem) == ("first_due", problem)


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        (CreditLine("花呗", D("6000"), D("0"), frozen=True), CreditRefusal.FROZEN),
        (CreditLine("Huabei", D("0"), D("0")), CreditRefusal.EXHAUSTED),
        (CreditLine("小米", D("1000"), D("1000")), CreditRefusal.EXHAUSTED),
    ],
)
def test_a_closed_line_is_refused_before_any_amount(
    line: CreditLine, refusal: CreditRefusal
) -> None:
    with pytest.raises(CreditRefused) as caught:
        check_line_open(line)
    assert caught.value.refusal is refusal


def test_an_open_line_is_not_refused() -> None:
    check_line_open(CreditLine("小米", D("1000"), D("999.99")))


@pytest.mark.parametrize(
    "typed", ["日利率0.05%", "0.05%/天", "日息 0.05", "0.05% a day", "0.05 daily"]
)
def test_a_daily_rate_is_one_certain_reading_of_its_yearly_rate(typed: str) -> None:
    found = read_rate(typed, Method.ANNUITY)
    assert found.certain
    assert [(r.rate, r.unit) for r in found.readings] == [
        (Decimal("0.1825"), RateUnit.DAILY_PERCENT)
    ]


def test_a_bare_number_may_be_a_daily_rate_and_a_fee_plan_has_none() -> None:
    units = [r.unit for r in read_rate("0.05", Method.ANNUITY).readings]
    assert RateUnit.DAILY_PERCENT in units
    with pytest.raises(RateError):
        read_rate("日利率0.05%", Method.FEE_PER_PERIOD)
    with pytest.raises(RateError):  # 1 % a day is 365 % a year: past what the law allows
        read_rate("日利率1%", Method.ANNUITY)
