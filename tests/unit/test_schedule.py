"""core.domain.schedule: the four methods, hand-checked examples and properties."""

from __future__ import annotations

import calendar
import dataclasses
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.domain.schedule import (
    ScheduledInstallment,
    Totals,
    annuity_payment,
    build_schedule,
    monthly_interest,
    schedule_totals,
)
from core.domain.terms import Method, PlanTerms, TermsError, TermsProblem

CENT = Decimal("0.01")


def _terms(method: Method, rate: str, principal: str = "6000.00", periods: int = 12) -> PlanTerms:
    return PlanTerms(Decimal(principal), periods, method, Decimal(rate), date(2025, 1, 31))


def _half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


# ------------------------------------------------------------ worked examples


def test_annuity_6000_over_12_at_18_percent() -> None:
    schedule = build_schedule(_terms(Method.ANNUITY, "0.18"))
    first = schedule[0]
    # 6000 × 0.015 = 90.00 interest; payment 6000·0.015·1.015¹²/(1.015¹²−1) = 550.08.
    assert (first.principal, first.interest, first.fee) == (
        Decimal("460.08"),
        Decimal("90.00"),
        Decimal("0.00"),
    )
    assert first.total == Decimal("550.08")
    # Second period: (6000 − 460.08) × 0.015 = 83.0988 → 83.10.
    assert (schedule[1].principal, schedule[1].interest) == (Decimal("466.98"), Decimal("83.10"))
    assert all(item.total == Decimal("550.08") for item in schedule[:-1])
    assert schedule[-1].total == Decimal("550.07")  # the last period absorbs the rounding
    assert schedule_totals(schedule) == Totals(
        Decimal("6000.00"), Decimal("600.95"), Decimal("0.00")
    )


def test_fee_per_period_6000_at_0_6_percent() -> None:
    schedule = build_schedule(_terms(Method.FEE_PER_PERIOD, "0.006"))
    assert len(schedule) == 12
    for item in schedule:
        assert (item.principal, item.interest, item.fee) == (
            Decimal("500.00"),
            Decimal("0.00"),
            Decimal("36.00"),
        )
        assert item.total == Decimal("536.00")
    totals = schedule_totals(schedule)
    assert (totals.fee, totals.total) == (Decimal("432.00"), Decimal("6432.00"))


def test_equal_principal_6000_over_12_at_18_percent() -> None:
    schedule = build_schedule(_terms(Method.EQUAL_PRINCIPAL, "0.18"))
    assert all(item.principal == Decimal("500.00") for item in schedule)
    # Interest on the declining balance: 6000 × 1.5 %, 5500 × 1.5 %, ..., 500 × 1.5 %.
    assert [item.interest for item in schedule] == [
        Decimal(90) - Decimal("7.50") * k for k in range(12)
    ]
    assert schedule_totals(schedule).interest == Decimal("585.00")


def test_interest_free_with_remainder_on_the_last_period() -> None:
    schedule = build_schedule(_terms(Method.INTEREST_FREE, "0", principal="100.00", periods=3))
    assert [item.principal for item in schedule] == [
        Decimal("33.33"),
        Decimal("33.33"),
        Decimal("33.34"),
    ]
    assert all(item.interest == 0 and item.fee == 0 for item in schedule)


def test_annuity_at_zero_rate_splits_evenly() -> None:
    schedule = build_schedule(_terms(Method.ANNUITY, "0", principal="1000.00", periods=3))
    assert [item.total for item in schedule] == [
        Decimal("333.33"),
        Decimal("333.33"),
        Decimal("333.34"),
    ]


def test_dates_and_period_boundaries_fall_back_at_month_end() -> None:
    schedule = build_schedule(_terms(Method.INTEREST_FREE, "0", periods=4))
    assert [item.period for item in schedule] == [1, 2, 3, 4]
    assert [item.due_date for item in schedule] == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]
    assert schedule[0].start_date == date(2024, 12, 31)
    assert [item.start_date for item in schedule[1:]] == [i.due_date for i in schedule[:-1]]


