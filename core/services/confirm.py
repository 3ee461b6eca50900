"""Confirming a quote: pay it exactly once, through the provider.

A repeated confirmation finds the stored payment and returns its outcome as it stands.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from sqlalchemy import select

from core.db.models import PaymentRow, QuoteRow
from core.db.uow import UnitOfWork
from core.domain.quotes import Quote, QuoteKind
from core.failpoints import PAYMENT_AFTER_COMMIT, failpoint
from core.services.books import load_plans
from core.services.clock import local_date
from core.services.errors import NotFound, QuoteClosed, ServiceError
from core.services.payment_flow import record_intent
from core.services.payment_receipts import RECEIPT_GRACE
from core.services.payments import Outcome, PaymentKind, PaymentOutcome, stored_outcome
from core.services.quotes import (
    adjustments_to_json,
    lines_to_json,
    price,
    quote_view,
    request_of,
    store_quote,
)
from core.services.settlement import drive
from core.services.users import lock_user


async def _by_key(uow: UnitOfWork, key: str) -> PaymentRow | None:
    return await uow.session.scalar(select(PaymentRow).where(PaymentRow.idempotency_key == key))


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
    unique key is the last guard should anything bypass the locks. The payment's intent
    is committed (the quote used with it), then sent to the provider and settled from
    its answer (core/services/settlement.py): the outcome is ``SUCCEEDED``, ``FAILED``
    or, when the provider has not settled it yet, ``PROCESSING``. Its receipt is queued
    when it settles, due after ``receipt_grace`` unless the reply shows it first
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
    payment = await record_intent(
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
        # Should another path settle it while this confirm still waits for the answer,
        # its reply still gets this long to show the receipt first.
        details={"reply_grace": receipt_grace.total_seconds()},
    )
    quote.status = "used"  # by this payment; "failed" if it fails
    await uow.commit()
    await drive(uow, payment.id, now, receipt_grace=receipt_grace)
    settled = await uow.session.get(PaymentRow, payment.id, populate_existing=True)
    assert settled is not None
    outcome = replace(await stored_outcome(uow, settled, on), repeated=False)
    await uow.rollback()
    failpoint(PAYMENT_AFTER_COMMIT)
    return outcome


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
