"""Per-user limits checked before anything is added: open plans, payment methods, periods.

Each limit (``core.limits``) keeps the largest account small enough for every screen and
for the sweep's bounded work. A service refuses what would pass one with
``LimitReached``; a chat step asks :func:`ensure_room_for_plan` or
:func:`ensure_room_for_method` before its first question, so nobody types a whole plan
only to be refused.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from core.db.models import PaymentMethodRow, PlanRow
from core.db.uow import UnitOfWork
from core.limits import (
    MAX_FIRST_DUE_AHEAD_DAYS,
    MAX_FIRST_DUE_PAST_DAYS,
    MAX_OPEN_PLANS,
    MAX_PAYMENT_METHODS,
    MAX_PLAN_PERIODS,
)
from core.services.errors import InvalidInput, Limit, LimitReached

# InvalidInput problems of the field "first_due", for the chat to localize.
FIRST_DUE_TOO_EARLY = "too_early"
FIRST_DUE_TOO_LATE = "too_late"


def first_due_range(today: date) -> tuple[date, date]:
    """The earliest and latest first due date a plan may be given on ``today`` (local):
    no earlier than a plan of the most periods could still be running, no more than a
    year ahead. Bounded dates keep all date-driven work bounded."""
    return (
        today - timedelta(days=MAX_FIRST_DUE_PAST_DAYS),
        today + timedelta(days=MAX_FIRST_DUE_AHEAD_DAYS),
    )


def check_first_due(first_due: date, today: date) -> None:
    """``InvalidInput("first_due", "too_early" | "too_late")`` outside :func:`first_due_range`."""
    earliest, latest = first_due_range(today)
    if first_due < earliest:
        raise InvalidInput("first_due", FIRST_DUE_TOO_EARLY)
    if first_due > latest:
        raise InvalidInput("first_due", FIRST_DUE_TOO_LATE)


def check_periods(periods: int) -> None:
    if periods > MAX_PLAN_PERIODS:
        raise LimitReached(Limit.PLAN_PERIODS, MAX_PLAN_PERIODS)


async def open_plan_count(uow: UnitOfWork, user_id: int) -> int:
    """Plans not yet paid off."""
    count = await uow.session.scalar(
        select(func.count())
        .select_from(PlanRow)
        .where(PlanRow.user_id == user_id, PlanRow.closed_at.is_(None))
    )
    return count or 0


async def method_count(uow: UnitOfWork, user_id: int) -> int:
    """Payment methods not removed."""
    count = await uow.session.scalar(
        select(func.count())
        .select_from(PaymentMethodRow)
        .where(PaymentMethodRow.user_id == user_id, PaymentMethodRow.removed_at.is_(None))
    )
    return count or 0


async def ensure_room_for_plan(uow: UnitOfWork, user_id: int) -> None:
    """``LimitReached(OPEN_PLANS)`` when the user already has the most open plans."""
    if await open_plan_count(uow, user_id) >= MAX_OPEN_PLANS:
        raise LimitReached(Limit.OPEN_PLANS, MAX_OPEN_PLANS)


async def ensure_room_for_method(uow: UnitOfWork, user_id: int) -> None:
    """``LimitReached(PAYMENT_METHODS)`` when the user already has the most methods."""
    if await method_count(uow, user_id) >= MAX_PAYMENT_METHODS:
        raise LimitReached(Limit.PAYMENT_METHODS, MAX_PAYMENT_METHODS)
