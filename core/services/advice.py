"""/advice's figures: the user's open plans with their true cost, what paying each off
today saves, in the order a strategy says to pay them off, and the debt-free date; and
what paying a set amount more each month would do (core/domain/extra_payments.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from core.db.uow import UnitOfWork
from core.domain.advice import PlanCost, Strategy, debt_free_on, plan_cost, rank
from core.domain.apr import annualized_rate
from core.domain.extra_payments import WhatIf, pay_extra
from core.domain.schedule import build_schedule
from core.money import ZERO
from core.services.books import load_plans
from core.services.clock import local_date
from core.services.users import get_user


@dataclass(frozen=True, slots=True)
class RankedPlan:
    title: str
    cost: PlanCost


@dataclass(frozen=True, slots=True)
class Advice:
    on: date
    strategy: Strategy
    plans: tuple[RankedPlan, ...]
    debt_free: date | None

    @property
    def total_saving(self) -> Decimal:
        return sum((p.cost.saving for p in self.plans), ZERO)


async def advise(uow: UnitOfWork, user_id: int, now: datetime, strategy: Strategy) -> Advice:
    user = await get_user(uow, user_id)
    on = local_date(now, user.timezone)
    titles: dict[int, str] = {}
    costs: list[PlanCost] = []
    for plan in await load_plans(uow.session, user_id):
        if plan.row.closed_at is not None:
            continue
        apr = (
            annualized_rate(plan.row.principal, build_schedule(plan.book.terms))
            if plan.row.rate_known
            else None  # entered by its installments alone
        )
        cost = plan_cost(plan.row.id, plan.book, apr, on)
        if cost is not None:
            costs.append(cost)
            titles[plan.row.id] = plan.row.title
    ranked = tuple(RankedPlan(titles[c.key], c) for c in rank(costs, strategy))
    return Advice(on, strategy, ranked, debt_free_on(costs))


@dataclass(frozen=True, slots=True)
class ExtraAdvice:
    strategy: Strategy
    what_if: WhatIf
    titles: dict[int, str]


async def advise_extra(
    uow: UnitOfWork, user_id: int, now: datetime, strategy: Strategy, extra: Decimal
) -> ExtraAdvice:
    """What paying ``extra`` more each month does, to the plans in the strategy's order."""
    user = await get_user(uow, user_id)
    on = local_date(now, user.timezone)
    found = await advise(uow, user_id, now, strategy)
    order = [ranked.cost.key for ranked in found.plans]
    books = [p.book for p in await load_plans(uow.session, user_id, order)]
    titles = {ranked.cost.key: ranked.title for ranked in found.plans}
    return ExtraAdvice(strategy, pay_extra(books, order, extra, on), titles)
