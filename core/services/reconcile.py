"""The sweep's reconciliation: ask the provider about every payment still in flight whose
check is due, and settle it from the answer.

A payment is in flight from its intent until it settles. Its first check is due a lease
after the intent (time for the submitter to record the answer itself), later ones back
off (5 s, 10 s … 10 min) while the provider says ``processing``. A check claims the
payment for a lease first, so two sweeps (two instances) do not ask about it at once.

What the provider says decides: settled → :func:`settlement.settle`; processing → ask
again later; never received (the submit was lost, or the process died before it) →
submit it again under the same reference, which debits at most once — unless the
intent is older than ``RESUBMIT_WINDOW``, then it failed (``gateway_unavailable``),
since no submit of ours can still be on its way after so long and a debit the user
asked for an hour ago would surprise more than it helps. No answer at all → ask again
later; the sweep's health says the provider is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from sqlalchemy import select, update

from core.db.models import PaymentRow
from core.db.uow import Database, UnitOfWork
from core.gateway.port import PROVIDER_UNAVAILABLE, DebitState, DebitStatus, OutcomeUnknown
from core.services.autopay_sweep import AutopayReceipt, run_due_autopays
from core.services.payment_flow import PAYMENT_LEASE, submission, submit
from core.services.payments import IN_FLIGHT
from core.services.settlement import Settled, drive_all, mark_processing, settle

log = logging.getLogger(__name__)

BATCH = 200  # payments checked by one sweep at most; a backlog drains over sweeps
CONCURRENCY = 8  # provider calls at once
RESUBMIT_WINDOW = timedelta(hours=1)


@dataclass
class Reconciled:
    """What one reconciliation did, by payment."""

    checked: int = 0
    settled: int = 0
    processing: int = 0
    unanswered: int = 0


async def claim_due(
    uow: UnitOfWork, now: datetime, batch: int = BATCH, lease: timedelta = PAYMENT_LEASE
) -> list[int]:
    """The in-flight payments whose check is due, oldest check first, each claimed for a
    lease (its next check moved past it). Commits."""
    due = list(
        await uow.session.scalars(
            select(PaymentRow.id)
            .where(PaymentRow.next_check_at <= now, PaymentRow.status.in_(IN_FLIGHT))
            .order_by(PaymentRow.next_check_at)
            .limit(batch)
        )
    )
    if not due:
        return []
    claimed = await uow.session.scalars(
        update(PaymentRow)
        .where(PaymentRow.id.in_(due), PaymentRow.next_check_at <= now)
        .values(next_check_at=now + lease)
        .returning(PaymentRow.id)
    )
    found = sorted(claimed.all())
    await uow.commit()
    return found


async def reconcile(db: Database, now: datetime, *, batch: int = BATCH) -> Reconciled:
    """Check every in-flight payment that is due (at most ``batch``; while the provider
    is not answering, only a few, as probes: each unanswered call costs a timeout)."""
    async with db.uow() as uow:
        if not uow.provider.reachable():
            batch = min(batch, CONCURRENCY)
        due = await claim_due(uow, now, batch, uow.provider.lease)
    report = Reconciled(checked=len(due))
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(payment_id: int) -> None:
        async with gate, db.uow() as uow:
            try:
                outcome = await check(uow, payment_id, now)
            except Exception:  # one payment's trouble must not stop the others'
                log.exception("reconciling payment %s", payment_id)
                outcome = "unanswered"
        setattr(report, outcome, getattr(report, outcome) + 1)

    await asyncio.gather(*(one(payment_id) for payment_id in due))
    return report


async def check(uow: UnitOfWork, payment_id: int, now: datetime) -> str:
    """Ask the provider about one payment and act on the answer: "settled",
    "processing" or "unanswered". Commits.

    Submitting again, or failing a payment the provider never got, is fenced: it goes
    ahead only if no other check has moved the payment on since this one read it (its
    ``checks`` count), so two sweeps (two instances, a stale claim) cannot do both."""
    sent = await submission(uow, payment_id)
    payment = await uow.session.get(PaymentRow, payment_id)
    created_at = payment.created_at if payment is not None else now
    seen = payment.checks if payment is not None else 0
    await uow.rollback()
    if sent is None:
        return "unanswered"
    try:
        state = await uow.provider.query(sent.reference)
    except OutcomeUnknown:
        await mark_processing(uow, payment_id, now)
        return "unanswered"
    if state is None:  # the provider never got it
        if not await _fence(uow, payment_id, seen, now):
            return "processing"  # another check has it
        if now - created_at > RESUBMIT_WINDOW:
            state = DebitState(
                sent.reference,
                sent.account.name,
                sent.amount,
                DebitStatus.FAILED,
                PROVIDER_UNAVAILABLE,
                None,
            )
        else:
            log.warning("payment %s: the provider never got it; submitting again", payment_id)
            state = await submit(uow, sent)
    if state is None:
        await mark_processing(uow, payment_id, now)
        return "unanswered"
    if not state.settled:
        await mark_processing(uow, payment_id, now)
        return "processing"
    settled = await settle(uow, payment_id, state, now)
    await drive_all(uow, settled.created, now)
    return "settled"


async def _fence(uow: UnitOfWork, payment_id: int, seen: int, now: datetime) -> bool:
    """Take the payment for this check alone: True if it is still in flight and no other
    check has counted itself on it since ``seen``. Commits."""
    taken = await uow.session.scalar(
        update(PaymentRow)
        .where(
            PaymentRow.id == payment_id,
            PaymentRow.checks == seen,
            PaymentRow.status.in_(IN_FLIGHT),
        )
        .values(checks=seen + 1, next_check_at=now + uow.provider.lease)
        .returning(PaymentRow.id)
    )
    await uow.commit()
    return taken is not None


async def drive_intents(db: Database, payment_ids: list[int], now: datetime) -> list[Settled]:
    """Drive committed intents (an auto-repay sweep's) through the provider, a few at a
    time; one payment's trouble leaves it to a later check and the others go on. While the
    provider is not answering, the rest wait for their check (each call would cost a
    timeout, and hold up the sweep's messages)."""
    gate = asyncio.Semaphore(CONCURRENCY)
    done: list[Settled] = []

    async def one(payment_id: int) -> None:
        async with gate, db.uow() as uow:
            if not uow.provider.reachable():
                return
            try:
                done.extend(await drive_all(uow, [payment_id], now))
            except Exception:
                log.exception("driving payment %s (the sweep will check it)", payment_id)

    await asyncio.gather(*(one(payment_id) for payment_id in payment_ids))
    return done


async def run_autopays(db: Database, now: datetime, at: time) -> list[AutopayReceipt]:
    """The sweep's auto-repay: the intents due (``run_due_autopays``), driven through the
    provider; the receipts of those it settled at once (the rest settle later)."""
    async with db.uow() as uow:
        due = await run_due_autopays(uow, now, at)
    settled = await drive_intents(db, due.intents, now)
    return due.no_method + [s.receipt for s in settled if isinstance(s.receipt, AutopayReceipt)]
