"""A payment made outside RepayBot ("I paid it in the lender's app"): recorded as the user
says it, allocated by the same rules as any payment, dated the day it was paid, and
undone if it was a mistake. No payment method is debited: no money moves here.

A record is dated no earlier than the plan's last recorded payment (an earlier date
would rewrite how that one was allocated) and not in the future; only the latest
payment on a plan can be undone, for the same reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Select, func, select

from core.db.models import AllocationLineRow, InstallmentRow, PaymentRow
from core.db.uow import UnitOfWork
from core.domain.quotes import QuoteKind, total_owed
from core.services.books import COVERING, load_plans
from core.services.clock import local_date
from core.services.errors import InvalidInput, NotFound
from core.services.payments import PaymentKind, allocate
from core.services.quotes import QuoteRequest, price
from core.services.users import lock_user
from core.services.wakeups import wake

REVERSED = "reversed"  # an undone record: kept, with no allocation


@dataclass(frozen=True, slots=True)
class Recorded:
    payment_id: int
    amount: Decimal
    paid_on: date
    outstanding_after: Decimal  # what the plan still owes
    repeated: bool = False  # the same record asked again (a double tap)


async def record_paid_elsewhere(
    uow: UnitOfWork,
    user_id: int,
    plan_id: int,
    kind: QuoteKind,
    amount: Decimal | None,
    paid_on: date,
    key: str,
    now: datetime,
) -> Recorded:
    """Record what was paid on ``plan_id`` on ``paid_on``: its next period (``PERIOD``),
    the payoff (``PAYOFF``) or ``amount`` (``CUSTOM``, at most the payoff); once per
    ``key``. Commits. Refusals as a payment's (``NothingToPay``, ``AbovePayoff`` …), and
    ``InvalidInput`` ("paid_on", "future" | "before_last" | "before_start")."""
    user = await lock_user(uow, user_id)
    existing = await uow.session.scalar(select(PaymentRow).where(PaymentRow.idempotency_key == key))
    if existing is not None:
        if existing.user_id != user_id or existing.plan_id != plan_id:
            raise InvalidInput("key", "taken")  # keys are made per chat: never so
        return await _recorded(uow, existing, repeated=True)
    plans = await load_plans(uow.session, user_id)
    plan = next((p for p in plans if p.row.id == plan_id), None)
    if plan is None:
        raise NotFound("plan")
    if paid_on > local_date(now, user.timezone):
        raise InvalidInput("paid_on", "future")
    if paid_on < plan.row.start_date:
        raise InvalidInput("paid_on", "before_start")
    last = await _last_paid_on(uow, plan_id)
    if last is not None and paid_on < last:
        raise InvalidInput("paid_on", "before_last")
    priced = price(QuoteRequest(kind, plan_id, amount), plans, paid_on)
    payment = PaymentRow(
        user_id=user_id,
        idempotency_key=key,
        method_id=None,
        plan_id=plan_id,
        kind=PaymentKind.SELF_REPORTED.value,
        amount=priced.total,
        status="pending",
        paid_on=paid_on,
        created_at=now,
        completed_at=now,
    )
    uow.session.add(payment)
    await uow.session.flush()
    await allocate(uow, payment, priced, now)
    await wake(uow, user_id)  # reminders and auto-repay look again at what is owed
    recorded = await _recorded(uow, payment)
    await uow.commit()
    return recorded


async def undo_paid_elsewhere(uow: UnitOfWork, user_id: int, payment_id: int) -> Recorded:
    """Undo a record made here by mistake: its allocation is removed and it stays, marked
    reversed. Only a self-reported payment, and only the plan's latest. Commits.
    ``InvalidInput`` ("payment", "not_self_reported" | "not_latest" | "reversed")."""
    await lock_user(uow, user_id)
    payment = await uow.session.get(PaymentRow, payment_id, with_for_update=True)
    if payment is None or payment.user_id != user_id or payment.plan_id is None:
        raise NotFound("payment")
    if payment.kind != PaymentKind.SELF_REPORTED.value:
        raise InvalidInput("payment", "not_self_reported")
    if payment.status == REVERSED:
        raise InvalidInput("payment", "reversed")
    later = await uow.session.scalar(
        select(PaymentRow.id).where(
            PaymentRow.id != payment.id,
            PaymentRow.status.in_(COVERING),
            PaymentRow.id.in_(_payments_on(payment.plan_id)),
            (PaymentRow.paid_on > payment.paid_on)
            | ((PaymentRow.paid_on == payment.paid_on) & (PaymentRow.id > payment.id)),
        )
    )
    if later is not None:
        raise InvalidInput("payment", "not_latest")
    for line in await uow.session.scalars(
        select(AllocationLineRow).where(AllocationLineRow.payment_id == payment.id)
    ):
        await uow.session.delete(line)
    payment.status = REVERSED
    await uow.session.flush()
    plan = next(p for p in await load_plans(uow.session, user_id) if p.row.id == payment.plan_id)
    if plan.row.closed_at is not None and total_owed([plan.book], payment.paid_on) > 0:
        plan.row.closed_at = None  # it owes again
    await wake(uow, user_id)
    recorded = await _recorded(uow, payment)
    await uow.commit()
    return recorded


def _payments_on(plan_id: int) -> Select[int]:
    """The ids of payments allocated to the plan's installments."""
    return (
        select(AllocationLineRow.payment_id)
        .join(InstallmentRow, InstallmentRow.id == AllocationLineRow.installment_id)
        .where(InstallmentRow.plan_id == plan_id)
    )


async def _last_paid_on(uow: UnitOfWork, plan_id: int) -> date | None:
    found: date | None = await uow.session.scalar(
        select(func.max(PaymentRow.paid_on)).where(
            PaymentRow.status.in_(COVERING), PaymentRow.id.in_(_payments_on(plan_id))
        )
    )
    return found


async def _recorded(uow: UnitOfWork, payment: PaymentRow, *, repeated: bool = False) -> Recorded:
    plans = await load_plans(uow.session, payment.user_id, [payment.plan_id or 0])
    owed = total_owed([p.book for p in plans], payment.paid_on)
    return Recorded(payment.id, payment.amount, payment.paid_on, owed, repeated)
