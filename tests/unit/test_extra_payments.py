"""What if I pay ¥X extra each month (issue 13): nothing changes without an extra; an
extra never makes the debt-free day later nor saves less than nothing; more extra is
never worse; a plan that cannot or need not be paid off early is paid as scheduled."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.extra_payments import pay_extra
from core.domain.ledger import InstallmentLedger, PlanBook
from core.domain.schedule import build_schedule
from core.domain.terms import Method, PayoffPolicy, PlanTerms

D = Decimal
TODAY = date(2026, 12, 10)
RATES = {Method.FEE_PER_PERIOD: "0.006", Method.ANNUITY: "0.18", Method.INTEREST_FREE: "0"}


def _book(
    key: int,
    principal: str = "2999.00",
    periods: int = 12,
    policy: PayoffPolicy = PayoffPolicy.WAIVE_FUTURE_FEES,
    method: Method = Method.FEE_PER_PERIOD,
    rate: str = "0.006",
    first_due: date = date(2027, 1, 5),
) -> PlanBook:
    terms = PlanTerms(
        principal=D(principal),
        periods=periods,
        method=method,
        rate=D(rate),
        first_due=first_due,
        payoff_policy=policy,
    )
    ledgers = tuple(
        InstallmentLedger(key * 1000 + n, i) for n, i in enumerate(build_schedule(terms))
    )
    return PlanBook(key, terms, ledgers)


def test_an_extra_pays_the_first_plan_off_early_and_saves_its_later_fees() -> None:
    phone, pad = _book(1), _book(2, principal="1200.00", periods=6)
    found = pay_extra([phone, pad], [1, 2], D("1000"), TODAY)
    assert found.scheduled_debt_free == date(2027, 12, 5)
    assert [key for key, _ in found.payoffs] == [1, 2]
    assert found.debt_free is not None
    assert found.debt_free < found.scheduled_debt_free
    assert found.saving > 0
    # Each payoff waives the fees of the periods not yet billed: at most 17.99 a period.
    assert found.saving <= D("17.99") * 12 + D("7.20") * 6


def test_a_plan_whose_payoff_saves_nothing_is_paid_as_scheduled() -> None:
    charged = _book(1, policy=PayoffPolicy.CHARGE_FUTURE_FEES)
    forbidden = _book(2, policy=PayoffPolicy.FORBIDDEN)
    found = pay_extra([charged, forbidden], [1, 2], D("5000"), TODAY)
    assert found.payoffs == ()
    assert (found.saving, found.debt_free) == (0, found.scheduled_debt_free)


plans = st.lists(
    st.builds(
        lambda key, principal, periods, method, day, policy: _book(
            key, f"{principal}.00", periods, policy, method, RATES[method], date(2027, 1, day)
        ),
        key=st.integers(1, 1),  # replaced below: keys must differ
        principal=st.integers(100, 20000),
        periods=st.sampled_from([3, 6, 12, 24]),
        method=st.sampled_from(list(RATES)),
        day=st.integers(1, 28),
        policy=st.sampled_from(list(PayoffPolicy)),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=40, deadline=None)
@given(plans, st.integers(0, 3000), st.integers(0, 3000))
def test_more_extra_is_never_worse(books: list[PlanBook], small: int, more: int) -> None:
    books = [PlanBook(n, b.terms, b.ledgers) for n, b in enumerate(books, start=1)]
    order = [b.key for b in books]
    base = pay_extra(books, order, D(small), TODAY)
    bigger = pay_extra(books, order, D(small + more), TODAY)
    none = pay_extra(books, order, D(0), TODAY)
    assert none.payoffs == ()
    assert none.debt_free == none.scheduled_debt_free
    for found in (base, bigger):
        assert found.saving >= 0
        assert found.debt_free is not None
        assert found.scheduled_debt_free is not None
        assert found.debt_free <= found.scheduled_debt_free
        assert len({key for key, _ in found.payoffs}) == len(found.payoffs)
    assert bigger.debt_free is not None
    assert base.debt_free is not None
    assert bigger.debt_free <= base.debt_free
