"""Per-user limits and bounded first due dates, enforced by the services (issue 10 §3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from core.db.models import PaymentMethodRow, PlanRow
from core.db.uow import Database
from core.domain.dates import add_months
from core.limits import (
    MAX_FIRST_DUE_AHEAD_DAYS,
    MAX_FIRST_DUE_PAST_DAYS,
    MAX_OPEN_PLANS,
    MAX_PAYMENT_METHODS,
    MAX_PLAN_PERIODS,
)
from core.services.errors import InvalidInput, Limit, LimitReached
from core.services.limits import ensure_room_for_method, ensure_room_for_plan, first_due_range
from core.services.methods import remove_method

TODAY = datetime(2026, 11, 22).date()  # the local date of conftest's NOW in Shanghai


async def _count(db: Database, row: Any, user_id: int) -> int:
    async with db.uow() as uow:
        found = await uow.session.scalar(
            select(func.count()).select_from(row).where(row.user_id == user_id)
        )
        return int(found or 0)


async def test_the_plan_after_the_most_open_plans_is_refused(db: Database, make: Any) -> None:
    user, _ = await make.user()
    for n in range(MAX_OPEN_PLANS):
        await make.plan(user, make.free_plan(title=f"plan {n}"))
    with pytest.raises(LimitReached) as refused:
        await make.plan(user, make.free_plan(title="one too many"))
    assert (refused.value.limit, refused.value.maximum) == (Limit.OPEN_PLANS, MAX_OPEN_PLANS)
    assert await _count(db, PlanRow, user) == MAX_OPEN_PLANS
    async with db.uow() as uow:
        with pytest.raises(LimitReached):
            await ensure_room_for_plan(uow, user)
        # A plan paid off no longer counts: there is room again.
        await uow.session.execute(
            update(PlanRow)
            .where(PlanRow.user_id == user, PlanRow.title == "plan 0")
            .values(closed_at=make.now)
        )
        await uow.commit()
    await make.plan(user, make.free_plan(title="room again"))
    assert await _count(db, PlanRow, user) == MAX_OPEN_PLANS + 1


async def test_a_plan_of_more_periods_than_allowed_is_refused(db: Database, make: Any) -> None:
    user, _ = await make.user()
    with pytest.raises(LimitReached) as refused:
        await make.plan(user, make.free_plan(periods=MAX_PLAN_PERIODS + 1, principal="6100.00"))
    assert (refused.value.limit, refused.value.maximum) == (Limit.PLAN_PERIODS, MAX_PLAN_PERIODS)
    await make.plan(user, make.free_plan(periods=MAX_PLAN_PERIODS, principal="6000.00"))
    assert await _count(db, PlanRow, user) == 1


async def test_the_method_after_the_most_methods_is_refused(db: Database, make: Any) -> None:
    user, first = await make.user()
    for n in range(MAX_PAYMENT_METHODS - 1):
        await make.method(user, label=f"card {n}")
    with pytest.raises(LimitReached) as refused:
        await make.method(user, label="one too many")
    assert (refused.value.limit, refused.value.maximum) == (
        Limit.PAYMENT_METHODS,
        MAX_PAYMENT_METHODS,
    )
    assert await _count(db, PaymentMethodRow, user) == MAX_PAYMENT_METHODS
    async with db.uow() as uow:
        with pytest.raises(LimitReached):
            await ensure_room_for_method(uow, user)
    async with db.uow() as uow:
        await remove_method(uow, user, first, make.now)  # a removed method does not count
    await make.method(user, label="room again")
    assert await _count(db, PaymentMethodRow, user) == MAX_PAYMENT_METHODS + 1


def test_first_due_range_is_the_limits_around_today() -> None:
    earliest, latest = first_due_range(TODAY)
    assert earliest == TODAY - timedelta(days=MAX_FIRST_DUE_PAST_DAYS)
    assert latest == TODAY + timedelta(days=MAX_FIRST_DUE_AHEAD_DAYS)


@pytest.mark.parametrize(
    ("days", "problem"),
    [(-MAX_FIRST_DUE_PAST_DAYS - 1, "too_early"), (MAX_FIRST_DUE_AHEAD_DAYS + 1, "too_late")],
)
async def test_a_first_due_date_out_of_range_is_refused(
    db: Database, make: Any, days: int, problem: str
) -> None:
    user, _ = await make.user()
    with pytest.raises(InvalidInput) as refused:
        await make.plan(user, make.free_plan(first_due=TODAY + timedelta(days=days)))
    assert (refused.value.field, refused.value.problem) == ("first_due", problem)
    assert await _count(db, PlanRow, user) == 0


async def test_the_first_due_range_ends_are_accepted(db: Database, make: Any) -> None:
    user, _ = await make.user()
    earliest, latest = first_due_range(TODAY)
    # The oldest plan allowed, with the most periods: all of it overdue.
    oldest = make.free_plan(
        first_due=earliest, periods=MAX_PLAN_PERIODS, principal="6000.00", title="oldest"
    )
    await make.plan(user, oldest)
    await make.plan(user, make.free_plan(first_due=latest, title="latest"))
    assert await _count(db, PlanRow, user) == 2
    assert add_months(earliest, MAX_PLAN_PERIODS - 1) < TODAY  # the oldest is all overdue
