"""Settling a payment once, from whichever comes first: the submit's answer, a signed
notification or the sweep's query.

The payment's row is locked (after its user's, the order every money-writing service
takes) and only a payment still in flight is settled: a second settlement — a
duplicated notification, a query racing one — finds it settled and changes nothing.
Success keeps what the intent reserved and closes plans it paid off; failure releases
it. Either way the user's receipt is queued in the same transaction (sent by the
sweep unless the confirm's own reply shows it first), and a failed auto-repay attempt
with a fallback method gets its fallback's intent instead.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select

from core.db.models import (
    AllocationLineRow,
    PaymentMethodRow,
    PaymentRow,
    PlanRow,
    QuoteRow,
    ReminderLogRow,
    User,
)
from core.db.uow import UnitOfWork
from core.domain.allocation import AllocationLine
from core.domain.ledger import Parts
from core.domain.quotes import Quote, QuoteKind, total_owed
from core.failpoints import PAYMENT_AFTER_SUBMIT, PAYMENT_BEFORE_SUBMIT, failpoint
from core.gateway.port import CARD_REMOVED, PROVIDER_UNAVAILABLE, DebitState, DebitStatus
from core.services.autopay_sweep import AutopayReceipt, autopay_methods
from core.services.books import load_open_plans
from core.services.clock import local_date
from core.services.payment_flow import record_intent, submission, submit
from core.services.payment_receipts import RECEIPT, PaymentReceipt, queue_receipt
from core.services.payments import (
    FAILED,
    IN_FLIGHT,
    PENDING,
    PROCESSING,
    SUCCEEDED,
    PaymentFailure,
    PaymentKind,
    close_paid_plans,
    release,
)
from core.services.reminder_rows import PENDING as TO_SEND
from core.services.users import lock_user

log = logging.getLogger(__name__)

# The provider's failure reasons, as our records and messages name them.
OUR_REASONS = {
    CARD_REMOVED: PaymentFailure.METHOD_REMOVED.value,
    PROVIDER_UNAVAILABLE: PaymentFailure.GATEWAY_UNAVAILABLE.value,
}
FIRST_RECHECK = timedelta(seconds=5)
LAST_RECHECK = timedelta(minutes=10)


@dataclass
class Settled:
    """What settling did: the intents it created (an auto-repay's fallback, for the
    caller to drive) and the receipt it queued."""

    created: list[int] = field(default_factory=list)
    receipt: AutopayReceipt | PaymentReceipt | None = None


def recheck_delay(checks: int) -> timedelta:
    """How long to wait before asking the provider again after ``checks`` asks."""
    return min(FIRST_RECHECK * (1 << min(checks, 16)), LAST_RECHECK)


async def _locked(uow: UnitOfWork, payment_id: int) -> tuple[User, PaymentRow] | None:
    user_id = await uow.session.scalar(
        select(PaymentRow.user_id).where(PaymentRow.id == payment_id)
    )
    if user_id is None:
        return None
    user = await lock_user(uow, user_id)
    payment = await uow.session.scalar(
        select(PaymentRow)
        .where(PaymentRow.id == payment_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return None if payment is None else (user, payment)


async def mark_processing(uow: UnitOfWork, payment_id: int, now: datetime) -> None:
    """The outcome is not known yet: the payment is ``processing`` (what the user is
    told) until a notification or the sweep's query settles it. Commits."""
    found = await _locked(uow, payment_id)
    if found is not None and found[1].status in IN_FLIGHT:
        payment = found[1]
        payment.status = PROCESSING
        payment.next_check_at = now + recheck_delay(payment.checks)
        payment.checks += 1
    await uow.commit()


async def settle(
    uow: UnitOfWork,
    payment_id: int,
    state: DebitState,
    now: datetime,
    *,
    receipt_grace: timedelta | None = None,
) -> Settled:
    """Apply the provider's settled ``state`` to the payment, once. Commits.

    ``receipt_grace`` (the confirm settling its own payment): the receipt is due that long
    after the payment was confirmed, the confirm's reply having that long to show it.
    Settled by another path (a notification, a query) while the confirm may still wait
    for its answer (``pending``): due the confirm's grace from now; else due now.
    """
    found = await _locked(uow, payment_id)
    if found is None or found[1].status not in IN_FLIGHT or not state.settled:
        await uow.rollback()
        return Settled()
    user, payment = found
    due = _receipt_due(payment, now, receipt_grace)
    told_processing = payment.status == PROCESSING
    if state.amount != payment.amount or state.reference != payment.reference:
        # Never settled on a guess: it stays in flight (what it pays stays reserved) and
        # is no longer checked; an operator must look (the log says which).
        log.error(
            "payment %s: the provider's debit %s does not match it; left for an operator",
            payment.id,
            state,
        )
        payment.next_check_at = None
        await uow.commit()
        return Settled()
    method = await uow.session.get(PaymentMethodRow, payment.method_id)
    if method is not None and state.balance_after is not None:
        method.balance = state.balance_after
    payment.completed_at, payment.next_check_at = now, None
    lines = await _lines(uow, payment)
    created: list[int] = []
    if state.status is DebitStatus.SUCCEEDED:
        payment.status = SUCCEEDED
        await uow.session.flush()
        await close_paid_plans(uow, user.telegram_id, payment.paid_on, now)
    else:
        reason = state.failure_reason or PROVIDER_UNAVAILABLE
        payment.status, payment.failure_reason = FAILED, OUR_REASONS.get(reason, reason)
        await release(uow, payment)
        if payment.quote_id is not None:
            quote = await uow.session.get(QuoteRow, payment.quote_id)
            if quote is not None:
                quote.status = "failed"
        created = await _fallback(uow, payment, lines, now)
    receipt = None
    if lines and not created:
        receipt = await _queue_receipt(
            uow, user, payment, method, lines[0].key, now, due, told_processing
        )
    await uow.commit()
    return Settled(created, receipt)


