"""Quotes and confirmations against a real database: amounts, allocation, failures, expiry,
stale quotes and the idempotency key (SPEC §3 payments and quotes, §6.2, §7)."""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.db.models import (
    AllocationLineRow,
    InstallmentRow,
    PaymentRow,
    QuoteRow,
    ReminderLogRow,
    User,
)
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.domain.status import InstallmentStatus
from core.domain.terms import PayoffPolicy
from core.gateway.bank.embedded import RunningBank
from core.gateway.bank.faults import Decline, Faults
from core.gateway.bank.ledger import FailureReason
from core.services.confirm import confirm_quote
from core.services.errors import (
    AbovePayoff,
    InvalidInput,
    MethodRemoved,
    NoPaymentMethod,
    NotFound,
    NothingToPay,
    Overpayment,
    PayoffNotAllowed,
    QuoteClosed,
)
from core.services.history import list_payments
from core.services.methods import MethodKind, add_method, remove_method
from core.services.overview import status_overview
from core.services.payment_receipts import RECEIPT_GRACE, PaymentReceipt, receipt_shown
from core.services.payments import Outcome
from core.services.plans import get_plan
from core.services.quotes import QuoteRequest, create_quote, get_quote, requote_with_method
from core.services.reminder_sweep import ReminderBatch, claim_due_reminders

TODAY = date(2026, 11, 22)
FEE_BILL = Decimal("107.20")  # period 1 of 1200.00 over 12 at 0.6 %: 100.00 + 7.20 fee
FEE_TOTAL = Decimal("1286.40")  # 1200.00 + 12 × 7.20


async def _outstanding(db: Database, user: int, now: datetime) -> Decimal:
    async with db.uow() as uow:
        return (await status_overview(uow, user, now)).summary.outstanding


async def _payments(db: Database) -> list[dict[str, Any]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(PaymentRow).order_by(PaymentRow.id))
        return [
            {
                "id": r.id,
                "user_id": r.user_id,
                "key": r.idempotency_key,
                "quote_id": r.quote_id,
                "method_id": r.method_id,
                "plan_id": r.plan_id,
                "kind": r.kind,
                "amount": r.amount,
                "status": r.status,
                "failure_reason": r.failure_reason,
                "paid_on": r.paid_on,
                "created_at": r.created_at,
                "completed_at": r.completed_at,
            }
            for r in rows
        ]


async def _lines(db: Database, payment_id: int | None = None) -> list[tuple[Any, ...]]:
    async with db.uow() as uow:
        query = select(AllocationLineRow, InstallmentRow.plan_id, InstallmentRow.period).join(
            InstallmentRow, InstallmentRow.id == AllocationLineRow.installment_id
        )
        if payment_id is not None:
            query = query.where(AllocationLineRow.payment_id == payment_id)
        rows = (await uow.session.execute(query.order_by(AllocationLineRow.id))).all()
        return [
            (plan_id, period, line.penalty, line.fee, line.interest, line.principal)
            for line, plan_id, period in rows
        ]


def _total(lines: list[tuple[Any, ...]]) -> Decimal:
    return sum((sum(line[2:], Decimal(0)) for line in lines), Decimal("0.00"))


