"""Auto-repay receipts as an outbox: a receipt row is written in the payment's own
transaction, claimed by the sweep as its own message, and then sent once — released after
a flood limit or a timeout, reclaimed after a lost lease, dropped when a day old."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.db.models import PaymentRow, ReminderLogRow
from core.db.uow import Database
from core.services.autopay_sweep import AutopayReceipt, run_due_autopays
from core.services.payment_flow import PAYMENT_LEASE
from core.services.reconcile import reconcile, run_autopays
from core.services.reminder_sweep import ReminderBatch, claim_due_reminders
from core.services.reminders import update_reminder_settings
from core.services.send_outcomes import record_outcome, release
from core.services.users import set_active

DUE = date(2026, 12, 5)
TEN = time(10, 0)
DUE_TEN = datetime(2026, 12, 5, 2, 0, 30, tzinfo=UTC)  # 10:00:30 in Shanghai
INSTALLMENT = Decimal("107.20")  # 1200.00 / 12 + the 0.6 % fee
LEASE = timedelta(minutes=2)
SWEEP_LOG = "core.services.reminder_sweep"


async def _autopay(db: Database, now: datetime = DUE_TEN) -> list[AutopayReceipt]:
    return await run_autopays(db, now, TEN)


async def _sweep(db: Database, now: datetime) -> list[ReminderBatch]:
    async with db.uow() as uow:
        return await claim_due_reminders(uow, now, lease=LEASE)


async def _receipts(db: Database, now: datetime) -> list[ReminderBatch]:
    return [b for b in await _sweep(db, now) if b.receipt is not None]


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


async def _payments(db: Database) -> list[PaymentRow]:
    async with db.uow() as uow:
        found = list(await uow.session.scalars(select(PaymentRow).order_by(PaymentRow.id)))
        uow.session.expunge_all()
        return found


async def _autopaying_user(make: Any, balance: str = "500.00") -> tuple[int, int]:
    user, card = await make.user(balance=balance)
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    return user, card


async def test_a_debit_queues_one_pending_receipt_with_its_payment(db: Database, make: Any) -> None:
    user, card = await _autopaying_user(make)

    [receipt] = await _autopay(db)

    [payment] = await _payments(db)
    [row] = await _receipt_rows(db)
    assert (payment.status, payment.amount) == ("succeeded", INSTALLMENT)
    assert (row.user_id, row.offset, row.status, row.fire_at, row.attempts) == (
        user,
        payment.id,
        "pending",
        DUE_TEN,
        0,
    )
    assert (row.lease_until, row.message_id, row.sent_at) == (None, None, None)
    assert row.payload == receipt.to_payload()
    assert row.payload is not None
    assert row.payload["amount"] == "107.20"
    assert row.payload["succeeded"] is True
    assert row.payload["failure_reason"] is None
    assert Decimal(row.payload["balance"]) == Decimal("500.00") - INSTALLMENT
    assert AutopayReceipt.from_payload(row.payload) == receipt
    assert await make.balance(card) == Decimal("500.00") - INSTALLMENT
    # Run again at the same time and later that day: nothing new is debited or queued.
    assert await _autopay(db, DUE_TEN + timedelta(minutes=1)) == []
    assert await _autopay(db, datetime(2026, 12, 5, 10, 0, 30, tzinfo=UTC)) == []
    assert len(await _receipt_rows(db)) == 1


async def test_a_failed_debit_queues_a_failure_receipt(db: Database, make: Any) -> None:
    user, _ = await _autopaying_user(make, balance="50.00")

    [receipt] = await _autopay(db)

    [payment] = await _payments(db)
    [row] = await _receipt_rows(db)
    assert (payment.status, payment.failure_reason) == ("failed", "insufficient_balance")
    assert (row.user_id, row.offset, row.status) == (user, payment.id, "pending")
    assert row.payload == receipt.to_payload()
    assert row.payload is not None
    assert (row.payload["succeeded"], row.payload["failure_reason"]) == (
        False,
        "insufficient_balance",
    )
    assert row.payload["amount"] == "107.20"
    assert row.payload["last_attempt"] is False


async def test_a_crash_before_the_submit_is_settled_once_by_the_next_check(
    db: Database, make: Any
) -> None:
    """The sweep committed the attempt's intent and died before calling the provider: the
    next sweep after the lease submits it under its reference, once, with one receipt."""
    _, card = await _autopaying_user(make)
    async with db.uow() as uow:
        [intent] = (await run_due_autopays(uow, DUE_TEN, TEN)).intents  # then it dies
    assert [p.status for p in await _payments(db)] == ["pending"]
    assert await _receipt_rows(db) == []
    assert await make.balance(card) == Decimal("500.00")

    assert await _autopay(db, DUE_TEN + timedelta(seconds=10)) == []  # no second attempt
    later = DUE_TEN + PAYMENT_LEASE + timedelta(seconds=1)
    assert (await reconcile(db, later)).settled == 1
    assert (await reconcile(db, later + timedelta(minutes=5))).checked == 0

    [payment] = await _payments(db)
    assert (payment.id, payment.status) == (intent, "succeeded")
    [row] = await _receipt_rows(db)
    assert row.offset == payment.id
    assert await make.balance(card) == Decimal("500.00") - payment.amount


async def test_a_claimed_receipt_is_its_own_message_and_sent_once(db: Database, make: Any) -> None:
    user, _ = await _autopaying_user(make)
    [receipt] = await _autopay(db)
    [row] = await _receipt_rows(db)

    [batch] = await _sweep(db, DUE_TEN)

    assert batch.receipt == receipt
    assert (batch.user_id, batch.items, batch.receipt_log_id) == (user, (), row.id)
    assert batch.log_ids == [row.id]
    [claimed] = await _receipt_rows(db)
    assert (claimed.status, claimed.lease_until) == ("claimed", DUE_TEN + LEASE)
    async with db.uow() as uow:
        await record_outcome(uow, batch.log_ids, DUE_TEN, message_id=501)
    for later in (timedelta(minutes=1), LEASE + timedelta(seconds=1), timedelta(hours=3)):
        assert await _sweep(db, DUE_TEN + later) == []
    [sent] = await _receipt_rows(db)
    assert (sent.status, sent.message_id, sent.sent_at, sent.lease_until) == (
        "sent",
        501,
        DUE_TEN,
        None,
    )


async def test_the_first_claim_of_a_receipt_is_one_attempt_and_no_reclaim(
    db: Database, make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A pending row taken for the first time has been claimed once, and it is not a
    lease running out: no "may go out twice" warning."""
    await _autopaying_user(make)
    await _autopay(db)
    caplog.set_level(logging.WARNING, logger=SWEEP_LOG)

    [batch] = await _sweep(db, DUE_TEN)

    [row] = await _receipt_rows(db)
    assert [r.getMessage() for r in caplog.records if r.name == SWEEP_LOG] == []
    assert (batch.attempts, row.attempts) == (1, 1)


