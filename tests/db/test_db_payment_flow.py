"""The payment state machine against a real (in-process) sandbox bank: a payoff that the
bank settles later or declines, the date that counts for lateness, what a payment in
flight blocks, and the bank's refusals and outages (issue 12)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.db.models import PaymentRow
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.gateway.bank.embedded import RunningBank
from core.gateway.bank.faults import Decline, Faults
from core.gateway.bank.ledger import FailureReason
from core.services.books import load_plans
from core.services.errors import NothingToPay, PaymentInFlight
from core.services.forget import forget_user
from core.services.overview import status_overview
from core.services.payment_flow import record_intent
from core.services.payments import Outcome, PaymentKind
from core.services.plans import get_plan
from core.services.quotes import QuoteRequest, create_quote, price
from core.services.reconcile import CONCURRENCY, check, reconcile
from core.services.settlement import recheck_delay

LEASE = timedelta(seconds=30)


async def _statuses(db: Database) -> list[str]:
    async with db.uow() as uow:
        return list(await uow.session.scalars(select(PaymentRow.status).order_by(PaymentRow.id)))


async def test_a_declined_payoff_puts_back_the_fees_it_would_have_waived(
    db: Database, bank: RunningBank, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="20000.00")
    plan = await make.plan(user, make.annuity_plan(start_date=date(2026, 11, 7)))
    async with db.uow() as uow:
        before = await get_plan(uow, user, plan, now)
    quote = await make.quote(user, QuoteKind.PAYOFF, plan_id=plan)
    bank.server.context.faults = Faults(declines=[Decline(FailureReason.RISK_REFUSED)])

    outcome = await make.confirm(user, quote.quote_id)

    assert (outcome.outcome, outcome.failure_reason) == (Outcome.FAILED, "risk_refused")
    async with db.uow() as uow:
        after = await get_plan(uow, user, plan, now)
    assert [i.charged for i in after.installments] == [i.charged for i in before.installments]
    assert after.outstanding == before.outstanding
    assert (await make.plan_row(plan)).closed_at is None
    assert await make.balance(card) == Decimal("20000.00")


async def test_a_payoff_the_bank_settles_later_closes_the_plan_when_it_succeeds(
    db: Database, bank: RunningBank, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="20000.00")
    plan = await make.plan(user, make.annuity_plan(start_date=date(2026, 11, 7)))
    quote = await make.quote(user, QuoteKind.PAYOFF, plan_id=plan)
    bank.server.context.faults = Faults(settlement_delay=0.05)

    outcome = await make.confirm(user, quote.quote_id)

    assert outcome.outcome is Outcome.PROCESSING
    async with db.uow() as uow:
        overview = await status_overview(uow, user, now)
        with pytest.raises(NothingToPay):  # nothing is left to pay while it is in flight
            await create_quote(uow, user, QuoteRequest(QuoteKind.CUSTOM, None, Decimal(1)), now)
    assert overview.in_flight == Decimal("12060.00")
    assert overview.summary.outstanding == 0
    assert (await make.plan_row(plan)).closed_at is None  # not until it succeeds
    while await bank.server.store.settle_due(datetime.now(UTC) + timedelta(hours=1), Faults()):
        pass
    assert (await reconcile(db, now + recheck_delay(0))).settled == 1
    assert await _statuses(db) == ["succeeded"]
    assert (await make.plan_row(plan)).closed_at is not None
    assert await make.balance(card) == Decimal("7940.00")


async def test_lateness_counts_from_the_submission_not_the_settlement(
    db: Database, bank: RunningBank, make: Any, now: datetime
) -> None:
    """Submitted on the due date, settled ten days later (past the grace period): no
    penalty — the payment is dated the day it was submitted, as a lender counts it."""
    user, _ = await make.user(balance="5000.00")
    await make.plan(user, make.fee_plan(first_due=now.date()))
    quote = await make.quote(user, QuoteKind.BILL)
    bank.server.context.faults = Faults(settlement_delay=3600)
    assert (await make.confirm(user, quote.quote_id)).outcome is Outcome.PROCESSING
    later = now + timedelta(days=3)
    while await bank.server.store.settle_due(
        datetime.now(now.tzinfo) + timedelta(hours=2), Faults()
    ):
        pass

    assert (await reconcile(db, later)).settled == 1

    async with db.uow() as uow:
        overview = await status_overview(uow, user, later)
        paid_on = await uow.session.scalar(select(PaymentRow.paid_on))
    assert paid_on == now.date()
    assert overview.summary.penalty == 0
    assert overview.summary.overdue_amount == 0


async def test_forget_waits_for_a_payment_in_flight(
    db: Database, bank: RunningBank, make: Any, now: datetime
) -> None:
    user, _ = await make.user(balance="5000.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    bank.server.context.faults = Faults(settlement_delay=3600)
    assert (await make.confirm(user, quote.quote_id)).outcome is Outcome.PROCESSING

    async with db.uow() as uow:
        with pytest.raises(PaymentInFlight):
            await forget_user(uow, user, now)
    assert await _statuses(db) == ["processing"]


async def test_an_outage_leaves_it_processing_and_the_check_submits_it_once(
    db: Database, bank: RunningBank, make: Any, now: datetime
) -> None:
    """The bank answers 503 and records nothing: the payment is processing (the user is
    told so), and the sweep's check after the lease submits it again, once."""
    user, card = await make.user(balance="5000.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    bank.server.context.faults = Faults(outage=1)

    outcome = await make.confirm(user, quote.quote_id)

    assert outcome.outcome is Outcome.PROCESSING
    assert await make.balance(card) == Decimal("5000.00")
    assert (await reconcile(db, now + LEASE)).settled == 1
    assert (await reconcile(db, now + LEASE * 20)).checked == 0
    assert await _statuses(db) == ["succeeded"]
    assert await make.balance(card) == Decimal("5000.00") - outcome.amount


async def test_an_intent_the_bank_never_got_fails_after_an_hour(
    db: Database, bank: RunningBank, make: Any, now: datetime
) -> None:
    """The bank unreachable for over an hour: the intent it never got fails rather than
    debit the user so late; nothing was debited and what it reserved is released."""
    user, card = await make.user(balance="5000.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    bank.server.context.faults = Faults(outage=1)
    outcome = await make.confirm(user, quote.quote_id)
    assert outcome.outcome is Outcome.PROCESSING

    assert (await reconcile(db, now + timedelta(hours=2))).settled == 1

    assert await _statuses(db) == ["failed"]
    assert await make.balance(card) == Decimal("5000.00")
    async with db.uow() as uow:
        overview = await status_overview(uow, user, now)
    assert overview.in_flight == 0
    assert overview.summary.current_bill == outcome.amount  # asked for again


async def test_while_the_provider_is_not_answering_a_sweep_only_probes(
    db: Database, bank: RunningBank, make: Any, now: datetime
) -> None:
    """Each unanswered call costs a timeout: while the provider is not answering, a sweep
    checks a few payments as probes, not its whole batch, and holds up nothing else."""
    user, card = await make.user(balance="5000.00")
    await make.plan(user, make.fee_plan())
    for n in range(CONCURRENCY + 4):
        async with db.uow() as uow:
            priced = price(
                QuoteRequest(QuoteKind.CUSTOM, amount=Decimal("1.00")),
                await load_plans(uow.session, user),
                now.date(),
            )
            await record_intent(
                uow,
                user_id=user,
                method_id=card,
                priced=priced,
                kind=PaymentKind.MANUAL,
                key=f"probe:{n}",
                paid_on=now.date(),
                now=now,
            )
            await uow.commit()
    assert db.provider is not None
    db.provider.last_unreachable = time.monotonic()  # its last call went unanswered

    first = await reconcile(db, now + LEASE)

    assert first.checked == CONCURRENCY  # probes; they are answered: it is back
    assert db.provider.reachable()
    assert (await reconcile(db, now + LEASE)).checked == 4
    assert set(await _statuses(db)) == {"succeeded"}


async def test_a_plan_closed_while_a_payment_was_in_flight_reopens_when_it_fails(
    db: Database, bank: RunningBank, make: Any, now: datetime
) -> None:
    """A period paid and still processing, then the payoff of the rest succeeds: the plan
    is closed (the processing period counted as paid). The period's debit then fails:
    the plan is open again and owes that period."""
    user, _ = await make.user(balance="50000.00")
    plan = await make.plan(user, make.fee_plan())
    bank.server.context.faults = Faults(settlement_delay=3600)
    period = await make.quote(user, QuoteKind.PERIOD, plan_id=plan)
    assert (await make.confirm(user, period.quote_id)).outcome is Outcome.PROCESSING
    bank.server.context.faults = Faults()
    payoff = await make.quote(user, QuoteKind.PAYOFF, plan_id=plan)
    assert (await make.confirm(user, payoff.quote_id)).outcome is Outcome.SUCCEEDED
    assert (await make.plan_row(plan)).closed_at is not None

    declined = Faults(declines=[Decline(FailureReason.RISK_REFUSED)])
    while await bank.server.store.settle_due(datetime.now(UTC) + timedelta(hours=2), declined):
        pass
    assert (await reconcile(db, now + timedelta(minutes=5))).settled == 1

    assert await _statuses(db) == ["failed", "succeeded"]
    assert (await make.plan_row(plan)).closed_at is None
    async with db.uow() as uow:
        owed = (await get_plan(uow, user, plan, now)).outstanding
    assert owed == period.amount


async def test_two_checks_of_a_payment_never_received_do_one_thing(
    db: Database, bank: RunningBank, make: Any, now: datetime
) -> None:
    """Two sweeps (two instances, one with a stale claim) check the same payment the
    provider never got, one thinking it an hour old: only one of them acts — it is
    submitted once, or failed with nothing debited, never both."""
    user, card = await make.user(balance="5000.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    bank.server.context.faults = Faults(outage=1)
    assert (await make.confirm(user, quote.quote_id)).outcome is Outcome.PROCESSING

    async def one(at: datetime) -> str:
        async with db.uow() as uow:
            [payment_id] = await uow.session.scalars(select(PaymentRow.id))
            return await check(uow, payment_id, at)

    outcomes = await asyncio.gather(one(now + timedelta(minutes=1)), one(now + timedelta(hours=2)))

    assert "settled" in outcomes  # the one that acted; the other saw it done, or stood by
    assert set(outcomes) <= {"settled", "processing"}
    [status] = await _statuses(db)
    debited = Decimal("5000.00") - await make.balance(card)
    assert (status, debited) in {("succeeded", quote.amount), ("failed", Decimal(0))}