async def drive(
    uow: UnitOfWork, payment_id: int, now: datetime, *, receipt_grace: timedelta | None = None
) -> Settled:
    """Submit the committed intent ``payment_id`` and settle it from the answer
    (core/services/payment_flow.py). Commits."""
    sent = await submission(uow, payment_id)
    await uow.rollback()  # no transaction stays open while the provider is called
    if sent is None:
        return Settled()
    failpoint(PAYMENT_BEFORE_SUBMIT)
    state = await submit(uow, sent)
    failpoint(PAYMENT_AFTER_SUBMIT)
    if state is None or not state.settled:
        await mark_processing(uow, payment_id, now)
        return Settled()
    return await settle(uow, payment_id, state, now, receipt_grace=receipt_grace)


async def drive_all(uow: UnitOfWork, payment_ids: list[int], now: datetime) -> list[Settled]:
    """Drive these intents and whatever fallbacks settling them creates."""
    waiting, done = list(payment_ids), []
    while waiting:
        done.append(await drive(uow, waiting.pop(0), now))
        waiting += done[-1].created
    return done


def _receipt_due(payment: PaymentRow, now: datetime, grace: timedelta | None) -> datetime:
    if grace is not None:
        return max(now, payment.created_at + grace)
    waiting = (payment.details or {}).get("reply_grace")
    if payment.status == PENDING and waiting is not None:
        return now + timedelta(seconds=float(waiting))
    return now


async def _lines(uow: UnitOfWork, payment: PaymentRow) -> list[AllocationLine]:
    rows = await uow.session.scalars(
        select(AllocationLineRow)
        .where(AllocationLineRow.payment_id == payment.id)
        .order_by(AllocationLineRow.id)
    )
    return [
        AllocationLine(row.installment_id, Parts(row.penalty, row.fee, row.interest, row.principal))
        for row in rows
    ]


async def _fallback(
    uow: UnitOfWork, payment: PaymentRow, lines: list[AllocationLine], now: datetime
) -> list[int]:
    """A failed auto-repay attempt on the plan's method: the same debit on the fallback
    method, when the plan has one (``debit_order``), as a new intent."""
    key = payment.idempotency_key
    if payment.kind != PaymentKind.AUTO.value or key.endswith(":fallback") or not lines:
        return []
    if payment.failure_reason == PaymentFailure.GATEWAY_UNAVAILABLE.value:
        return []  # the provider itself failed it (or never got it): no other card now
    plan = await uow.session.get(PlanRow, payment.plan_id) if payment.plan_id else None
    if plan is None or not plan.autopay or plan.closed_at is not None:
        return []  # turned off, or paid off, while the attempt was in flight
    methods = [m.id for m in await autopay_methods(uow, payment.user_id, plan)]
    later = methods[methods.index(payment.method_id) + 1 :] if payment.method_id in methods else []
    if not later:
        return []
    fallback = await record_intent(
        uow,
        user_id=payment.user_id,
        method_id=later[0],
        priced=Quote(QuoteKind.PERIOD, tuple(lines)),
        kind=PaymentKind.AUTO,
        key=f"{key}:fallback",
        paid_on=payment.paid_on,
        now=now,
        plan_id=plan.id,
        details=payment.details,
    )
    return [fallback.id]


async def _queue_receipt(
    uow: UnitOfWork,
    user: User,
    payment: PaymentRow,
    method: PaymentMethodRow | None,
    installment_id: int,
    now: datetime,
    due: datetime,
    told_processing: bool,
) -> AutopayReceipt | PaymentReceipt:
    succeeded = payment.status == SUCCEEDED
    on = local_date(now, user.timezone)
    plans = (await load_open_plans(uow.session, [user.telegram_id]))[user.telegram_id]
    outstanding = total_owed([p.book for p in plans], on)
    if payment.kind != PaymentKind.AUTO.value:
        assert method is not None
        receipt = PaymentReceipt(
            payment_id=payment.id,
            succeeded=succeeded,
            amount=payment.amount,
            failure_reason=payment.failure_reason,
            method_kind=method.kind,
            method_label=method.label,
            method_last4=method.last4,
            balance=method.balance,
            outstanding=outstanding,
            confirmed_at=payment.created_at,
            after_processing=told_processing,
        )
        queue_receipt(uow, user, installment_id, receipt, due - payment.created_at)
        return receipt
    plan = await uow.session.get(PlanRow, payment.plan_id) if payment.plan_id else None
    receipt_ = AutopayReceipt(
        user_id=user.telegram_id,
        language=user.language,
        plan_title=plan.title if plan is not None else "",
        amount=payment.amount,
        succeeded=succeeded,
        failure_reason=payment.failure_reason,
        method_label=method.label if method is not None else None,
        balance=method.balance if method is not None else None,
        outstanding=outstanding,
        last_attempt=bool((payment.details or {}).get("last_attempt")),
    )
    uow.session.add(
        ReminderLogRow(
            user_id=user.telegram_id,
            installment_id=installment_id,
            kind=RECEIPT,
            offset=payment.id,
            fire_at=now,
            status=TO_SEND,
            attempts=0,
            created_at=now,
            payload=receipt_.to_payload(),
        )
    )
    user.next_sweep_at = min(user.next_sweep_at, now)
    return receipt_