def test_build_schedule_validates_terms() -> None:
    with pytest.raises(TermsError) as caught:
        build_schedule(_terms(Method.ANNUITY, "0.40"))
    assert caught.value.problem is TermsProblem.RATE


def test_helpers() -> None:
    assert monthly_interest(Decimal("6000.00"), Decimal("0.18")) == Decimal("90.00")
    assert monthly_interest(Decimal("6006.00"), Decimal("0.19")) == Decimal("95.10")  # 95.095
    assert annuity_payment(Decimal("6000.00"), Decimal("0.015"), 12) == Decimal("550.08")
    assert annuity_payment(Decimal("100.00"), Decimal("0"), 3) == Decimal("33.33")
    assert annuity_payment(Decimal("1000.00"), Decimal("0.01"), 1) == Decimal("1010.00")
    item = ScheduledInstallment(
        1, date(2025, 1, 1), date(2025, 2, 1), Decimal("1.10"), Decimal("2.20"), Decimal("3.30")
    )
    assert item.total == Decimal("6.60")
    assert Totals(Decimal("1"), Decimal("2"), Decimal("3")).total == 6
    assert schedule_totals([]) == Totals(Decimal(0), Decimal(0), Decimal(0))


def test_scheduled_installment_is_frozen() -> None:
    item = build_schedule(_terms(Method.INTEREST_FREE, "0"))[0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        item.principal = Decimal(1)  # type: ignore[misc]


# ------------------------------------------------------------ properties


def _money(fen: int) -> Decimal:
    return Decimal(fen).scaleb(-2)


@st.composite
def valid_terms(draw: st.DrawFn, methods: tuple[Method, ...] = tuple(Method), min_yuan: int = 1):
    """Valid terms; ``min_yuan`` is the smallest principal per period."""
    method = draw(st.sampled_from(methods))
    periods = draw(st.integers(1, 60))
    principal = _money(draw(st.integers(min_yuan * 100 * periods, 1_000_000_000)))
    if method is Method.FEE_PER_PERIOD:
        rate = Decimal(draw(st.integers(0, 300))).scaleb(-4)  # 0 .. 0.03 per period
    elif method is Method.INTEREST_FREE:
        rate = Decimal(0)
    else:
        rate = Decimal(draw(st.integers(0, 3600))).scaleb(-4)  # APR 0 .. 0.36
    first_due = draw(st.dates(date(2000, 1, 1), date(2090, 12, 31)))
    last = calendar.monthrange(first_due.year, first_due.month)[1]
    # A repayment day consistent with the first due date: its own day, or (when the
    # first due date is a month end that fell back) any later day up to 31.
    days = [0, first_due.day, *(range(first_due.day, 32) if first_due.day == last else [])]
    return PlanTerms(
        principal, periods, method, rate, first_due, repayment_day=draw(st.sampled_from(days))
    )


def _decimals(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    assert isinstance(exponent, int)
    return -exponent


@settings(max_examples=400, deadline=None)
@given(valid_terms())
def test_schedule_invariants(terms: PlanTerms) -> None:
    schedule = build_schedule(terms)
    assert len(schedule) == terms.periods
    assert sum((item.principal for item in schedule), Decimal(0)) == terms.principal
    for k, item in enumerate(schedule, start=1):
        assert item.period == k
        for part in (item.principal, item.interest, item.fee):
            assert part >= 0
            assert _decimals(part) <= 2
            assert part == part.quantize(CENT)
    wanted = terms.repayment_day or terms.first_due.day
    previous = terms.disbursed_on
    for k, item in enumerate(schedule):
        due = item.due_date
        assert due > previous
        assert item.start_date == previous
        assert due.day == min(wanted, calendar.monthrange(due.year, due.month)[1])
        months = (due.year * 12 + due.month) - (terms.first_due.year * 12 + terms.first_due.month)
        assert months == k
        previous = due
    assert schedule[0].due_date == terms.first_due


@pytest.mark.parametrize("method", [Method.EQUAL_PRINCIPAL, Method.ANNUITY])
def test_interest_exactly_half_a_fen_rounds_up(method: Method) -> None:
    """6006.00 × 19 % / 12 = 95.095 exactly, which half up is 95.10.

    Exposes a core bug: the schedule multiplies the balance by the already-rounded
    monthly rate (0.19 / 12 = 0.015833…3 at 28 digits), gets 95.09499…, and rounds
    it down to 95.09.
    """
    schedule = build_schedule(_terms(method, "0.19", principal="6006.00"))
    assert schedule[0].interest == Decimal("95.10")


@settings(max_examples=300, deadline=None)
@given(valid_terms(methods=(Method.ANNUITY, Method.EQUAL_PRINCIPAL)))
@example(_terms(Method.EQUAL_PRINCIPAL, "0.19", principal="19.00", periods=19))  # 0.285
def test_interest_is_the_monthly_rate_on_the_declining_balance(terms: PlanTerms) -> None:
    schedule = build_schedule(terms)
    balance = terms.principal
    for item in schedule:
        assert item.interest == _half_up(balance * terms.rate / 12)
        assert item.fee == 0
        balance -= item.principal
    assert balance == 0


@settings(max_examples=300, deadline=None)
@given(valid_terms(methods=(Method.FEE_PER_PERIOD, Method.INTEREST_FREE, Method.EQUAL_PRINCIPAL)))
def test_even_principal_split_with_the_remainder_last(terms: PlanTerms) -> None:
    schedule = build_schedule(terms)
    n = terms.periods
    share = schedule[0].principal
    assert all(item.principal == share for item in schedule[:-1])
    # The share is P/n truncated to the fen; the last period takes the < n fen left over.
    assert share <= terms.principal / n < share + CENT
    assert 0 <= schedule[-1].principal - share < CENT * n
    if terms.method is Method.FEE_PER_PERIOD:
        fee = _half_up(terms.principal * terms.rate)
        assert all(item.fee == fee and item.interest == 0 for item in schedule)
    if terms.method is Method.INTEREST_FREE:
        assert all(item.fee == 0 and item.interest == 0 for item in schedule)


@settings(max_examples=300, deadline=None)
@given(valid_terms(methods=(Method.ANNUITY,), min_yuan=100))
def test_annuity_installments_are_equal_except_the_last(terms: PlanTerms) -> None:
    # Restricted to at least ¥100 of principal per period: the payment is rounded to the
    # fen, so each period can repay up to half a fen too much principal; with tiny
    # principals that drift could exhaust the balance before the last period (which the
    # schedule then shortens). At ¥100/period the drift (< ¥2 over 60 periods at 36 %)
    # is far below the last period's principal, so only the last period differs.
    schedule = build_schedule(terms)
    payment = schedule[0].total
    assert all(item.total == payment for item in schedule[:-1])
    if terms.rate and terms.periods > 1:  # with one period, the only one is the last
        assert payment == annuity_payment(terms.principal, terms.rate / 12, terms.periods)
    # The last period differs only by the accumulated rounding: at most 1 fen a period,
    # compounded at the monthly rate.
    growth = 1 + terms.rate / 12
    bound = CENT * sum((growth**j for j in range(terms.periods)), Decimal(0)) + CENT
    assert abs(schedule[-1].total - payment) <= bound
    assert schedule[-1].principal > 0


def test_accepted_terms_never_put_a_due_date_before_its_period_starts() -> None:
    """Exposes a core bug: validate_terms only checks the start against ``first_due``, but
    the schedule puts period 1 on ``repayment_day`` of first_due's month, which can be
    earlier. Here the plan starts 03-12 and period 1 falls due 03-10, before disbursement.
    Either the terms must be refused or every period must end after it starts."""
    terms = PlanTerms(
        Decimal("1200.00"),
        3,
        Method.ANNUITY,
        Decimal("0.12"),
        date(2025, 3, 15),
        repayment_day=10,
        start_date=date(2025, 3, 12),
    )
    try:
        schedule = build_schedule(terms)
    except TermsError:
        return
    assert all(item.start_date < item.due_date for item in schedule)
