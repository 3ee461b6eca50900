"""core.domain.apr: the annualized rate (年化利率) as IRR × 12, fees included."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.apr import RATE_QUANTUM, annualized_rate, monthly_irr
from core.domain.schedule import build_schedule
from core.domain.terms import Method, PlanTerms


def _schedule(method: Method, rate: str, principal: str = "6000.00", periods: int = 12):
    terms = PlanTerms(Decimal(principal), periods, method, Decimal(rate), date(2025, 3, 10))
    return terms.principal, build_schedule(terms)


def _present_value(payments: list[Decimal], monthly: Decimal) -> Decimal:
    return sum((amount / (1 + monthly) ** (k + 1) for k, amount in enumerate(payments)), Decimal(0))


def test_fee_per_period_0_6_percent_is_about_13_percent_not_7_2() -> None:
    principal, schedule = _schedule(Method.FEE_PER_PERIOD, "0.006")
    rate = annualized_rate(principal, schedule)
    assert rate == Decimal("0.1303")
    assert rate != Decimal("0.006") * 12
    assert rate.as_tuple().exponent == RATE_QUANTUM.as_tuple().exponent


@pytest.mark.parametrize("method", [Method.ANNUITY, Method.EQUAL_PRINCIPAL])
def test_interest_bearing_plans_report_their_apr(method: Method) -> None:
    principal, schedule = _schedule(method, "0.18")
    assert annualized_rate(principal, schedule) == Decimal("0.1800")


def test_interest_free_is_zero() -> None:
    principal, schedule = _schedule(Method.INTEREST_FREE, "0")
    assert annualized_rate(principal, schedule) == 0
    principal, schedule = _schedule(Method.FEE_PER_PERIOD, "0")
    assert annualized_rate(principal, schedule) == 0


def test_single_period() -> None:
    # 1000 borrowed, 1010 repaid a month later: 1 % a month, 12 % a year.
    assert monthly_irr(Decimal(1000), [Decimal(1010)]) == pytest.approx(Decimal("0.01"))
    principal, schedule = _schedule(Method.ANNUITY, "0.12", principal="1000.00", periods=1)
    assert schedule[0].total == Decimal("1010.00")
    assert annualized_rate(principal, schedule) == Decimal("0.1200")


def test_monthly_irr_solves_the_present_value_equation() -> None:
    payments = [Decimal("536.00")] * 12
    irr = monthly_irr(Decimal(6000), payments)
    assert abs(_present_value(payments, irr) - 6000) < Decimal("1e-6")
    assert Decimal("0.0108") < irr < Decimal("0.0109")


def test_monthly_irr_zero_when_nothing_beyond_the_principal_is_repaid() -> None:
    assert monthly_irr(Decimal(1000), [Decimal(500), Decimal(500)]) == 0
    assert monthly_irr(Decimal(1000), [Decimal(400), Decimal(500)]) == 0
    assert monthly_irr(Decimal(1000), []) == 0


def test_monthly_irr_handles_rates_above_100_percent_a_month() -> None:
    # 1000 → 3000 after one month is 200 % a month: the bracket must widen beyond 1.
    assert monthly_irr(Decimal(1000), [Decimal(3000)]) == pytest.approx(Decimal(2))


@pytest.mark.parametrize("principal", [Decimal(0), Decimal(-1)])
def test_monthly_irr_needs_a_positive_principal(principal: Decimal) -> None:
    with pytest.raises(ValueError, match="positive"):
        monthly_irr(principal, [Decimal(100)])


# Interest is rounded to the fen each period; at ¥1000 or more the IRR error that can
# cause is under 0.0002 a year, well within the 0.0005 asked for.
@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([Method.ANNUITY, Method.EQUAL_PRINCIPAL]),
    st.integers(1, 60),
    st.integers(100_000, 1_000_000_000),
    st.integers(0, 3600),
)
def test_annualized_rate_matches_the_apr(method: Method, periods: int, fen: int, bp: int) -> None:
    apr = Decimal(bp).scaleb(-4)
    terms = PlanTerms(Decimal(fen).scaleb(-2), periods, method, apr, date(2025, 1, 31))
    rate = annualized_rate(terms.principal, build_schedule(terms))
    assert abs(rate - apr) <= Decimal("0.0005")


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 300), st.integers(2, 36))
def test_fee_plans_cost_more_than_the_headline_rate(fee_bp: int, periods: int) -> None:
    fee_rate = Decimal(fee_bp).scaleb(-4)
    terms = PlanTerms(
        Decimal("12000.00"), periods, Method.FEE_PER_PERIOD, fee_rate, date(2025, 1, 15)
    )
    schedule = build_schedule(terms)
    rate = annualized_rate(terms.principal, schedule)
    # A flat fee on the original principal costs more than the same rate on a
    # declining balance: the annualized rate exceeds the headline rate × 12.
    assert rate > fee_rate * 12
    # ... and it is the rate at which the cash flows' present value is the principal.
    payments = [item.total for item in schedule]
    irr = monthly_irr(terms.principal, payments)
    assert abs(_present_value(payments, irr) - terms.principal) < Decimal("1e-6")
    assert abs(rate - irr * 12) <= RATE_QUANTUM / 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 10**8), min_size=1, max_size=24), st.integers(1, 10**9))
def test_monthly_irr_is_the_root(payment_fen: list[int], principal_fen: int) -> None:
    payments = [Decimal(f).scaleb(-2) for f in payment_fen]
    principal = Decimal(principal_fen).scaleb(-2)
    irr = monthly_irr(principal, payments)
    assert irr >= 0
    if sum(payments) > principal:
        assert irr > 0
        relative = abs(_present_value(payments, irr) - principal) / principal
        assert relative < Decimal("1e-8")
    else:
        assert irr == 0