@pytest.mark.parametrize(
    ("kind", "amount", "expected"),
    [
        (QuoteKind.BILL, None, FEE_BILL),
        (QuoteKind.PERIOD, None, FEE_BILL),
        (QuoteKind.PAYOFF, None, Decimal("1207.20")),  # future fees waived
        (QuoteKind.CUSTOM, "50.00", Decimal("50.00")),
    ],
    ids=["bill", "period", "payoff", "custom"],
)
async def test_confirm_each_kind(
    db: Database, make: Any, now: datetime, kind: QuoteKind, amount: str | None, expected: Decimal
) -> None:
    user, card = await make.user(balance="2000.00")
    plan = await make.plan(user, make.fee_plan())
    before = await _outstanding(db, user, now)
    assert before == FEE_TOTAL
    plan_id = plan if kind in (QuoteKind.PERIOD, QuoteKind.PAYOFF) else None

    quote = await make.quote(user, kind, plan_id=plan_id, amount=amount)
    assert quote.amount == expected
    assert quote.method_id == card
    assert quote.as_of == TODAY
    assert quote.expires_at == now + timedelta(minutes=10)
    assert quote.breakdown.total == expected
    assert await make.count(PaymentRow) == 0  # a quote moves no money

    outcome = await make.confirm(user, quote.quote_id)

    assert outcome.outcome is Outcome.SUCCEEDED
    assert outcome.amount == expected
    assert outcome.repeated is False
    assert outcome.failure_reason is None
    assert await make.balance(card) == Decimal("2000.00") - expected
    assert outcome.method_balance == Decimal("2000.00") - expected
    (payment,) = await _payments(db)
    assert payment["id"] == outcome.payment_id
    assert payment["status"] == "succeeded"
    assert payment["amount"] == expected
    assert payment["key"] == f"quote:{quote.quote_id}"
    assert payment["quote_id"] == quote.quote_id
    assert payment["method_id"] == card
    assert payment["plan_id"] == plan_id
    assert payment["kind"] == ("payoff" if kind is QuoteKind.PAYOFF else "manual")
    assert payment["paid_on"] == TODAY
    assert payment["created_at"] == now
    assert payment["completed_at"] == now
    lines = await _lines(db, outcome.payment_id)
    assert _total(lines) == expected
    assert [(line[0], line[1]) for line in lines][:1] == [(plan, 1)]  # oldest first
    assert await make.quote_status(quote.quote_id) == "used"
    after = await _outstanding(db, user, now)
    assert outcome.outstanding_after == after
    if kind is QuoteKind.PAYOFF:
        assert after == 0
    else:
        assert after == before - expected


async def test_custom_amount_pays_fee_before_principal(db: Database, make: Any) -> None:
    user, _ = await make.user()
    plan = await make.plan(user, make.fee_plan())
    outcome = await make.pay(user, QuoteKind.CUSTOM, amount="150.00")
    assert outcome.outcome is Outcome.SUCCEEDED
    # Period 1 in full (fee, then principal), the remainder to period 2's fee, then principal.
    assert await _lines(db, outcome.payment_id) == [
        (plan, 1, 0, Decimal("7.20"), 0, Decimal("100.00")),
        (plan, 2, 0, Decimal("7.20"), 0, Decimal("35.60")),
    ]