async def test_two_receipts_and_a_reminder_are_three_messages(db: Database, make: Any) -> None:
    """A failed debit leaves the installment due, so the due-date reminder goes out too."""
    user, _ = await make.user(balance="50.00")
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True, title="Phone"))
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True, title="Laptop"))
    receipts = await _autopay(db)
    assert sorted(r.plan_title for r in receipts) == ["Laptop", "Phone"]

    batches = await _sweep(db, DUE_TEN)

    assert len(batches) == 3
    [reminder] = [b for b in batches if b.receipt is None]
    assert sorted(i.plan_title for i in reminder.items) == ["Laptop", "Phone"]
    assert reminder.receipt_log_id is None
    by_receipt = [b for b in batches if b.receipt is not None]
    assert sorted(b.receipt.plan_title for b in by_receipt if b.receipt) == ["Laptop", "Phone"]
    assert all(b.items == () and len(b.log_ids) == 1 for b in by_receipt)
    assert {b.user_id for b in batches} == {user}


async def test_a_flood_limit_release_keeps_the_attempts_and_moves_the_time(
    db: Database, make: Any
) -> None:
    await _autopaying_user(make)
    await _autopay(db)
    [first] = await _receipts(db, DUE_TEN)
    paused_until = DUE_TEN + timedelta(seconds=40)  # Telegram's retry_after

    async with db.uow() as uow:
        await release(uow, first.log_ids, paused_until, count_attempt=False)

    [row] = await _receipt_rows(db)
    assert (row.status, row.fire_at, row.lease_until) == ("pending", paused_until, None)
    assert await _sweep(db, paused_until - timedelta(seconds=1)) == []
    [again] = await _receipts(db, paused_until)
    assert again.receipt == first.receipt
    assert again.log_ids == first.log_ids
    assert again.attempts == first.attempts  # the flood limit did not use up an attempt
    assert again.attempts == 1
    [row] = await _receipt_rows(db)
    assert (row.status, row.attempts, row.lease_until) == ("claimed", 1, paused_until + LEASE)


