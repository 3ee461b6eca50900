"""What to pay off first: savings never negative, the order of each strategy, plans whose
payoff saves nothing last, the debt-free date the last due date (issue 13)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from core.domain.advice import PlanCost, Strategy, debt_free_on, plan_cost, rank
from core.domain.ledger import InstallmentLedger, PlanBook
from core.domain.schedule import build_schedule
from core.domain.terms import Method, PayoffPolicy, PlanTerms

D = Decimal


def _book(policy: PayoffPolicy, rate: str = "0.006") -> PlanBook:
    terms = PlanTerms(
        principal=D("2999.00"),
        periods=12,
        method=Method.FEE_PER_PERIOD,
        rate=D(rate),
        first_due=date(2027, 1, 5),
        payoff_policy=policy,
    )
    ledgers = tuple(InstallmentLedger(n + 1, i) for n, i in enumerate(build_schedule(terms)))
    return PlanBook(1, terms, ledgers)


def test_a_payoff_that_waives_fees_saves_them_one_that_charges_them_saves_nothing() -> None:
    on = date(2026, 12, 10)
    waive = plan_cost(1, _book(PayoffPolicy.WAIVE_FUTURE_FEES), D("0.1303"), on)
    charge = plan_cost(2, _book(PayoffPolicy.CHARGE_FUTURE_FEES), D("0.1303"), on)
    forbidden = plan_cost(3, _book(PayoffPolicy.FORBIDDEN), D("0.1303"), on)
    assert waive is not None
    assert charge is not None
    assert forbidden is not None
    assert waive.owed == D("12") * D("249.92") - D("0.04") + D("12") * D("17.99")  # 3,214.88
    assert waive.saving > 0
    assert charge.saving == 0
    assert (forbidden.payoff, forbidden.saving) == (None, 0)
    assert rank([charge, forbidden, waive], Strategy.AVALANCHE)[0].key == 1
    assert waive.last_due == date(2027, 12, 5)


costs = st.builds(
    PlanCost,
    key=st.integers(1, 50),
    apr=st.decimals(min_value=0, max_value=D("0.36"), places=4),
    owed=st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    payoff=st.none() | st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2),
    last_due=st.dates(min_value=date(2026, 1, 1), max_value=date(2032, 12, 31)),
)


@given(st.lists(costs, max_size=20, unique_by=lambda c: c.key), st.sampled_from(Strategy))
def test_the_order_of_each_strategy(plans: list[PlanCost], strategy: Strategy) -> None:
    ranked = rank(plans, strategy)
    assert sorted(c.key for c in ranked) == sorted(c.key for c in plans)
    assert all(c.saving >= 0 for c in ranked)
    worth = [c for c in ranked if c.saving > 0]
    assert ranked[: len(worth)] == worth  # what saves nothing comes last
    if strategy is Strategy.AVALANCHE:
        assert [c.apr for c in worth] == sorted((c.apr for c in worth), reverse=True)
    else:
        assert [c.owed for c in worth] == sorted(c.owed for c in worth)
    assert debt_free_on(plans) == max((c.last_due for c in plans), default=None)
