"""core.domain.ledger: Parts arithmetic, receipts and what an installment still owes."""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.ledger import (
    ALLOCATION_ORDER,
    Component,
    InstallmentLedger,
    Parts,
    PlanBook,
    Receipt,
    sum_parts,
)
from core.domain.schedule import ScheduledInstallment
from core.domain.terms import Method, PlanTerms

ITEM = ScheduledInstallment(
    period=1,
    start_date=date(2025, 2, 15),
    due_date=date(2025, 3, 15),
    principal=Decimal("500.00"),
    interest=Decimal("30.00"),
    fee=Decimal("6.00"),
)

parts = st.builds(
    Parts,
    *[st.integers(0, 10**8).map(lambda fen: Decimal(fen).scaleb(-2)) for _ in range(4)],
)


def test_component_order_is_penalty_fee_interest_principal() -> None:
    assert ALLOCATION_ORDER == (
        Component.PENALTY,
        Component.FEE,
        Component.INTEREST,
        Component.PRINCIPAL,
    )
    assert [c.value for c in Component] == ["penalty", "fee", "interest", "principal"]


def test_parts_defaults_and_totals() -> None:
    empty = Parts()
    assert (empty.penalty, empty.fee, empty.interest, empty.principal) == (0, 0, 0, 0)
    assert empty.total == 0
    p = Parts(Decimal("1.50"), Decimal("6.00"), Decimal("30.00"), Decimal("500.00"))
    assert p.total == Decimal("537.50")
    assert p.base == Decimal("536.00")  # penalties are not part of the base
    assert p.get(Component.PENALTY) == Decimal("1.50")
    assert p.get(Component.FEE) == Decimal("6.00")
    assert p.get(Component.INTEREST) == Decimal("30.00")
    assert p.get(Component.PRINCIPAL) == Decimal("500.00")


def test_parts_arithmetic() -> None:
    a = Parts(Decimal(1), Decimal(2), Decimal(3), Decimal(4))
    b = Parts(Decimal("0.10"), Decimal("0.20"), Decimal("0.30"), Decimal("0.40"))
    assert a + b == Parts(Decimal("1.10"), Decimal("2.20"), Decimal("3.30"), Decimal("4.40"))
    assert a - b == Parts(Decimal("0.90"), Decimal("1.80"), Decimal("2.70"), Decimal("3.60"))
    assert b - a == Parts(Decimal("-0.90"), Decimal("-1.80"), Decimal("-2.70"), Decimal("-3.60"))
    assert sum_parts([]) == Parts()
    assert sum_parts([a, b, a]) == a + b + a
    assert sum_parts(iter([b])) == b


@settings(deadline=None)
@given(parts, parts)
def test_parts_add_and_sub_are_componentwise(a: Parts, b: Parts) -> None:
    assert (a + b).total == a.total + b.total
    assert (a + b) - b == a
    for component in Component:
        assert (a + b).get(component) == a.get(component) + b.get(component)
    assert (a + b).base == a.base + b.base


def test_parts_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Parts().fee = Decimal(1)  # type: ignore[misc]


def test_ledger_charged_and_paid() -> None:
    ledger = InstallmentLedger(
        key=7,
        installment=ITEM,
        receipts=(
            Receipt(date(2025, 3, 10), Parts(fee=Decimal("6.00"), interest=Decimal("30.00"))),
            Receipt(date(2025, 3, 20), Parts(penalty=Decimal("0.50"), principal=Decimal(100))),
        ),
    )
    assert ledger.key == 7
    assert ledger.charged == Parts(Decimal(0), ITEM.fee, ITEM.interest, ITEM.principal)
    assert ledger.charged.total == ITEM.total == Decimal("536.00")
    assert ledger.paid() == Parts(
        Decimal("0.50"), Decimal("6.00"), Decimal("30.00"), Decimal("100")
    )
    assert ledger.paid(date(2025, 3, 9)) == Parts()
    assert ledger.paid(date(2025, 3, 10)).total == Decimal("36.00")  # inclusive of `on`
    assert ledger.paid(date(2025, 3, 19)).total == Decimal("36.00")
    assert ledger.paid(date(2025, 3, 20)).total == Decimal("136.50")


def test_unpaid_base_before_counts_receipts_of_earlier_days_only() -> None:
    ledger = InstallmentLedger(
        1,
        ITEM,
        (
            Receipt(date(2025, 3, 15), Parts(principal=Decimal("200.00"))),
            Receipt(date(2025, 3, 18), Parts(penalty=Decimal("9.99"), fee=Decimal("6.00"))),
        ),
    )
    assert ledger.unpaid_base_before(date(2025, 3, 15)) == Decimal("536.00")
    assert ledger.unpaid_base_before(date(2025, 3, 16)) == Decimal("336.00")
    assert ledger.unpaid_base_before(date(2025, 3, 18)) == Decimal("336.00")
    # Paying a penalty does not reduce the base; the fee paid alongside does.
    assert ledger.unpaid_base_before(date(2025, 3, 19)) == Decimal("330.00")


def test_ledger_without_receipts() -> None:
    ledger = InstallmentLedger(3, ITEM)
    assert ledger.receipts == ()
    assert ledger.paid() == Parts()
    assert ledger.unpaid_base_before(date(2030, 1, 1)) == ITEM.total


def test_plan_book() -> None:
    terms = PlanTerms(Decimal("500.00"), 1, Method.INTEREST_FREE, Decimal(0), date(2025, 3, 15))
    book = PlanBook(42, terms)
    assert book.ledgers == ()
    ledger = InstallmentLedger(1, ITEM)
    book = PlanBook(42, terms, (ledger,))
    assert book.key == 42
    assert book.terms is terms
    assert book.ledgers == (ledger,)
