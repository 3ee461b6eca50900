"""core.domain.allocation: oldest first, penalty → fee → interest → principal, every fen placed."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.allocation import AllocationLine, OverpaymentError, Owed, allocate_payment
from core.domain.ledger import ALLOCATION_ORDER, Parts

D = Decimal
OLD = Owed(1, date(2025, 3, 15), Parts(D("2.00"), D("6.00"), D("30.00"), D("500.00")))
NEW = Owed(2, date(2025, 4, 15), Parts(D("0.00"), D("6.00"), D("25.00"), D("505.00")))


def test_partial_payment_covers_penalty_then_fee_then_interest() -> None:
    lines = allocate_payment(D("20.00"), [OLD, NEW])
    assert lines == (AllocationLine(1, Parts(D("2.00"), D("6.00"), D("12.00"), D("0.00"))),)


def test_remainder_goes_to_the_next_installment() -> None:
    lines = allocate_payment(D("600.00"), [NEW, OLD])  # order given does not matter
    assert lines == (
        AllocationLine(1, Parts(D("2.00"), D("6.00"), D("30.00"), D("500.00"))),
        AllocationLine(2, Parts(D("0.00"), D("6.00"), D("25.00"), D("31.00"))),
    )
    assert sum((line.parts.total for line in lines), D(0)) == D("600.00")


def test_exact_total_pays_everything() -> None:
    lines = allocate_payment(D("1074.00"), [OLD, NEW])
    assert [line.parts for line in lines] == [OLD.owed, NEW.owed]


def test_one_fen() -> None:
    assert allocate_payment(D("0.01"), [OLD]) == (AllocationLine(1, Parts(penalty=D("0.01"))),)


def test_same_due_date_orders_by_key() -> None:
    a = Owed(9, date(2025, 3, 15), Parts(principal=D("100.00")))
    b = Owed(4, date(2025, 3, 15), Parts(principal=D("100.00")))
    assert allocate_payment(D("150.00"), [a, b]) == (
        AllocationLine(4, Parts(principal=D("100.00"))),
        AllocationLine(9, Parts(principal=D("50.00"))),
    )


def test_fully_paid_installments_get_no_line() -> None:
    paid = Owed(5, date(2025, 2, 15), Parts())
    lines = allocate_payment(D("10.00"), [paid, OLD])
    assert [line.key for line in lines] == [1]
    assert lines[0].parts == Parts(D("2.00"), D("6.00"), D("2.00"), D("0.00"))


def test_overpayment_is_refused() -> None:
    with pytest.raises(OverpaymentError) as caught:
        allocate_payment(D("1074.01"), [OLD, NEW])
    assert caught.value.amount == D("1074.01")
    assert caught.value.owed == D("1074.00")
    assert isinstance(caught.value, ValueError)
    with pytest.raises(OverpaymentError):
        allocate_payment(D("1.00"), [])


@pytest.mark.parametrize("amount", [D("0"), D("0.00"), D("-0.01"), D("-500")])
def test_non_positive_amount_is_refused(amount: Decimal) -> None:
    with pytest.raises(ValueError, match="positive") as caught:
        allocate_payment(amount, [OLD])
    assert not isinstance(caught.value, OverpaymentError)


# ------------------------------------------------------------ properties


def _money(max_fen: int) -> st.SearchStrategy[Decimal]:
    # Zero often, so that "fully covered" edges are exercised.
    return st.one_of(st.just(D("0.00")), st.integers(0, max_fen).map(lambda f: D(f).scaleb(-2)))


@st.composite
def owed_lists(draw: st.DrawFn) -> list[Owed]:
    count = draw(st.integers(1, 6))
    keys = draw(st.lists(st.integers(1, 1000), min_size=count, max_size=count, unique=True))
    items = []
    for key in keys:
        # Few distinct due dates, so ties (broken by key) happen.
        due = date(2025, 1, 15) + timedelta(days=30 * draw(st.integers(0, 3)))
        parts = Parts(
            _draw(draw, 5_000), _draw(draw, 10_000), _draw(draw, 50_000), _draw(draw, 500_000)
        )
        items.append(Owed(key, due, parts))
    return items


def _draw(draw: st.DrawFn, max_fen: int) -> Decimal:
    return draw(_money(max_fen))


def _total(items: list[Owed]) -> Decimal:
    return sum((item.owed.total for item in items), D(0))


@settings(max_examples=400, deadline=None)
@given(owed_lists(), st.data())
def test_allocation_properties(items: list[Owed], data: st.DataObject) -> None:
    total_fen = int(_total(items) * 100)
    if total_fen == 0:
        with pytest.raises(OverpaymentError):
            allocate_payment(D("0.01"), items)
        return
    amount = D(data.draw(st.integers(1, total_fen), label="fen")).scaleb(-2)
    lines = allocate_payment(amount, items)
    by_key = {line.key: line.parts for line in lines}
    assert len(by_key) == len(lines)  # at most one line per installment

    # Every fen lands somewhere, and nothing lands on a key that was not owed.
    assert sum((line.parts.total for line in lines), D(0)) == amount
    assert set(by_key) <= {item.key for item in items}

    ordered = sorted(items, key=lambda o: (o.due_date, o.key))
    assert [line.key for line in lines] == [o.key for o in ordered if o.key in by_key]
    for index, item in enumerate(ordered):
        got = by_key.get(item.key, Parts())
        assert (item.key in by_key) is (got.total > 0)
        for component in ALLOCATION_ORDER:
            assert 0 <= got.get(component) <= item.owed.get(component)
        if got.total > 0:
            # An installment receives money only if all older ones are fully covered.
            for older in ordered[:index]:
                assert by_key.get(older.key, Parts()) == older.owed
            # Within it, a component receives money only if earlier ones are covered.
            for position, component in enumerate(ALLOCATION_ORDER):
                if got.get(component) > 0:
                    for earlier in ALLOCATION_ORDER[:position]:
                        assert got.get(earlier) == item.owed.get(earlier)


@settings(max_examples=200, deadline=None)
@given(owed_lists(), st.integers(1, 10**9))
def test_overpayment_always_raises(items: list[Owed], extra_fen: int) -> None:
    total = _total(items)
    amount = total + D(extra_fen).scaleb(-2)
    with pytest.raises(OverpaymentError) as caught:
        allocate_payment(amount, items)
    assert caught.value.owed == total
    assert caught.value.amount == amount


@settings(deadline=None)
@given(owed_lists(), st.integers(-(10**9), 0))
def test_non_positive_always_raises(items: list[Owed], fen: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        allocate_payment(D(fen).scaleb(-2), items)


@settings(max_examples=200, deadline=None)
@given(owed_lists())
def test_paying_the_total_settles_everything(items: list[Owed]) -> None:
    total = _total(items)
    if total == 0:
        return
    by_key = {line.key: line.parts for line in allocate_payment(total, items)}
    for item in items:
        assert by_key.get(item.key, Parts()) == item.owed
