"""Paying: confirm a quote exactly once, and the debit-and-record step auto-repay shares.

Exactly-once: the payment row (unique idempotency key), the debit of the simulated
balance, the allocation lines, any payoff adjustments and a confirm's receipt (sent
only if the reply does not show it) commit in one transaction.
A repeated confirmation finds the stored payment and returns its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select

from core.db.models import (
    AllocationLineRow,
    InstallmentRow,
    PaymentMethodRow,
    PaymentRow,
    QuoteRow,
    User,
)
from core.db.uow import UnitOfWork
from core.domain.quotes import Quote, QuoteKind, total_owed
from core.failpoints import PAYMENT_AFTER_COMMIT, PAYMENT_AFTER_DEBIT, failpoint
from core.services.books import load_plans
from core.services.clock import local_date
from core.services.errors import NotFound, QuoteClosed, ServiceError
from core.services.payment_receipts import RECEIPT_GRACE, PaymentReceipt, queue_receipt
from core.services.quotes import (
    QuoteView,
    adjustments_to_json,
    lines_to_json,
    price,
    quote_view,
    request_of,
    store_quote,
)
from core.services.users import lock_user


class PaymentKind(StrEnum):
    MANUAL = "manual"
    AUTO = "auto"
    PAYOFF = "payoff"
    IMPORTED = "imported"
    SELF_REPORTED = "self_reported"  # paid in the lender's app; no money moved here


class Outcome(StrEnum):
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


async def _by_key(uow: UnitOfWork, key: str) -> PaymentRow | None:
    return await uow.session.scalar(select(PaymentRow).where(PaymentRow.idempotency_key == key))


async def _outstanding(uow: UnitOfWork, user_id: int, on: date) -> Decimal:
    return total_owed([p.book for p in await load_plans(uow.session, user_id)], on)


async def stored_outcome(uow: UnitOfWork, payment: PaymentRow, on: date) -> PaymentOutcome:
    balance = await uow.gateway.balance(payment.method_id) if payment.method_id else None
    return PaymentOutcome(
        Outcome(payment.status),
        payment.amount,
        payment.id,
        payment.failure_reason,
        balance,
        await _outstanding(uow, payment.user_id, on),
        repeated=True,
    )


async def execute_payment(
    uow: UnitOfWork,
    *,
    user_id: int,
    method_id: int,
    priced: Quote,
    kind: PaymentKind,
    key: str,
    paid_on: date,
    now: datetime,
    plan_id: int | None = None,
    quote_id: str | None = None,
) -> PaymentRow:
    """Record a payment, debit the method and, on success, allocate it. Does not commit."""
    payment = PaymentRow(
        user_id=user_id,
        idempotency_key=key,
        quote_id=quote_id,
        method_id=method_id,
        plan_id=plan_id,
        kind=kind.value,
        amount=priced.total,
        status="pending",
        paid_on=paid_on,
        created_at=now,
    )
    uow.session.add(payment)
    await uow.session.flush()
    result = await uow.gateway.debit(method_id, priced.total, key)
    failpoint(PAYMENT_AFTER_DEBIT)
    payment.completed_at = now
    if not result.ok:
        assert result.failure is not None
        payment.status, payment.failure_reason = "failed", result.failure.value
        await uow.session.flush()
        return payment
    await allocate(uow, payment, priced, now)
    return payment


async def allocate(uow: UnitOfWork, payment: PaymentRow, priced: Quote, now: datetime) -> None:
    """A payment whose money arrived: its allocation lines (and a payoff's adjustments of
    the periods it closes) written, it succeeded, plans it paid off closed. No commit."""
    for adjustment in priced.adjustments:
        installment = await uow.session.get(InstallmentRow, adjustment.key)
        assert installment is not None
        installment.interest, installment.fee = adjustment.interest, adjustment.fee
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
    payment.status = "succeeded"
    await uow.session.flush()
    await _close_paid_plans(uow, payment.user_id, payment.paid_on, now)


async def _close_paid_plans(uow: UnitOfWork, user_id: int, on: date, now: datetime) -> None:
    for plan in await load_plans(uow.session, user_id):
        if plan.row.closed_at is None and total_owed([plan.book], on) == 0:
            plan.row.closed_at = now


def _same(quote: QuoteRow, priced: Quote) -> bool:
    return quote.lines == lines_to_json(priced.lines) and quote.adjustments == adjustments_to_json(
        priced.adjustments
    )


async def confirm_quote(
    uow: UnitOfWork,
    user_id: int,
    quote_id: str,
    now: datetime,
    *,
    receipt_grace: timedelta = RECEIPT_GRACE,
) -> PaymentOutcome:
    """Pay a stored quote once. Someone else's or an unknown quote is ``NotFound``.

    The quote row and the user row are locked first, so a second confirmation waits,
    then finds the payment stored under the quote's key and returns its outcome; the
    unique key is the last guard should anything bypass the locks. The payment's receipt
    is queued with it, due after ``receipt_grace`` unless the reply shows it first
    (core/services/payment_receipts.py); a repeated confirmation queues nothing.
    """
    user = await lock_user(uow, user_id)
    on = local_date(now, user.timezone)
    key = f"quote:{quote_id}"
    quote = await uow.session.scalar(
        select(QuoteRow).where(QuoteRow.id == quote_id).with_for_update()
    )
    if quote is None or quote.user_id != user_id:
        raise NotFound("quote")
    existing = await _by_key(uow, key)
    if existing is not None:
        return await stored_outcome(uow, existing, on)
    if quote.status != "open":
        raise QuoteClosed(quote.status)
    request = request_of(quote)
    if now >= quote.expires_at:
        return await _refresh(uow, user_id, quote, Outcome.EXPIRED, on, now, "expired")
    try:
        priced: Quote | None = price(request, await load_plans(uow.session, user_id), on)
    except ServiceError:
        priced = None  # the choice no longer applies: nothing due, or it would overpay
    if priced is None or not _same(quote, priced):
        return await _refresh(uow, user_id, quote, Outcome.CHANGED, on, now, "stale")
    assert quote.method_id is not None
    kind = PaymentKind.PAYOFF if request.kind is QuoteKind.PAYOFF else PaymentKind.MANUAL
    payment = await execute_payment(
        uow,
        user_id=user_id,
        method_id=quote.method_id,
        priced=priced,
        kind=kind,
        key=key,
        paid_on=on,
        now=now,
        plan_id=request.plan_id,
        quote_id=quote.id,
    )
    quote.status = "used" if payment.status == "succeeded" else "failed"
    outcome = replace(await stored_outcome(uow, payment, on), repeated=False)
    await _queue_receipt(uow, user, payment, priced, outcome, receipt_grace)
    await uow.commit()
    failpoint(PAYMENT_AFTER_COMMIT)
    return outcome


async def _queue_receipt(
    uow: UnitOfWork,
    user: User,
    payment: PaymentRow,
    priced: Quote,
    outcome: PaymentOutcome,
    grace: timedelta,
) -> None:
    """The outcome as the confirm's reply tells it, queued should that reply never come."""
    method = await uow.session.get(PaymentMethodRow, payment.method_id)
    assert method is not None
    receipt = PaymentReceipt(
        payment_id=payment.id,
        succeeded=outcome.outcome is Outcome.SUCCEEDED,
        amount=outcome.amount,
        failure_reason=outcome.failure_reason,
        method_kind=method.kind,
        method_label=method.label,
        method_last4=method.last4,
        balance=outcome.method_balance,
        outstanding=outcome.outstanding_after,
        confirmed_at=payment.created_at,
    )
    queue_receipt(uow, user, priced.lines[0].key, receipt, grace)


async def _refresh(
    uow: UnitOfWork,
    user_id: int,
    quote: QuoteRow,
    outcome: Outcome,
    on: date,
    now: datetime,
    status: str,
) -> PaymentOutcome:
    """Close a quote that can no longer be paid and offer a fresh one in its place."""
    quote.status = status
    request = request_of(quote)
    assert quote.method_id is not None
    try:
        priced = price(request, await load_plans(uow.session, user_id), on)
    except ServiceError:
        await uow.commit()
        return PaymentOutcome(outcome, quote.amount)
    ttl = quote.expires_at - quote.created_at
    fresh = await store_quote(uow, user_id, request, quote.method_id, priced, on, now, ttl)
    await uow.commit()
    return PaymentOutcome(outcome, quote.amount, fresh_quote=quote_view(fresh))
