"""Loading plans from the database as the domain's ``PlanBook``s."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import AllocationLineRow, InstallmentRow, PaymentRow, PlanRow
from core.domain.ledger import InstallmentLedger, Parts, PlanBook, Receipt
from core.domain.schedule import ScheduledInstallment
from core.domain.terms import Method, PayoffPolicy, PlanTerms

SUCCEEDED = "succeeded"
T = TypeVar("T")


def terms_of(plan: PlanRow) -> PlanTerms:
    return PlanTerms(
        principal=plan.principal,
        periods=plan.periods,
        method=Method(plan.method),
        rate=plan.rate,
        first_due=plan.first_due,
        repayment_day=plan.repayment_day,
        start_date=plan.start_date,
        grace_days=plan.grace_days,
        tolerance=plan.tolerance,
        penalty_daily_rate=plan.penalty_daily_rate,
        penalty_cap_rate=plan.penalty_cap_rate,
        payoff_policy=PayoffPolicy(plan.payoff_policy),
        early_repayment_fee_rate=plan.early_repayment_fee_rate,
    )


def installment_of(row: InstallmentRow) -> ScheduledInstallment:
    return ScheduledInstallment(
        row.period, row.start_date, row.due_date, row.principal, row.interest, row.fee
    )


@dataclass(frozen=True, slots=True)
class LoadedPlan:
    row: PlanRow
    installments: tuple[InstallmentRow, ...]
    book: PlanBook


async def load_plans(
    session: AsyncSession, user_id: int, plan_ids: Collection[int] | None = None
) -> list[LoadedPlan]:
    """The user's plans (all, or those in ``plan_ids``) with installments and receipts."""
    query = select(PlanRow).where(PlanRow.user_id == user_id).order_by(PlanRow.id)
    if plan_ids is not None:
        query = query.where(PlanRow.id.in_(plan_ids))
    plans = list((await session.scalars(query)).all())
    if not plans:
        return []
    rows = (
        await session.scalars(
            select(InstallmentRow)
            .where(InstallmentRow.plan_id.in_([p.id for p in plans]))
            .order_by(InstallmentRow.plan_id, InstallmentRow.period)
        )
    ).all()
    receipts = await _receipts(session, [row.id for row in rows])
    return _assemble(plans, rows, receipts)


async def load_open_plans(
    session: AsyncSession, user_ids: Collection[int]
) -> dict[int, list[LoadedPlan]]:
    """The open (not paid off) plans of many users at once, by user: three queries in all,
    however many users — what a sweep needs for a whole chunk of users."""
    found: dict[int, list[LoadedPlan]] = {user_id: [] for user_id in user_ids}
    for ids in slices(list(user_ids)):
        plans = list(
            (
                await session.scalars(
                    select(PlanRow)
                    .where(PlanRow.user_id.in_(ids), PlanRow.closed_at.is_(None))
                    .order_by(PlanRow.id)
                )
            ).all()
        )
        if not plans:
            continue
        rows = (
            await session.scalars(
                select(InstallmentRow)
                .join(PlanRow, PlanRow.id == InstallmentRow.plan_id)
                .where(PlanRow.user_id.in_(ids), PlanRow.closed_at.is_(None))
                .order_by(InstallmentRow.plan_id, InstallmentRow.period)
            )
        ).all()
        receipts = await _receipts_of_users(session, ids)
        for plan in _assemble(plans, rows, receipts):
            found[plan.row.user_id].append(plan)
    return found


def slices(values: list[T], size: int = 5000) -> list[list[T]]:
    """``values`` in pieces small enough for one ``IN (...)`` (bound-parameter limits)."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def _assemble(
    plans: Sequence[PlanRow],
    rows: Sequence[InstallmentRow],
    receipts: Mapping[int, list[Receipt]],
) -> list[LoadedPlan]:
    by_plan: dict[int, list[InstallmentRow]] = defaultdict(list)
    for row in rows:
        by_plan[row.plan_id].append(row)
    loaded = []
    for plan in plans:
        own = tuple(by_plan[plan.id])
        ledgers = tuple(
            InstallmentLedger(row.id, installment_of(row), tuple(receipts.get(row.id, ())))
            for row in own
        )
        loaded.append(LoadedPlan(plan, own, PlanBook(plan.id, terms_of(plan), ledgers)))
    return loaded


async def _receipts(session: AsyncSession, installment_ids: list[int]) -> dict[int, list[Receipt]]:
    found: dict[int, list[Receipt]] = defaultdict(list)
    if not installment_ids:
        return found
    query = (
        select(AllocationLineRow, PaymentRow.paid_on)
        .join(PaymentRow, PaymentRow.id == AllocationLineRow.payment_id)
        .where(
            AllocationLineRow.installment_id.in_(installment_ids),
            PaymentRow.status == SUCCEEDED,
        )
        .order_by(PaymentRow.paid_on, AllocationLineRow.id)
    )
    return _collect(found, (await session.execute(query)).all())


async def _receipts_of_users(
    session: AsyncSession, user_ids: list[int]
) -> dict[int, list[Receipt]]:
    """The receipts of every installment of the users' succeeded payments."""
    query = (
        select(AllocationLineRow, PaymentRow.paid_on)
        .join(PaymentRow, PaymentRow.id == AllocationLineRow.payment_id)
        .where(PaymentRow.user_id.in_(user_ids), PaymentRow.status == SUCCEEDED)
        .order_by(PaymentRow.paid_on, AllocationLineRow.id)
    )
    return _collect(defaultdict(list), (await session.execute(query)).all())


def _collect(
    found: dict[int, list[Receipt]], lines: Sequence[Row[AllocationLineRow, date]]
) -> dict[int, list[Receipt]]:
    for line, paid_on in lines:
        parts = Parts(line.penalty, line.fee, line.interest, line.principal)
        found[line.installment_id].append(Receipt(paid_on, parts))
    return found