async def test_a_timeout_release_counts_each_attempt(db: Database, make: Any) -> None:
    await _autopaying_user(make)
    await _autopay(db)
    now = DUE_TEN
    seen = []
    for _ in range(3):
        [batch] = await _receipts(db, now)
        seen.append(batch.attempts)
        retry_at = now + timedelta(minutes=1) * batch.attempts  # the sender's backoff
        async with db.uow() as uow:
            await release(uow, batch.log_ids, retry_at)
        assert await _sweep(db, retry_at - timedelta(seconds=1)) == []
        now = retry_at

    assert seen == [1, 2, 3]
    [row] = await _receipt_rows(db)
    assert (row.status, row.attempts, row.fire_at) == ("pending", 3, now)


@pytest.mark.parametrize(
    ("age", "claimed"),
    [(timedelta(hours=24), True), (timedelta(hours=24, seconds=1), False)],
)
async def test_a_receipt_older_than_a_day_is_superseded(
    db: Database, make: Any, age: timedelta, claimed: bool
) -> None:
    await _autopaying_user(make)
    await _autopay(db)

    batches = await _sweep(db, DUE_TEN + age)  # the first sweep after a long downtime

    assert len([b for b in batches if b.receipt is not None]) == int(claimed)
    [row] = await _receipt_rows(db)
    assert row.status == ("claimed" if claimed else "superseded")
    assert row.lease_until == (DUE_TEN + age + LEASE if claimed else None)
    assert await _receipts(db, DUE_TEN + age + timedelta(hours=1)) == []


async def test_an_expired_claim_is_reclaimed_once_with_a_warning(
    db: Database, make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    await _autopaying_user(make)
    await _autopay(db)
    [lost] = await _sweep(db, DUE_TEN)  # the sender dies before recording an outcome
    caplog.set_level(logging.WARNING, logger=SWEEP_LOG)
    caplog.clear()  # the first claim is another test's concern

    assert await _sweep(db, DUE_TEN + LEASE) == []  # the lease runs to the end
    assert [r for r in caplog.records if r.name == SWEEP_LOG] == []
    [again] = await _sweep(db, DUE_TEN + LEASE + timedelta(seconds=1))

    assert again.log_ids == lost.log_ids
    assert again.receipt == lost.receipt
    warnings = [r for r in caplog.records if r.name == SWEEP_LOG]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING
    assert "may go out twice" in warnings[0].getMessage()
    assert str(lost.log_ids[0]) in warnings[0].getMessage()
    # Reclaimed under a new lease: not claimed again while it runs, nor once sent.
    assert await _sweep(db, DUE_TEN + LEASE + timedelta(minutes=1)) == []
    async with db.uow() as uow:
        await record_outcome(uow, again.log_ids, DUE_TEN + LEASE, message_id=9)
    assert await _sweep(db, DUE_TEN + timedelta(hours=1)) == []
    assert len([r for r in caplog.records if r.name == SWEEP_LOG]) == 1
    [row] = await _receipt_rows(db)
    assert (row.status, row.message_id) == ("sent", 9)


async def test_an_inactive_user_gets_nothing_until_active_again(db: Database, make: Any) -> None:
    user, _ = await _autopaying_user(make)
    await _autopay(db)
    async with db.uow() as uow:
        await set_active(uow, user, False)  # the user blocked the bot

    assert await _sweep(db, DUE_TEN) == []
    assert await _sweep(db, DUE_TEN + timedelta(hours=1)) == []

    [row] = await _receipt_rows(db)
    assert (row.status, row.attempts) == ("pending", 0)
    async with db.uow() as uow:
        await set_active(uow, user, True)  # … and unblocked it the same day
    [batch] = await _receipts(db, DUE_TEN + timedelta(hours=2))
    assert batch.receipt_log_id == row.id


async def test_receipts_go_out_with_reminders_turned_off(db: Database, make: Any) -> None:
    user, _ = await make.user(balance="50.00")
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    async with db.uow() as uow:
        await update_reminder_settings(uow, user, enabled=False)
    [receipt] = await _autopay(db)

    [batch] = await _sweep(db, DUE_TEN)  # the failed debit's receipt, and no reminder

    assert batch.receipt == receipt
    assert not receipt.succeeded
    assert batch.items == ()
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(ReminderLogRow.kind))
        assert list(rows) == ["receipt"]
