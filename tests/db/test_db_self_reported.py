"""A payment made in the lender's app, recorded as the user says: allocated by the same
rules, dated the day paid, once per key, never touching a payment method; undone only
while it is the plan's latest (issue 13)."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from core.db.models import AllocationLineRow, PaymentRow
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.services.errors import AbovePayoff, InvalidInput, Overpayment
from core.services.self_reported import REVERSED, record_paid_elsewhere, undo_paid_elsewhere

D = Decimal
_USERS = itertools.count(50_000, 10)


async def _record(db: Database, user: int, plan: int, kind: QuoteKind, amount: str | None,
                  paid_on: date, key: str, now: datetime) -> Any:  # fmt: skip
    async with db.uow() as uow:
        return await record_paid_elsewhere(
            uow, user, plan, kind, None if amount is None else D(amount), paid_on, key, now
        )


async def test_recorded_allocated_once_and_no_method_touched(
    db: Database, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="500.00")
    plan = await make.plan(user, make.fee_plan(first_due=now.date() + timedelta(days=3)))
    on = now.date()
    first = await _record(db, user, plan, QuoteKind.PERIOD, None, on, "k1", now)
    assert first.amount == D("107.20")  # the next period: ¥100 principal + ¥7.20 fee
    again = await _record(db, user, plan, QuoteKind.PERIOD, None, on, "k1", now)
    assert (again.payment_id, again.repeated) == (first.payment_id, True)
    assert await make.balance(card) == D("500.00")  # nothing debited
    async with db.uow() as uow:
        row = await uow.session.get(PaymentRow, first.payment_id)
        assert row is not None
        assert (row.kind, row.method_id, row.status, row.paid_on) == (
            "self_reported",
            None,
            "succeeded",
            on,
        )
    custom = await _record(db, user, plan, QuoteKind.CUSTOM, "50.00", on, "k2", now)
    assert custom.outstanding_after == first.outstanding_after - D("50.00")


async def test_dates_and_the_payoff_bound_are_checked(
    db: Database, make: Any, now: datetime
) -> None:
    user, _ = await make.user()
    plan = await make.plan(user, make.fee_plan(first_due=now.date() + timedelta(days=3)))
    tomorrow = now.date() + timedelta(days=1)
    for paid_on, problem in ((tomorrow, "future"), (date(2000, 1, 1), "before_start")):
        with pytest.raises(InvalidInput) as caught:
            await _record(db, user, plan, QuoteKind.PERIOD, None, paid_on, "x", now)
        assert caught.value.problem == problem
    with pytest.raises(AbovePayoff):  # the payoff today is ¥1,207.20: record the payoff
        await _record(db, user, plan, QuoteKind.CUSTOM, "1250.00", now.date(), "y", now)
    await _record(db, user, plan, QuoteKind.PERIOD, None, now.date(), "z", now)
    yesterday = now.date() - timedelta(days=1)
    with pytest.raises(InvalidInput) as caught:
        await _record(db, user, plan, QuoteKind.CUSTOM, "1.00", yesterday, "w", now)
    assert caught.value.problem == "before_last"


async def test_undo_only_the_latest_and_only_a_record(
    db: Database, make: Any, now: datetime
) -> None:
    user, _ = await make.user()
    plan = await make.plan(user, make.fee_plan(first_due=now.date() + timedelta(days=3)))
    on = now.date()
    first = await _record(db, user, plan, QuoteKind.CUSTOM, "10.00", on, "a", now)
    second = await _record(db, user, plan, QuoteKind.CUSTOM, "20.00", on, "b", now)
    async with db.uow() as uow:
        with pytest.raises(InvalidInput) as caught:
            await undo_paid_elsewhere(uow, user, first.payment_id)
    assert caught.value.problem == "not_latest"
    async with db.uow() as uow:
        undone = await undo_paid_elsewhere(uow, user, second.payment_id)
    assert undone.outstanding_after == second.outstanding_after + D("20.00")
    async with db.uow() as uow:
        row = await uow.session.get(PaymentRow, second.payment_id)
        assert row is not None
        assert row.status == REVERSED
        lines = await uow.session.scalar(
            select(func.count())
            .select_from(AllocationLineRow)
            .where(AllocationLineRow.payment_id == second.payment_id)
        )
        assert lines == 0
    async with db.uow() as uow:
        with pytest.raises(InvalidInput):
            await undo_paid_elsewhere(uow, user, second.payment_id)  # undone already
    paid = await make.pay(user, QuoteKind.PERIOD, plan_id=plan)
    assert paid.payment_id is not None
    async with db.uow() as uow:
        with pytest.raises(InvalidInput) as caught:
            await undo_paid_elsewhere(uow, user, paid.payment_id)
    assert caught.value.problem == "not_self_reported"


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(st.one_of(st.integers(1, 300), st.none()), min_size=1, max_size=6))
async def test_records_and_undos_keep_the_ledger(
    sqlite_db: Database, now: datetime, steps: list[int | None]
) -> None:
    """Allocated = the amounts of the records standing (one database for all examples:
    each example is a user of its own)."""
    from tests.db.conftest import Factory

    make = Factory(sqlite_db, now)
    make._next_user = next(_USERS)  # a user of its own in the shared database
    user, _ = await make.user()
    plan = await make.plan(user, make.fee_plan(first_due=now.date() + timedelta(days=3)))
    standing: list[tuple[int, Decimal]] = []
    for n, step in enumerate(steps):
        if step is None:
            if standing:
                async with sqlite_db.uow() as uow:
                    await undo_paid_elsewhere(uow, user, standing.pop()[0])
            continue
        try:
            done = await _record(
                sqlite_db,
                user,
                plan,
                QuoteKind.CUSTOM,
                f"{step}.00",
                now.date(),
                f"s{user}-{n}",
                now,
            )
        except (AbovePayoff, Overpayment):
            continue
        standing.append((done.payment_id, done.amount))
    async with sqlite_db.uow() as uow:
        lines = await uow.session.scalars(
            select(AllocationLineRow)
            .join(PaymentRow, PaymentRow.id == AllocationLineRow.payment_id)
            .where(PaymentRow.user_id == user)
        )
        allocated = sum((x.penalty + x.fee + x.interest + x.principal for x in lines), D("0"))
    assert allocated == sum((a for _, a in standing), D("0"))
