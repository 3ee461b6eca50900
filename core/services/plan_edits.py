"""Changing a plan after it was added: its title, or deleting it — a plan typed in by
mistake, or one the user no longer wants tracked. A plan that money was paid on through
RepayBot (a confirmed payment, an auto-debit, a payoff) stays, for its records; one with
only periods imported as paid (or attempts that moved no money) can go, with them."""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, exists, or_, select

from core.db.models import AllocationLineRow, InstallmentRow, PaymentRow, PlanRow
from core.db.uow import UnitOfWork
from core.limits import MAX_TITLE_CHARS
from core.services.books import COVERING
from core.services.errors import InvalidInput, NotFound
from core.services.payments import PaymentKind
from core.services.users import lock_user
from core.services.wakeups import wake

# Payments whose money moved through RepayBot: a plan they paid is kept.
MONEY_MOVED = (PaymentKind.MANUAL.value, PaymentKind.AUTO.value, PaymentKind.PAYOFF.value)


async def _own(uow: UnitOfWork, user_id: int, plan_id: int) -> PlanRow:
    await lock_user(uow, user_id)
    plan = await uow.session.get(PlanRow, plan_id)
    if plan is None or plan.user_id != user_id:
        raise NotFound("plan")
    return plan


async def rename_plan(uow: UnitOfWork, user_id: int, plan_id: int, title: str) -> None:
    """A new title (1 to MAX_TITLE_CHARS characters); commits."""
    plan = await _own(uow, user_id, plan_id)
    title = title.strip()
    if not title or len(title) > MAX_TITLE_CHARS:
        raise InvalidInput("title", "length")
    plan.title = title
    await uow.commit()


def _touches(plan_id: int) -> ColumnElement[bool]:
    """A payment made for the plan, or allocated to one of its installments."""
    allocated = (
        select(AllocationLineRow.id)
        .join(InstallmentRow, InstallmentRow.id == AllocationLineRow.installment_id)
        .where(AllocationLineRow.payment_id == PaymentRow.id, InstallmentRow.plan_id == plan_id)
    )
    return or_(PaymentRow.plan_id == plan_id, exists(allocated))


async def can_delete(uow: UnitOfWork, plan_id: int) -> bool:
    """Whether no money moved through RepayBot on the plan."""
    moved = await uow.session.scalar(
        select(PaymentRow.id)
        .where(
            _touches(plan_id),
            PaymentRow.status.in_(COVERING),
            PaymentRow.kind.in_(MONEY_MOVED),
        )
        .limit(1)
    )
    return moved is None


async def delete_plan(uow: UnitOfWork, user_id: int, plan_id: int) -> None:
    """Delete the plan with its installments, their reminders and the payments that were
    only records of it; commits. ``InvalidInput`` ("plan", "money_moved") when money was
    paid on it through RepayBot: then nothing changes."""
    plan = await _own(uow, user_id, plan_id)
    if not await can_delete(uow, plan.id):
        raise InvalidInput("plan", "money_moved")
    records = select(PaymentRow.id).where(_touches(plan.id))
    ids = list(await uow.session.scalars(records))
    if ids:
        await uow.session.execute(delete(PaymentRow).where(PaymentRow.id.in_(ids)))
    await uow.session.delete(plan)  # installments, quotes, reminders: ON DELETE CASCADE
    await wake(uow, user_id)  # what it would have reminded of is gone
    await uow.commit()