async def test_penalty_is_paid_first(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    plan = await make.plan(user, make.free_plan(first_due=date(2026, 11, 10)))
    quote = await make.quote(user, QuoteKind.BILL)
    # Period 1 (100.00) is 12 days overdue: 0.60 penalty; period 2 is the current period.
    assert quote.amount == Decimal("200.60")
    assert quote.breakdown.penalty == Decimal("0.60")
    outcome = await make.pay(user, QuoteKind.CUSTOM, amount="50.00")
    assert await _lines(db, outcome.payment_id) == [
        (plan, 1, Decimal("0.60"), 0, 0, Decimal("49.40")),
    ]
    async with db.uow() as uow:
        view = await get_plan(uow, user, plan, now)
    first = view.installments[0]
    assert first.owed.total == Decimal("50.60")
    assert first.paid.penalty == Decimal("0.60")


async def test_bill_spans_plans_oldest_first(db: Database, make: Any) -> None:
    user, card = await make.user(balance="1000.00")
    newer = await make.plan(user, make.fee_plan())  # due today
    older = await make.plan(user, make.free_plan(first_due=date(2026, 11, 10)))  # overdue
    outcome = await make.pay(user, QuoteKind.BILL)
    # The bill holds every open installment (overdue, and each plan's current period),
    # allocated by due date: older 1 (11-10), newer 1 (11-22), older 2 (12-10).
    assert outcome.amount == Decimal("200.60") + FEE_BILL
    assert await _lines(db, outcome.payment_id) == [
        (older, 1, Decimal("0.60"), 0, 0, Decimal("100.00")),
        (newer, 1, 0, Decimal("7.20"), 0, Decimal("100.00")),
        (older, 2, 0, 0, 0, Decimal("100.00")),
    ]
    assert await make.balance(card) == Decimal("1000.00") - outcome.amount


async def test_payoff_closes_the_plan_and_waives_future_interest(
    db: Database, make: Any, now: datetime
) -> None:
    # 12,000 at 12 % a year from 2026-11-07; on 2026-11-22 15 of period 1's 30 days elapsed.
    user, card = await make.user(balance="20000.00")
    plan = await make.plan(user, make.annuity_plan(start_date=date(2026, 11, 7)))
    async with db.uow() as uow:
        before = await get_plan(uow, user, plan, now)
    assert before.installments[0].charged.interest == Decimal("120.00")
    assert sum(i.charged.interest for i in before.installments) > Decimal("700")

    quote = await make.quote(user, QuoteKind.PAYOFF, plan_id=plan)
    assert quote.amount == Decimal("12060.00")  # principal + 15/30 of 120.00
    assert quote.breakdown.interest == Decimal("60.00")
    assert quote.breakdown.principal == Decimal("12000.00")
    outcome = await make.confirm(user, quote.quote_id)

    assert outcome.outcome is Outcome.SUCCEEDED
    assert outcome.outstanding_after == 0
    assert await make.balance(card) == Decimal("7940.00")
    row = await make.plan_row(plan)
    assert row.closed_at == now
    async with db.uow() as uow:
        after = await get_plan(uow, user, plan, now)
        overview = await status_overview(uow, user, now)
    assert after.outstanding == 0
    assert {i.status for i in after.installments} == {InstallmentStatus.PAID}
    assert [i.charged.interest for i in after.installments] == [Decimal("60.00")] + [0] * 11
    assert sum(i.paid.total for i in after.installments) == Decimal("12060.00")
    assert overview.open_plans == 0
    assert overview.summary.outstanding == 0
    async with db.uow() as uow:
        with pytest.raises(NothingToPay):
            await create_quote(uow, user, QuoteRequest(QuoteKind.PAYOFF, plan), now)


@pytest.mark.parametrize(
    ("policy", "fee_rate", "expected"),
    [
        (PayoffPolicy.WAIVE_FUTURE_FEES, "0", Decimal("1207.20")),
        (PayoffPolicy.CHARGE_FUTURE_FEES, "0", FEE_TOTAL),
        (PayoffPolicy.EARLY_REPAYMENT_FEE, "0.01", Decimal("1207.20") + Decimal("11.00")),
    ],
)
async def test_payoff_policies_for_fee_plans(
    db: Database, make: Any, now: datetime, policy: PayoffPolicy, fee_rate: str, expected: Decimal
) -> None:
    user, card = await make.user(balance="2000.00")
    draft = make.fee_plan(payoff_policy=policy, early_repayment_fee_rate=Decimal(fee_rate))
    plan = await make.plan(user, draft)
    outcome = await make.pay(user, QuoteKind.PAYOFF, plan_id=plan)
    assert outcome.outcome is Outcome.SUCCEEDED
    assert outcome.amount == expected
    assert await make.balance(card) == Decimal("2000.00") - expected
    assert (await make.plan_row(plan)).closed_at == now
    assert _total(await _lines(db, outcome.payment_id)) == expected
    async with db.uow() as uow:
        view = await get_plan(uow, user, plan, now)
    assert view.outstanding == 0
    assert sum(i.charged.fee for i in view.installments) == expected - Decimal("1200.00")


async def test_forbidden_payoff_says_why(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    plan = await make.plan(
        user,
        make.fee_plan(
            payoff_policy=PayoffPolicy.FORBIDDEN, payoff_forbidden_reason="promotional plan"
        ),
    )
    async with db.uow() as uow:
        with pytest.raises(PayoffNotAllowed) as caught:
            await create_quote(uow, user, QuoteRequest(QuoteKind.PAYOFF, plan), now)
    assert caught.value.reason == "promotional plan"
    assert await make.count(QuoteRow) == 0


async def test_overpayment_is_refused_before_any_debit(
    db: Database, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="5000.00")
    plan = await make.plan(user, make.fee_plan())
    async with db.uow() as uow:
        with pytest.raises(Overpayment) as caught:
            await create_quote(
                uow, user, QuoteRequest(QuoteKind.CUSTOM, amount=FEE_TOTAL + Decimal("0.01")), now
            )
    assert caught.value.owed == FEE_TOTAL
    # Everything owed, future fees included, reaches what paying off costs today (period
    # 1's principal and fee are due, the rest is principal): the payoff is offered
    # instead (issue 11 §2). Before, this paid the 11 future fees, never refunded.
    payoff = Decimal("1207.20")  # 1200.00 + 7.20
    for amount in (FEE_TOTAL, payoff):
        async with db.uow() as uow:
            with pytest.raises(AbovePayoff) as above:
                await create_quote(uow, user, QuoteRequest(QuoteKind.CUSTOM, amount=amount), now)
        assert (above.value.plan_id, above.value.payoff) == (plan, payoff)
    assert await make.balance(card) == Decimal("5000.00")
    assert await make.count(PaymentRow) == 0
    assert await make.count(QuoteRow) == 0
    below = await make.quote(user, QuoteKind.CUSTOM, amount=payoff - Decimal("0.01"))
    assert below.amount == payoff - Decimal("0.01")
    paid_off = await make.pay(user, QuoteKind.PAYOFF, plan_id=plan)
    assert paid_off.outcome is Outcome.SUCCEEDED
    assert paid_off.amount == payoff
    assert paid_off.outstanding_after == 0


async def test_custom_quote_that_would_now_overpay_is_not_debited(db: Database, make: Any) -> None:
    user, card = await make.user(balance="5000.00")
    await make.plan(user, make.fee_plan())
    # ¥1,200.00 is below the payoff (¥1,207.20) when quoted; after ¥50 more is paid it
    # reaches the payoff (¥1,157.20), and is refused as a payment (issue 11 §2).
    everything = await make.quote(user, QuoteKind.CUSTOM, amount="1200.00")
    assert (await make.pay(user, QuoteKind.CUSTOM, amount="50.00")).outcome is Outcome.SUCCEEDED
    outcome = await make.confirm(user, everything.quote_id)
    assert outcome.outcome is Outcome.CHANGED
    assert outcome.payment_id is None
    assert await make.quote_status(everything.quote_id) == "stale"
    assert await make.balance(card) == Decimal("4950.00")
    assert [p["amount"] for p in await _payments(db)] == [Decimal("50.00")]


async def test_quote_refusals(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user()
    other, their_card = await make.user()
    theirs = await make.plan(other, make.fee_plan())
    async with db.uow() as uow:
        with pytest.raises(NothingToPay):  # no plans at all
            await create_quote(uow, user, QuoteRequest(QuoteKind.BILL), now)
    plan = await make.plan(user, make.fee_plan(first_due=date(2027, 1, 10)))  # nothing due yet
    cases: list[tuple[QuoteRequest, int | None, type[Exception]]] = [
        (QuoteRequest(QuoteKind.BILL), None, NothingToPay),
        (QuoteRequest(QuoteKind.PERIOD, theirs), None, NotFound),
        (QuoteRequest(QuoteKind.PAYOFF, 99999), None, NotFound),
        (QuoteRequest(QuoteKind.BILL, plan), their_card, NotFound),
        (QuoteRequest(QuoteKind.PERIOD), None, InvalidInput),
        (QuoteRequest(QuoteKind.CUSTOM), None, InvalidInput),
        (QuoteRequest(QuoteKind.CUSTOM, amount=Decimal("0")), None, InvalidInput),
        (QuoteRequest(QuoteKind.CUSTOM, amount=Decimal("-5.00")), None, InvalidInput),
        (QuoteRequest(QuoteKind.CUSTOM, amount=Decimal("1.005")), None, InvalidInput),
        (QuoteRequest(QuoteKind.CUSTOM, amount=Decimal("NaN")), None, InvalidInput),
    ]
    for request, method_id, error in cases:
        async with db.uow() as uow:
            with pytest.raises(error):
                await create_quote(uow, user, request, now, method_id=method_id)
    assert await make.count(QuoteRow) == 0
    # Paying ahead is possible even when nothing is due.
    ahead = await make.quote(user, QuoteKind.PERIOD, plan_id=plan)
    assert ahead.amount == FEE_BILL
    assert ahead.method_id == card


async def test_quote_needs_a_usable_method(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user()
    await make.plan(user, make.fee_plan())
    async with db.uow() as uow:
        await remove_method(uow, user, card, now)
    async with db.uow() as uow:
        with pytest.raises(NoPaymentMethod):
            await create_quote(uow, user, QuoteRequest(QuoteKind.BILL), now)
    async with db.uow() as uow:
        with pytest.raises(MethodRemoved):
            await create_quote(uow, user, QuoteRequest(QuoteKind.BILL), now, method_id=card)
    assert await make.count(QuoteRow) == 0


async def test_someone_elses_quote_is_not_found(db: Database, make: Any, now: datetime) -> None:
    owner, owner_card = await make.user(balance="500.00")
    intruder, intruder_card = await make.user(balance="500.00")
    await make.plan(owner, make.fee_plan())
    await make.plan(intruder, make.fee_plan())
    quote = await make.quote(owner, QuoteKind.BILL)
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await confirm_quote(uow, intruder, quote.quote_id, now)
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await confirm_quote(uow, owner, "no-such-quote", now)
    assert await make.count(PaymentRow) == 0
    assert await make.balance(owner_card) == Decimal("500.00")
    assert await make.balance(intruder_card) == Decimal("500.00")
    assert await make.quote_status(quote.quote_id) == "open"
    assert (await make.confirm(owner, quote.quote_id)).outcome is Outcome.SUCCEEDED


async def test_expired_quote_offers_a_fresh_one(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    later = now + timedelta(minutes=10)  # expires_at itself is too late

    outcome = await make.confirm(user, quote.quote_id, now=later)

    assert outcome.outcome is Outcome.EXPIRED
    assert outcome.payment_id is None
    assert outcome.fresh_quote is not None
    fresh = outcome.fresh_quote
    assert fresh.quote_id != quote.quote_id
    assert fresh.amount == quote.amount
    assert fresh.method_id == card
    assert fresh.expires_at == later + timedelta(minutes=10)
    assert await make.count(PaymentRow) == 0
    assert await make.balance(card) == Decimal("500.00")
    assert await make.quote_status(quote.quote_id) == "expired"
    async with db.uow() as uow:
        with pytest.raises(QuoteClosed):
            await confirm_quote(uow, user, quote.quote_id, later)
    paid = await make.confirm(user, fresh.quote_id, now=later + timedelta(minutes=1))
    assert paid.outcome is Outcome.SUCCEEDED
    assert await make.balance(card) == Decimal("500.00") - FEE_BILL
    assert await make.count(PaymentRow) == 1


async def test_quote_just_before_expiry_is_paid(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    outcome = await make.confirm(user, quote.quote_id, now=quote.expires_at - timedelta(seconds=1))
    assert outcome.outcome is Outcome.SUCCEEDED


async def test_changed_quote_offers_a_fresh_one(db: Database, make: Any) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    bill = await make.quote(user, QuoteKind.BILL)
    assert bill.amount == FEE_BILL
    other = await make.pay(user, QuoteKind.CUSTOM, amount="50.00")  # lands in between
    assert other.outcome is Outcome.SUCCEEDED

    outcome = await make.confirm(user, bill.quote_id)

    assert outcome.outcome is Outcome.CHANGED
    assert outcome.payment_id is None
    assert outcome.fresh_quote is not None
    assert outcome.fresh_quote.amount == FEE_BILL - Decimal("50.00")
    assert await make.quote_status(bill.quote_id) == "stale"
    assert await make.balance(card) == Decimal("450.00")
    assert len(await _payments(db)) == 1
    paid = await make.confirm(user, outcome.fresh_quote.quote_id)
    assert paid.outcome is Outcome.SUCCEEDED
    assert paid.amount == Decimal("57.20")
    assert await make.balance(card) == Decimal("500.00") - FEE_BILL


async def test_quote_for_a_bill_already_paid_is_not_debited(db: Database, make: Any) -> None:
    user, card = await make.user(balance="5000.00")
    plan = await make.plan(user, make.fee_plan())
    bill = await make.quote(user, QuoteKind.BILL)
    payoff = await make.pay(user, QuoteKind.PAYOFF, plan_id=plan)
    assert payoff.outcome is Outcome.SUCCEEDED
    outcome = await make.confirm(user, bill.quote_id)
    assert outcome.outcome is Outcome.CHANGED
    assert outcome.payment_id is None
    assert outcome.fresh_quote is None
    assert await make.quote_status(bill.quote_id) == "stale"
    assert await make.balance(card) == Decimal("5000.00") - payoff.amount
    assert len(await _payments(db)) == 1


async def test_insufficient_balance_fails_cleanly(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user(balance="100.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)

    outcome = await make.confirm(user, quote.quote_id)

    assert outcome.outcome is Outcome.FAILED
    assert outcome.failure_reason == "insufficient_balance"
    assert outcome.amount == FEE_BILL
    assert outcome.method_balance == Decimal("100.00")
    assert outcome.outstanding_after == FEE_TOTAL
    assert await make.balance(card) == Decimal("100.00")
    (payment,) = await _payments(db)
    assert (payment["id"], payment["status"], payment["failure_reason"]) == (
        outcome.payment_id,
        "failed",
        "insufficient_balance",
    )
    assert await _lines(db) == []
    assert await make.quote_status(quote.quote_id) == "failed"
    assert await _outstanding(db, user, now) == FEE_TOTAL
    async with db.uow() as uow:
        page = await list_payments(uow, user)
    assert [(p.payment_id, p.status, p.failure_reason, p.allocations) for p in page.items] == [
        (outcome.payment_id, "failed", "insufficient_balance", ())
    ]
    again = await make.confirm(user, quote.quote_id)  # same key, same outcome
    assert (again.outcome, again.payment_id, again.repeated) == (
        Outcome.FAILED,
        outcome.payment_id,
        True,
    )
    assert again.failure_reason == "insufficient_balance"
    assert await make.count(PaymentRow) == 1


async def test_removed_method_is_never_debited(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user(balance="500.00")
    spare = await make.method(user, balance="500.00", label="建设银行", last4="9999")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL, method_id=spare)
    async with db.uow() as uow:
        await remove_method(uow, user, spare, now)

    outcome = await make.confirm(user, quote.quote_id)

    assert outcome.outcome is Outcome.FAILED
    assert outcome.failure_reason == "method_removed"
    assert await make.balance(spare) == Decimal("500.00")
    assert await make.balance(card) == Decimal("500.00")
    (payment,) = await _payments(db)
    assert (payment["status"], payment["failure_reason"], payment["method_id"]) == (
        "failed",
        "method_removed",
        spare,
    )
    assert await _lines(db) == []


async def test_gateway_unavailable_fails_cleanly(
    db: Database, bank: RunningBank, make: Any, now: datetime
) -> None:
    """The provider declines the debit as unavailable (its final answer, unlike an outage
    that answers nothing): failed, nothing debited or allocated, the debt as it was."""
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    bank.server.context.faults = Faults(declines=[Decline(FailureReason.PROVIDER_UNAVAILABLE)])
    outcome = await make.confirm(user, quote.quote_id)
    assert outcome.outcome is Outcome.FAILED
    assert outcome.failure_reason == "gateway_unavailable"
    assert await make.balance(card) == Decimal("500.00")
    (payment,) = await _payments(db)
    assert (payment["status"], payment["failure_reason"]) == ("failed", "gateway_unavailable")
    assert await _lines(db) == []
    assert await _outstanding(db, user, now) == FEE_TOTAL


async def test_same_quote_twice_debits_once(db: Database, make: Any) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    first = await make.confirm(user, quote.quote_id)
    second = await make.confirm(user, quote.quote_id)
    third = await make.confirm(user, quote.quote_id, now=quote.expires_at + timedelta(hours=1))

    assert first.outcome is Outcome.SUCCEEDED
    assert first.repeated is False
    for again in (second, third):
        assert again.outcome is Outcome.SUCCEEDED
        assert again.repeated is True
        assert again.payment_id == first.payment_id
        assert again.amount == first.amount
        assert again.method_balance == Decimal("500.00") - FEE_BILL
    assert await make.balance(card) == Decimal("500.00") - FEE_BILL
    assert await make.count(PaymentRow) == 1
    assert _total(await _lines(db)) == FEE_BILL


async def test_expired_quote_with_nothing_left_to_pay_offers_no_fresh_quote(
    db: Database, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="5000.00")
    plan = await make.plan(user, make.fee_plan())
    bill = await make.quote(user, QuoteKind.BILL)
    payoff = await make.pay(user, QuoteKind.PAYOFF, plan_id=plan)
    assert payoff.outcome is Outcome.SUCCEEDED
    outcome = await make.confirm(user, bill.quote_id, now + timedelta(hours=1))
    assert outcome.outcome is Outcome.EXPIRED
    assert outcome.fresh_quote is None
    assert outcome.payment_id is None
    assert await make.quote_status(bill.quote_id) == "expired"
    assert await make.balance(card) == Decimal("5000.00") - payoff.amount
    assert len(await _payments(db)) == 1


async def test_requote_with_another_method_keeps_the_choice(
    db: Database, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="5000.00")
    other, others_card = await make.user(balance="10.00")
    plan = await make.plan(user, make.fee_plan())
    first = await make.quote(user, QuoteKind.PERIOD, plan_id=plan)
    async with db.uow() as uow:
        spare = await add_method(uow, user, MethodKind.ALIPAY, "Alipay", None, now)
    async with db.uow() as uow:
        again = await requote_with_method(uow, user, first.quote_id, spare.method_id, now)
    assert again.quote_id != first.quote_id
    assert again.method_id == spare.method_id != first.method_id == card
    assert again.request == first.request
    assert again.amount == first.amount
    async with db.uow() as uow:
        assert (await get_quote(uow, user, again.quote_id)) == again
        with pytest.raises(NotFound):
            await get_quote(uow, other, again.quote_id)
    async with db.uow() as uow:
        with pytest.raises(NotFound):  # someone else's quote
            await requote_with_method(uow, other, first.quote_id, spare.method_id, now)
    async with db.uow() as uow:
        with pytest.raises(NotFound):  # someone else's method
            await requote_with_method(uow, user, first.quote_id, others_card, now)


async def _receipt_rows(db: Database) -> list[ReminderLogRow]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(ReminderLogRow)
            .where(ReminderLogRow.kind == "receipt")
            .order_by(ReminderLogRow.id)
        )
        found = list(rows)
        uow.session.expunge_all()  # keep the loaded values after the unit of work ends
        return found


async def _shown(db: Database, user: int, payment_id: int | None) -> bool:
    assert payment_id is not None
    async with db.uow() as uow:
        return await receipt_shown(uow, user, payment_id)


async def _receipts_sent(db: Database, at: datetime) -> list[ReminderBatch]:
    async with db.uow() as uow:
        batches = await claim_due_reminders(uow, at)
    return [b for b in batches if b.receipt is not None]


async def test_a_confirm_queues_its_receipt_with_the_payment(
    db: Database, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)

    outcome = await make.confirm(user, quote.quote_id)

    [row] = await _receipt_rows(db)
    assert (row.user_id, row.offset, row.status, row.attempts) == (
        user,
        outcome.payment_id,
        "pending",
        0,
    )
    assert row.fire_at == now + RECEIPT_GRACE  # the reply's time to show it first
    assert row.payload is not None
    assert PaymentReceipt.from_payload(row.payload) == PaymentReceipt(
        payment_id=outcome.payment_id or 0,
        succeeded=True,
        amount=FEE_BILL,
        failure_reason=None,
        method_kind="bank_card",
        method_label="招商银行",
        method_last4="1234",
        balance=Decimal("500.00") - FEE_BILL,
        outstanding=FEE_TOTAL - FEE_BILL,
        confirmed_at=now,
    )
    async with db.uow() as uow:
        payer = await uow.session.get(User, user)
        assert payer is not None
        assert payer.next_sweep_at <= row.fire_at  # the sweep looks at the user by then

    again = await make.confirm(user, quote.quote_id)  # the same tap again: nothing more
    assert again.repeated is True
    assert len(await _receipt_rows(db)) == 1
    assert await make.balance(card) == Decimal("500.00") - FEE_BILL


async def test_a_failed_confirm_queues_the_failure(db: Database, make: Any) -> None:
    user, _ = await make.user(balance="100.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)

    outcome = await make.confirm(user, quote.quote_id)

    assert outcome.outcome is Outcome.FAILED
    [row] = await _receipt_rows(db)
    assert row.payload is not None
    receipt = PaymentReceipt.from_payload(row.payload)
    assert (receipt.payment_id, receipt.succeeded, receipt.failure_reason) == (
        outcome.payment_id,
        False,
        "insufficient_balance",
    )
    assert (receipt.balance, receipt.outstanding) == (Decimal("100.00"), FEE_TOTAL)


async def test_an_expired_quote_queues_no_receipt(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    outcome = await make.confirm(user, quote.quote_id, now=quote.expires_at)
    assert outcome.outcome is Outcome.EXPIRED
    assert await _receipt_rows(db) == []


async def test_a_receipt_the_reply_showed_is_not_sent(
    db: Database, make: Any, now: datetime
) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    outcome = await make.confirm(user, quote.quote_id)

    assert await _shown(db, user, outcome.payment_id) is True
    assert await _shown(db, user, outcome.payment_id) is False  # nothing left to withhold
    [row] = await _receipt_rows(db)
    assert row.status == "superseded"
    assert await _receipts_sent(db, now + RECEIPT_GRACE + timedelta(seconds=1)) == []


async def test_a_receipt_no_reply_showed_is_sent_after_the_grace(
    db: Database, make: Any, now: datetime, caplog: pytest.LogCaptureFixture
) -> None:
    user, _ = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    outcome = await make.confirm(user, quote.quote_id)

    assert await _receipts_sent(db, now + RECEIPT_GRACE - timedelta(seconds=1)) == []
    with caplog.at_level(logging.WARNING, "core.services.reminder_sweep"):
        [batch] = await _receipts_sent(db, now + RECEIPT_GRACE)
    assert batch.user_id == user
    assert isinstance(batch.receipt, PaymentReceipt)
    assert batch.receipt.payment_id == outcome.payment_id
    assert batch.receipt.amount == FEE_BILL
    assert f"receipt of payment {outcome.payment_id}" in caplog.text
    assert "may go out twice" in caplog.text
    assert await _shown(db, user, outcome.payment_id) is False  # the sweep has it now
