"""A payment's record: its kinds and states, what it pays (allocation lines, reserved
while it is in flight) and the outcome a confirm reports.

A payment through the provider is a state machine (core/services/payment_flow.py):
``pending`` (its intent committed, the provider not yet known to have it) →
``processing`` (the provider has it, or may; the user is told so) → ``succeeded`` or
``failed`` (with the provider's reason). Its allocation lines are written with the
intent and count as paid while it is in flight, so nothing asks for that money again;
they are deleted if it fails. Payments that move no money here (imported, paid
elsewhere) are written ``succeeded`` at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import delete, select

from core.db.models import (
    AllocationLineRow,
    InstallmentRow,
    PaymentMethodRow,
    PaymentRow,
)
from core.db.uow import UnitOfWork
from core.domain.quotes import Quote, total_owed
from core.services.books import load_plans
from core.services.quotes import (
    QuoteView,
)


class PaymentKind(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"
    PAYOFF = "payoff"
    IMPORTED = "imported"
    SELF_REPORTED = "self_reported"  # paid in the lender's app; no money moved here


PENDING, PROCESSING, SUCCEEDED, FAILED = "pending", "processing", "succeeded", "failed"
IN_FLIGHT = (PENDING, PROCESSING)


class PaymentFailure(StrEnum):
    """Why a payment failed, as records and messages name it."""

    INSUFFICIENT_BALANCE = "insufficient_balance"
    METHOD_REMOVED = "method_removed"  # the provider: card_removed
    RISK_REFUSED = "risk_refused"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"  # the provider: provider_unavailable


class Outcome(StrEnum):
    PROCESSING = "processing"  # sent to the provider; its outcome is not known yet
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    EXPIRED = "expired"  # the quote's time ran out; a fresh quote is offered
    CHANGED = "changed"  # what is owed changed since the quote; a fresh quote is offered


@dataclass(frozen=True, slots=True)
class PaymentOutcome:
    outcome: Outcome
    amount: Decimal
    payment_id: int | None = None
    failure_reason: str | None = None
    method_balance: Decimal | None = None
    outstanding_after: Decimal | None = None
    fresh_quote: QuoteView | None = None
    repeated: bool = False


async def _outstanding(uow: UnitOfWork, user_id: int, on: date) -> Decimal:
    return total_owed([p.book for p in await load_plans(uow.session, user_id)], on)


async def stored_outcome(uow: UnitOfWork, payment: PaymentRow, on: date) -> PaymentOutcome:
    """The payment as it stands; the method's balance as the provider last told it."""
    method = (
        await uow.session.get(PaymentMethodRow, payment.method_id) if payment.method_id else None
    )
    balance = method.balance if method is not None else None
    status = PROCESSING if payment.status in IN_FLIGHT else payment.status
    return PaymentOutcome(
        Outcome(status),
        payment.amount,
        payment.id,
        payment.failure_reason,
        balance,
        await _outstanding(uow, payment.user_id, on),
        repeated=True,
    )


async def allocate(uow: UnitOfWork, payment: PaymentRow, priced: Quote, now: datetime) -> None:
    """A payment whose money arrived (one made elsewhere): its allocation lines (and a
    payoff's adjustments of the periods it closes) written, it succeeded, plans it paid
    off closed. No commit."""
    await reserve(uow, payment, priced)
    payment.status = SUCCEEDED
    await uow.session.flush()
    await close_paid_plans(uow, payment.user_id, payment.paid_on, now)


async def reserve(uow: UnitOfWork, payment: PaymentRow, priced: Quote) -> None:
    """Write what ``payment`` pays: its allocation lines and a payoff's adjustments, the
    values they replace kept in ``payment.details`` so a failure can put them back.
    They count as paid while the payment is in flight or succeeded (books.COVERING)."""
    replaced = []
    for adjustment in priced.adjustments:
        installment = await uow.session.get(InstallmentRow, adjustment.key)
        assert installment is not None
        replaced.append(
            {
                "installment": str(adjustment.key),
                "interest": str(installment.interest),
                "fee": str(installment.fee),
            }
        )
        installment.interest, installment.fee = adjustment.interest, adjustment.fee
    if replaced:
        payment.details = (payment.details or {}) | {"replaced": replaced}
    uow.session.add_all(
        AllocationLineRow(
            payment_id=payment.id,
            installment_id=line.key,
            penalty=line.parts.penalty,
            fee=line.parts.fee,
            interest=line.parts.interest,
            principal=line.parts.principal,
        )
        for line in priced.lines
    )
    await uow.session.flush()


async def release(uow: UnitOfWork, payment: PaymentRow) -> None:
    """Undo :func:`reserve` for a payment that failed: its lines deleted, the charges a
    payoff adjusted put back, and a plan closed meanwhile (its lines counted as paid
    while in flight) open again if it owes. No commit."""
    plan_ids = set(
        await uow.session.scalars(
            select(InstallmentRow.plan_id)
            .join(AllocationLineRow, AllocationLineRow.installment_id == InstallmentRow.id)
            .where(AllocationLineRow.payment_id == payment.id)
        )
    )
    await uow.session.execute(
        delete(AllocationLineRow).where(AllocationLineRow.payment_id == payment.id)
    )
    for row in (payment.details or {}).get("replaced", []):
        installment = await uow.session.get(InstallmentRow, int(row["installment"]))
        if installment is not None:
            installment.interest, installment.fee = Decimal(row["interest"]), Decimal(row["fee"])
    await uow.session.flush()
    for plan in await load_plans(uow.session, payment.user_id, plan_ids):
        if plan.row.closed_at is not None and total_owed([plan.book], payment.paid_on) > 0:
            plan.row.closed_at = None  # it owes again


async def close_paid_plans(uow: UnitOfWork, user_id: int, on: date, now: datetime) -> None:
    for plan in await load_plans(uow.session, user_id):
        if plan.row.closed_at is None and total_owed([plan.book], on) == 0:
            plan.row.closed_at = now
