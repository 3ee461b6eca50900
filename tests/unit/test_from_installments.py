"""A plan from its installments (issue 13): the schedule built from the terms asks what
the lender's app shows, to the fen but for rounding of the rate; without a principal or a
fee the rate is unknown, never 0 %."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from core.domain.from_installments import InstallmentsProblem, terms_from_installments
from core.domain.schedule import build_schedule
from core.domain.terms import Method, PlanTerms

D = Decimal


def _schedule(amount: Decimal, periods: int, **known: Decimal) -> list[Decimal]:
    found = terms_from_installments(amount, periods, **known)
    terms = PlanTerms(
        principal=found.principal,
        periods=periods,
        method=found.method,
        rate=found.rate,
        first_due=date(2027, 1, 5),
    )
    return [item.total for item in build_schedule(terms)]


def test_xiaomi_style_267_90_for_8_periods_with_the_principal() -> None:
    found = terms_from_installments(D("267.90"), 8, principal=D("2000.00"))
    assert (found.method, found.rate_known) == (Method.FEE_PER_PERIOD, True)
    assert found.rate == D("0.00895")  # 17.90 a period on 2,000
    assert _schedule(D("267.90"), 8, principal=D("2000.00")) == [D("267.90")] * 8


def test_the_same_from_the_total_fee() -> None:
    by_fee = terms_from_installments(D("267.90"), 8, total_fee=D("143.20"))
    assert by_fee == terms_from_installments(D("267.90"), 8, principal=D("2000.00"))


def test_without_principal_or_fee_the_rate_is_unknown() -> None:
    found = terms_from_installments(D("267.90"), 8)
    assert (found.principal, found.method, found.rate_known) == (
        D("2143.20"),
        Method.INTEREST_FREE,
        False,
    )
    assert _schedule(D("267.90"), 8) == [D("267.90")] * 8


def test_no_fee_left_is_interest_free_and_known() -> None:
    found = terms_from_installments(D("250.00"), 8, principal=D("2000.00"))
    assert (found.method, found.rate, found.rate_known) == (Method.INTEREST_FREE, 0, True)


@pytest.mark.parametrize("known", [{"principal": D("3000")}, {"total_fee": D("-1")}])
def test_more_than_the_periods_add_up_to_is_refused(known: dict[str, Decimal]) -> None:
    with pytest.raises(InstallmentsProblem):
        terms_from_installments(D("267.90"), 8, **known)


@given(
    fen=st.integers(100, 2_000_000),
    periods=st.integers(1, 36),
    fee_share=st.integers(0, 300),  # the fee, in thousandths of the principal
)
def test_each_installment_is_the_amount_to_within_rounding(
    fen: int, periods: int, fee_share: int
) -> None:
    assume(fee_share <= 29 * periods)  # under the 3 % a period the terms allow, rounding and all
    amount = D(fen) / 100
    repaid = amount * periods
    principal = (repaid * 1000 / (1000 + fee_share)).quantize(D("0.01"))
    assume(principal >= periods)  # at least ¥1 of principal a period
    found = terms_from_installments(amount, periods, principal=principal)
    totals = _schedule(amount, periods, principal=principal)
    assert sum(totals) - repaid <= D("0.01") * periods + D("0.01")
    assert sum(totals) - repaid >= -(D("0.01") * periods + D("0.01"))
    assert found.rate_known
