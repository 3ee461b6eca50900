"""Loading plans from the database as the domain's ``PlanBook``s."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TypeVar

from sqlalchemy import ColumnElement, Row, ScalarSelect, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import AllocationLineRow, InstallmentRow, PaymentRow, PlanRow
from core.domain.ledger import InstallmentLedger, Parts, PlanBook, Receipt
from core.domain.schedule import ScheduledInstallment
from core.domain.terms import Method, PayoffPolicy, PlanTerms

# The payments whose allocation lines count as paid: succeeded, and in flight (their
# money is on its way; counting it keeps anything from asking for it again). Listed here,
# not imported: core/services/payments.py builds on this module.
COVERING = ("succeeded", "pending", "processing")
T = TypeVar("T")
RECEIPT_COLUMNS = (
    AllocationLineRow.installment_id,
    AllocationLineRow.penalty,
    AllocationLineRow.fee,
    AllocationLineRow.interest,
    AllocationLineRow.principal,
    PaymentRow.paid_on,
)


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


# An installment's columns, read as plain rows: the plan books need no ORM objects.
INSTALLMENT_COLUMNS = (
    InstallmentRow.id,
    InstallmentRow.plan_id,
    InstallmentRow.period,
    InstallmentRow.start_date,
    InstallmentRow.due_date,
    InstallmentRow.principal,
    InstallmentRow.interest,
    InstallmentRow.fee,
)


def installment_of(
    row: InstallmentRow | Row[int, int, int, date, date, Decimal, Decimal, Decimal],
) -> ScheduledInstallment:
    return ScheduledInstallment(
        row.period, row.start_date, row.due_date, row.principal, row.interest, row.fee
    )


@dataclass(frozen=True, slots=True)
class LoadedPlan:
    row: PlanRow
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
        await session.execute(
            select(*INSTALLMENT_COLUMNS)
            .where(InstallmentRow.plan_id.in_([p.id for p in plans]))
            .order_by(InstallmentRow.plan_id, InstallmentRow.period)
        )
    ).all()
    receipts = await _receipts(session, [row.id for row in rows])
    return _assemble(plans, rows, receipts)


async def load_open_plans(
    session: AsyncSession,
    user_ids: Collection[int],
    *,
    due_by: date | None = None,
    due_from: date | None = None,
    including: Collection[int] = (),
) -> dict[int, list[LoadedPlan]]:
    """The open (not paid off) plans of many users at once, by user, in a few queries
    however many users — what a sweep needs for a whole chunk of users.

    With ``due_by`` (and ``due_from``), each book holds only the installments due by
    that date (from that date), and those whose ids are in ``including``; a plan with
    none is left out: a partial book, enough for the positions of those installments
    (each is computed from its own ledger) but not for a plan's totals.
    """
    found: dict[int, list[LoadedPlan]] = {user_id: [] for user_id in user_ids}
    for ids in slices(list(user_ids)):
        chosen: list[ColumnElement[bool]] = [PlanRow.user_id.in_(ids), PlanRow.closed_at.is_(None)]
        bounds = [InstallmentRow.due_date <= due_by] if due_by is not None else []
        bounds += [InstallmentRow.due_date >= due_from] if due_from is not None else []
        if bounds:
            extra = list(including)
            near = and_(*bounds)
            chosen.append(or_(near, InstallmentRow.id.in_(extra)) if extra else near)
        query = (
            select(*INSTALLMENT_COLUMNS)
            .join(PlanRow, PlanRow.id == InstallmentRow.plan_id)
            .where(*chosen)
            .order_by(InstallmentRow.plan_id, InstallmentRow.period)
        )
        rows = (await session.execute(query)).all()
        plans: list[PlanRow] = []
        for some in slices(sorted({row[1] for row in rows})):  # plan ids
            plans += await session.scalars(
                select(PlanRow).where(PlanRow.id.in_(some)).order_by(PlanRow.id)
            )
        # The receipts of the same installments, chosen by the same conditions rather
        # than by listing their ids (a bound parameter each).
        receipts: dict[int, list[Receipt]] = {}
        if rows:
            receipts = await _receipts_where(
                session,
                select(InstallmentRow.id)
                .join(PlanRow, PlanRow.id == InstallmentRow.plan_id)
                .where(*chosen)
                .scalar_subquery(),
            )
        for plan in _assemble(plans, rows, receipts):
            found[plan.row.user_id].append(plan)
    return found


def slices(values: list[T], size: int = 5000) -> list[list[T]]:
    """``values`` in pieces small enough for one ``IN (...)`` (bound-parameter limits)."""
    return [values[i : i + size] for i in range(0, len(values), size)]


def _assemble(
    plans: Sequence[PlanRow],
    rows: Sequence[Row[int, int, int, date, date, Decimal, Decimal, Decimal]],
    receipts: Mapping[int, list[Receipt]],
) -> list[LoadedPlan]:
    # Rows unpacked as tuples, not read by name: a sweep assembles up to 1,200 a user.
    by_plan: dict[int, list[InstallmentLedger]] = defaultdict(list)
    for key, plan_id, period, start, due, principal, interest, fee in rows:
        item = ScheduledInstallment(period, start, due, principal, interest, fee)
        by_plan[plan_id].append(InstallmentLedger(key, item, tuple(receipts.get(key, ()))))
    return [
        LoadedPlan(plan, PlanBook(plan.id, terms_of(plan), tuple(by_plan[plan.id])))
        for plan in plans
    ]


async def _receipts(session: AsyncSession, installment_ids: list[int]) -> dict[int, list[Receipt]]:
    if not installment_ids:
        return defaultdict(list)
    return await _receipts_where(session, installment_ids)


async def _receipts_where(
    session: AsyncSession, installments: list[int] | ScalarSelect[int]
) -> dict[int, list[Receipt]]:
    """The receipts of these installments (ids, or a query of ids), by installment."""
    query = (
        select(*RECEIPT_COLUMNS)
        .join(PaymentRow, PaymentRow.id == AllocationLineRow.payment_id)
        .where(
            AllocationLineRow.installment_id.in_(installments),
            PaymentRow.status.in_(COVERING),
        )
        .order_by(PaymentRow.paid_on, AllocationLineRow.id)
    )
    return _collect(defaultdict(list), (await session.execute(query)).all())


def _collect(
    found: dict[int, list[Receipt]],
    lines: Sequence[Row[int, Decimal, Decimal, Decimal, Decimal, date]],
) -> dict[int, list[Receipt]]:
    for installment_id, penalty, fee, interest, principal, paid_on in lines:
        found[installment_id].append(Receipt(paid_on, Parts(penalty, fee, interest, principal)))
    return found
