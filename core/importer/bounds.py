"""What an import file may add for a user, checked when the import day is known: first due
dates within ``first_due_range`` of that day, and the per-user limits counting what the
database already holds. Plans and methods already present are left as they are, so a file
imported again long after stays idempotent."""

from __future__ import annotations

from datetime import date

from core.db.uow import UnitOfWork
from core.importer.checks import Loc
from core.importer.schema import MethodIn, PlanIn
from core.limits import (
    MAX_FIRST_DUE_AHEAD_DAYS,
    MAX_FIRST_DUE_PAST_DAYS,
    MAX_OPEN_PLANS,
    MAX_PAYMENT_METHODS,
)
from core.services.limits import first_due_range, method_count, open_plan_count


def date_errors(at: Loc, new_plans: list[tuple[int, PlanIn]], today: date) -> list[tuple[Loc, str]]:
    """The new plans whose first due date is out of range on the import day ``today``."""
    earliest, latest = first_due_range(today)
    errors: list[tuple[Loc, str]] = []
    for p, plan in new_plans:
        loc: Loc = (*at, "plans", p, "first_due")
        if plan.first_due < earliest:
            errors.append(
                (loc, f"more than {MAX_FIRST_DUE_PAST_DAYS} days before the import day ({today})")
            )
        elif plan.first_due > latest:
            errors.append(
                (loc, f"more than {MAX_FIRST_DUE_AHEAD_DAYS} days after the import day ({today})")
            )
    return errors


async def limit_errors(
    uow: UnitOfWork,
    at: Loc,
    user_id: int,
    new_plans: list[tuple[int, PlanIn]],
    new_methods: list[MethodIn],
) -> list[tuple[Loc, str]]:
    """Whether the user's open plans and methods, with the new ones, stay within the limits."""
    errors: list[tuple[Loc, str]] = []
    opening = sum(1 for _, plan in new_plans if plan.paid_periods < plan.periods)
    if opening:
        held = await open_plan_count(uow, user_id)
        if held + opening > MAX_OPEN_PLANS:
            errors.append(
                (
                    (*at, "plans"),
                    f"{opening} new open plans with the {held} the user has: more than the"
                    f" limit of {MAX_OPEN_PLANS} plans not yet paid off",
                )
            )
    if new_methods:
        held = await method_count(uow, user_id)
        if held + len(new_methods) > MAX_PAYMENT_METHODS:
            errors.append(
                (
                    (*at, "payment_methods"),
                    f"{len(new_methods)} new payment methods with the {held} the user has:"
                    f" more than the limit of {MAX_PAYMENT_METHODS}",
                )
            )
    return errors
