"""core.domain.status: installment status on a date, days overdue and delinquency buckets."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain.ledger import InstallmentLedger, Parts, Receipt
from core.domain.schedule import build_schedule
from core.domain.status import (
    OPEN_STATUSES,
    Bucket,
    InstallmentStatus,
    Position,
    delinquency_bucket,
    plan_positions,
    position,
)
from core.domain.terms import Method, PlanTerms

S = InstallmentStatus
# 1200 over 3, ¥400 a period due 2025-03-15, 04-15, 05-15; grace 3 days, tolerance ¥10.
TERMS = PlanTerms(Decimal("1200.00"), 3, Method.INTEREST_FREE, Decimal(0), date(2025, 3, 15))
SCHEDULE = build_schedule(TERMS)
FIRST = SCHEDULE[0]
DUE = FIRST.due_date


def _ledger(k: int = 0, *receipts: tuple[date, Parts]) -> InstallmentLedger:
    return InstallmentLedger(k + 1, SCHEDULE[k], tuple(Receipt(d, p) for d, p in receipts))


def _at(ledger: InstallmentLedger, on: date) -> Position:
    return position(ledger, TERMS, on)


def _after_due(days: int) -> date:
    return DUE + timedelta(days=days)


def test_example_plan() -> None:
    assert FIRST.start_date == date(2025, 2, 15)
    assert [i.total for i in SCHEDULE] == [Decimal("400.00")] * 3


@pytest.mark.parametrize(
    ("on", "status"),
    [
        (date(2025, 2, 1), S.UPCOMING),
        (date(2025, 2, 15), S.UPCOMING),  # the period starts the day after disbursement
        (date(2025, 2, 16), S.DUE),
        (date(2025, 3, 15), S.DUE),
        (date(2025, 3, 16), S.IN_GRACE),
        (date(2025, 3, 18), S.IN_GRACE),
        (date(2025, 3, 19), S.OVERDUE),
    ],
)
def test_unpaid_installment_through_time(on: date, status: InstallmentStatus) -> None:
    pos = _at(_ledger(), on)
    assert pos.status is status
    assert pos.is_open is (status in OPEN_STATUSES)
    assert pos.owed.base == Decimal("400.00")


def test_overdue_position() -> None:
    pos = _at(_ledger(), date(2025, 3, 19))
    assert pos.days_overdue == 4  # counted from the due date
    assert pos.bucket is Bucket.M1
    assert pos.penalty_accrued == Parts(penalty=Decimal("0.80"))
    assert pos.owed == Parts(Decimal("0.80"), Decimal("0.00"), Decimal("0.00"), Decimal("400.00"))
    assert pos.ledger.key == 1


def test_later_periods_are_upcoming_until_the_previous_due_date() -> None:
    second = _ledger(1)
    assert _at(second, date(2025, 3, 10)).status is S.UPCOMING
    assert _at(second, date(2025, 3, 15)).status is S.UPCOMING
    assert _at(second, date(2025, 3, 16)).status is S.DUE
    assert not _at(second, date(2025, 3, 15)).is_open


def test_paid_on_time() -> None:
    ledger = _ledger(0, (date(2025, 3, 17), Parts(principal=Decimal("400.00"))))
    assert _at(ledger, date(2025, 3, 16)).status is S.IN_GRACE  # receipt not yet made
    pos = _at(ledger, date(2025, 3, 17))
    assert pos.status is S.PAID
    assert not pos.is_open
    assert pos.owed.total == 0
    assert (pos.days_overdue, pos.bucket) == (0, None)
    assert _at(ledger, date(2025, 6, 1)).status is S.PAID


def test_paid_ahead_of_time() -> None:
    ledger = _ledger(2, (date(2025, 2, 20), Parts(principal=Decimal("400.00"))))
    assert _at(ledger, date(2025, 2, 20)).status is S.PAID


def test_paid_late_with_the_penalty() -> None:
    receipt = Parts(penalty=Decimal("0.80"), principal=Decimal("400.00"))
    ledger = _ledger(0, (date(2025, 3, 19), receipt))
    for on in (date(2025, 3, 19), date(2025, 3, 20), date(2025, 12, 31)):
        pos = _at(ledger, on)
        assert pos.status is S.PAID_LATE
        assert not pos.is_open
        assert pos.owed.total == 0


def test_late_installment_with_unpaid_penalty_stays_overdue_until_the_penalty_is_paid() -> None:
    ledger = _ledger(0, (date(2025, 3, 19), Parts(principal=Decimal("400.00"))))
    pos = _at(ledger, date(2025, 3, 25))
    assert pos.owed == Parts(penalty=Decimal("0.80"))
    assert pos.is_open
    assert pos.status is S.OVERDUE
    assert pos.days_overdue == 10
    settled = _ledger(
        0,
        (date(2025, 3, 19), Parts(principal=Decimal("400.00"))),
        (date(2025, 3, 25), Parts(penalty=Decimal("0.80"))),
    )
    assert _at(settled, date(2025, 3, 26)).status is S.PAID_LATE


def test_short_by_the_tolerance_is_not_overdue() -> None:
    ledger = _ledger(0, (DUE, Parts(principal=Decimal("390.00"))))
    pos = _at(ledger, date(2025, 4, 30))
    assert pos.status is S.DUE  # the ¥10 remainder is still owed, but not overdue
    assert pos.owed == Parts(principal=Decimal("10.00"))
    assert pos.penalty_accrued.penalty == 0
    assert (pos.days_overdue, pos.bucket) == (0, None)


def test_short_by_more_than_the_tolerance_is_overdue() -> None:
    ledger = _ledger(0, (DUE, Parts(principal=Decimal("389.99"))))
    pos = _at(ledger, date(2025, 4, 30))
    assert pos.status is S.OVERDUE
    assert pos.days_overdue == 46
    assert pos.bucket is Bucket.M2
    # 46 days × ¥10.01 × 0.05 % = 0.23023.
    assert pos.owed.penalty == Decimal("0.23")


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (-30, None),
        (0, None),
        (1, Bucket.M1),
        (30, Bucket.M1),
        (31, Bucket.M2),
        (60, Bucket.M2),
        (61, Bucket.M3),
        (90, Bucket.M3),
        (91, Bucket.M3_PLUS),
        (1000, Bucket.M3_PLUS),
    ],
)
def test_delinquency_bucket(days: int, bucket: Bucket | None) -> None:
    assert delinquency_bucket(days) is bucket


@pytest.mark.parametrize(
    ("days", "bucket"),
    [
        (30, Bucket.M1),
        (31, Bucket.M2),
        (60, Bucket.M2),
        (61, Bucket.M3),
        (90, Bucket.M3),
        (91, Bucket.M3_PLUS),
    ],
)
def test_position_bucket_boundaries(days: int, bucket: Bucket) -> None:
    pos = _at(_ledger(), _after_due(days))
    assert pos.status is S.OVERDUE
    assert pos.days_overdue == days
    assert pos.bucket is bucket


def test_bucket_labels_and_open_statuses() -> None:
    assert [b.value for b in Bucket] == ["M1", "M2", "M3", "M3+"]
    assert frozenset({S.DUE, S.IN_GRACE, S.OVERDUE}) == OPEN_STATUSES


def test_plan_positions() -> None:
    ledgers = tuple(_ledger(k) for k in range(3))
    positions = plan_positions(ledgers, TERMS, date(2025, 4, 1))
    assert [p.ledger.key for p in positions] == [1, 2, 3]
    assert [p.status for p in positions] == [S.OVERDUE, S.DUE, S.UPCOMING]
    assert plan_positions((), TERMS, date(2025, 4, 1)) == []


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2), st.integers(-70, 200))
def test_unpaid_status_is_determined_by_the_calendar(k: int, offset: int) -> None:
    item = SCHEDULE[k]
    on = item.due_date + timedelta(days=offset)
    pos = _at(_ledger(k), on)
    if on <= item.start_date:
        expected = S.UPCOMING
    elif on <= item.due_date:
        expected = S.DUE
    elif offset <= TERMS.grace_days:
        expected = S.IN_GRACE
    else:
        expected = S.OVERDUE
    assert pos.status is expected
    assert pos.days_overdue == (offset if expected is S.OVERDUE else 0)
    assert pos.bucket is delinquency_bucket(pos.days_overdue)
    assert pos.owed.base == item.total
    assert pos.owed.penalty == pos.penalty_accrued.penalty


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2), st.integers(-40, 10), st.integers(0, 60))
def test_fully_paid_is_paid_or_paid_late(k: int, paid_offset: int, later: int) -> None:
    item = SCHEDULE[k]
    paid_on = item.due_date + timedelta(days=paid_offset)
    late = paid_offset > TERMS.grace_days
    penalty = Decimal("0.20") * paid_offset if late else Decimal(0)  # ¥400 × 0.05 % a day
    ledger = _ledger(k, (paid_on, Parts(penalty=penalty, principal=item.principal)))
    pos = _at(ledger, paid_on + timedelta(days=later))
    assert pos.status is (S.PAID_LATE if late else S.PAID)
    assert pos.owed.total == 0
    assert not pos.is_open
