"""Claiming due reminders: once per (installment, kind, offset), one batch per user,
nothing for paid installments or blocked users, leases reclaimed after a crash."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.db.models import InstallmentRow, ReminderLogRow
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.domain.reminders import ReminderKind
from core.services.reminder_rows import REMINDER_RETENTION, purge_settled
from core.services.reminder_sweep import claim_chunk, claim_due_reminders
from core.services.reminders import update_reminder_settings
from core.services.send_outcomes import record_outcome
from core.services.users import set_active
from core.services.wakeups import wake

DUE = date(2026, 12, 5)
THREE_DAYS_BEFORE = datetime(2026, 12, 2, 1, 0, 30, tzinfo=UTC)  # 09:00:30 in Shanghai


async def _sweep(db: Database, now: datetime, **kw: Any) -> list[Any]:
    async with db.uow() as uow:
        return await claim_due_reminders(uow, now, **kw)


async def _rows(db: Database) -> list[tuple[int, str, int, str]]:
    async with db.uow() as uow:
        found = await uow.session.execute(
            select(
                ReminderLogRow.installment_id,
                ReminderLogRow.kind,
                ReminderLogRow.offset,
                ReminderLogRow.status,
            ).order_by(ReminderLogRow.id)
        )
        return [tuple(row) for row in found]  # type: ignore[misc]


async def test_one_batch_per_user_listing_every_plan_due(db: Database, make: Any) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE, title="Phone"))
    await make.plan(user, make.fee_plan(first_due=DUE, title="Laptop"))
    other, _ = await make.user()
    await make.plan(other, make.fee_plan(first_due=DUE + timedelta(days=10)))
    [batch] = await _sweep(db, THREE_DAYS_BEFORE)
    assert batch.user_id == user
    assert sorted(i.plan_title for i in batch.items) == ["Laptop", "Phone"]
    assert {(i.kind, i.offset, i.due_date) for i in batch.items} == {
        (ReminderKind.BEFORE_DUE, 3, DUE)
    }
    assert await _sweep(db, THREE_DAYS_BEFORE + timedelta(seconds=30)) == []  # claimed once


async def test_paid_installments_and_blocked_or_silenced_users_get_nothing(
    db: Database, make: Any
) -> None:
    paid, _ = await make.user()
    plan = await make.plan(paid, make.fee_plan(first_due=DUE))
    await make.pay(paid, QuoteKind.PERIOD, plan_id=plan)
    blocked, _ = await make.user()
    await make.plan(blocked, make.fee_plan(first_due=DUE))
    silent, _ = await make.user()
    await make.plan(silent, make.fee_plan(first_due=DUE))
    async with db.uow() as uow:
        await set_active(uow, blocked, False)
    async with db.uow() as uow:
        await update_reminder_settings(uow, silent, enabled=False)
    assert await _sweep(db, THREE_DAYS_BEFORE) == []
    assert [row for row in await _rows(db) if row[1] != "receipt"] == []  # no reminder


async def test_two_sweeps_at_once_claim_each_reminder_once(
    db: Database, make: Any, db_url: str
) -> None:
    for _ in range(3):
        user, _ = await make.user()
        await make.plan(user, make.fee_plan(first_due=DUE))
    other = Database.from_url(db_url)
    try:
        first, second = await asyncio.gather(
            _sweep(db, THREE_DAYS_BEFORE), _sweep(other, THREE_DAYS_BEFORE)
        )
    finally:
        await other.dispose()
    claimed = [i.log_id for batch in first + second for i in batch.items]
    assert len(claimed) == 3
    assert len(set(claimed)) == 3
    assert [row[3] for row in await _rows(db)] == ["claimed"] * 3


async def test_a_lost_claim_is_reclaimed_after_its_lease_and_a_sent_one_never(
    db: Database, make: Any
) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    await make.plan(user, make.fee_plan(first_due=DUE, title="Second"))
    [batch] = await _sweep(db, THREE_DAYS_BEFORE, lease=timedelta(minutes=2))
    sent, lost = batch.items
    async with db.uow() as uow:
        await record_outcome(uow, [sent.log_id], THREE_DAYS_BEFORE, message_id=77)
    assert await _sweep(db, THREE_DAYS_BEFORE + timedelta(minutes=1)) == []  # lease still on
    [again] = await _sweep(db, THREE_DAYS_BEFORE + timedelta(minutes=3))
    assert [i.log_id for i in again.items] == [lost.log_id]
    async with db.uow() as uow:
        await record_outcome(uow, [lost.log_id], THREE_DAYS_BEFORE, failure="chat_not_found")
    assert await _sweep(db, THREE_DAYS_BEFORE + timedelta(minutes=10)) == []
    statuses = sorted(row[3] for row in await _rows(db))
    assert statuses == ["failed", "sent"]


async def test_catch_up_sends_the_latest_and_records_the_superseded(
    db: Database, make: Any
) -> None:
    user, _ = await make.user()
    async with db.uow() as uow:
        await update_reminder_settings(uow, user, days_before=(1, 0))
    await make.plan(user, make.fee_plan(first_due=DUE))
    at_due_morning = datetime(2026, 12, 5, 3, tzinfo=UTC)  # 11:00 local on the due date
    [batch] = await _sweep(db, at_due_morning, lease=timedelta(minutes=2))
    assert [(i.kind, i.offset) for i in batch.items] == [(ReminderKind.BEFORE_DUE, 0)]
    # The 1-day reminder (yesterday 09:00) is older than the 6 h window: dropped, not sent.
    assert [(row[1], row[2], row[3]) for row in await _rows(db)] == [("before_due", 0, "claimed")]


async def test_the_autopay_notice_supersedes_the_one_day_reminder(db: Database, make: Any) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    day_before = datetime(2026, 12, 4, 1, 0, 30, tzinfo=UTC)
    [batch] = await _sweep(db, day_before)
    assert [(i.kind, i.offset) for i in batch.items] == [(ReminderKind.AUTOPAY_NOTICE, 1)]
    rows = {(row[1], row[2]): row[3] for row in await _rows(db)}
    assert rows == {("autopay_notice", 1): "claimed", ("before_due", 1): "superseded"}
    async with db.uow() as uow:
        await record_outcome(uow, batch.log_ids, day_before, message_id=5)
    assert await _sweep(db, day_before + timedelta(hours=1)) == []


async def test_the_autopay_notice_names_the_card_and_warns_of_a_short_balance(
    db: Database, make: Any
) -> None:
    rich, _ = await make.user(balance="500.00", label="招商银行")
    await make.plan(rich, make.fee_plan(first_due=DUE, autopay=True))
    poor, _ = await make.user(balance="10.00", label="工商银行")
    await make.plan(poor, make.fee_plan(first_due=DUE, autopay=True))
    batches = await _sweep(db, datetime(2026, 12, 4, 1, 0, 30, tzinfo=UTC))
    notices = {b.user_id: b.items[0] for b in batches}
    assert notices[rich].kind is ReminderKind.AUTOPAY_NOTICE
    assert (notices[rich].method_label, notices[rich].balance_short) == ("招商银行", False)
    assert (notices[poor].method_label, notices[poor].balance_short) == ("工商银行", True)


async def test_a_chunk_looks_at_so_many_users_and_leaves_the_rest_for_the_next(
    db: Database, make: Any
) -> None:
    users = []
    for _ in range(5):
        user, _ = await make.user()
        await make.plan(user, make.fee_plan(first_due=DUE))
        users.append(user)
    chunks = []
    for _ in range(4):
        async with db.uow() as uow:
            chunks.append(await claim_chunk(uow, THREE_DAYS_BEFORE, users=2))
    assert [c.looked for c in chunks] == [2, 2, 1, 0]  # fewer than asked: nobody else due
    assert [len(c.batches) for c in chunks] == [2, 2, 1, 0]
    claimed = [b.user_id for c in chunks for b in c.batches]
    assert sorted(claimed) == sorted(users)  # each user once, none left out
    assert await _sweep(db, THREE_DAYS_BEFORE) == []


async def test_attempts_count_each_claim_once_and_only_a_lapsed_lease_warns(
    db: Database, make: Any, caplog: Any
) -> None:
    from core.services.send_outcomes import release

    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    [first] = await _sweep(db, THREE_DAYS_BEFORE)
    assert first.attempts == 1
    retry_at = THREE_DAYS_BEFORE + timedelta(minutes=1)
    async with db.uow() as uow:
        await release(uow, first.log_ids, retry_at)  # a timeout: the message comes back
    caplog.clear()
    [second] = await _sweep(db, retry_at)
    assert second.attempts == 2
    assert "may go out twice" not in caplog.text  # given back, not lost: no warning
    lapsed = retry_at + timedelta(minutes=3)  # its sender never answered: lease over
    [third] = await _sweep(db, lapsed)
    assert third.attempts == 3
    assert "may go out twice" in caplog.text
    async with db.uow() as uow:
        stored = await uow.session.scalar(
            select(ReminderLogRow.attempts).where(ReminderLogRow.id == first.log_ids[0])
        )
    assert stored == 3


async def test_a_plan_late_on_several_installments_gets_one_overdue_notice_a_day(
    db: Database, make: Any
) -> None:
    """Issue 10 §3: the daily overdue notice is the plan's — one line and one record a day
    however many installments are late, keyed so a payment that day sends no second one."""
    user, _ = await make.user()
    plan = await make.plan(user, make.fee_plan(first_due=date(2026, 9, 10)))
    morning = datetime(2026, 12, 20, 1, 0, 30, tzinfo=UTC)  # 09:00:30 in Shanghai
    [batch] = await _sweep(db, morning)
    [item] = batch.items  # September … December are past their 3 days of grace
    async with db.uow() as uow:
        first = await uow.session.scalar(
            select(InstallmentRow.id).where(
                InstallmentRow.plan_id == plan, InstallmentRow.period == 1
            )
        )
    assert (item.kind, item.installment_id, item.count) == (ReminderKind.OVERDUE, first, 4)
    assert (item.offset, item.days_overdue, item.due_date) == (101, 101, date(2026, 9, 10))
    assert item.amount == Decimal("4") * Decimal("107.20") + item.penalty
    assert item.penalty > 0
    assert len(item.installments) == 4
    assert [row[1:] for row in await _rows(db)] == [("overdue", 101, "claimed")]
    async with db.uow() as uow:
        await record_outcome(uow, batch.log_ids, morning, message_id=1)

    # The oldest period paid at 10:00, and the user looked at again (a /remind toggle):
    # the plan was told today; no second notice.
    await make.pay(user, QuoteKind.PERIOD, plan_id=plan, now=morning + timedelta(hours=1))
    async with db.uow() as uow:
        await wake(uow, user)
        await uow.commit()
    assert await _sweep(db, morning + timedelta(hours=1, minutes=1)) == []

    [batch] = await _sweep(db, morning + timedelta(days=1))
    [item] = batch.items
    assert (item.installment_id, item.offset, item.count) == (first, 102, 3)
    assert (item.days_overdue, item.due_date) == (72, date(2026, 10, 10))
    assert len([r for r in await _rows(db) if r[1] == "overdue"]) == 2


async def test_settled_rows_are_forgotten_after_the_retention_and_nothing_is_sent_again(
    db: Database, make: Any
) -> None:
    """reminder_log does not grow without bound: settled rows whose day is past the
    retention go, a batch at a time; pending and claimed rows stay; a forgotten key is
    never due again (reminders are sent within hours of their day)."""
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    [sent] = await _sweep(db, THREE_DAYS_BEFORE)
    async with db.uow() as uow:
        await record_outcome(uow, sent.log_ids, THREE_DAYS_BEFORE, message_id=1)
    await _sweep(db, THREE_DAYS_BEFORE + timedelta(days=2))  # the 1-day one, left claimed
    assert len(await _rows(db)) == 2
    later = THREE_DAYS_BEFORE - timedelta(seconds=30) + REMINDER_RETENTION  # from 09:00:00
    async with db.uow() as uow:
        assert await purge_settled(uow.session, later) == 0  # not past the retention yet
        assert await purge_settled(uow.session, later + timedelta(seconds=1)) == 1
        assert await purge_settled(uow.session, later + timedelta(days=30)) == 0  # claimed
        await uow.commit()
    assert [row[1:] for row in await _rows(db)] == [("before_due", 1, "claimed")]
    # That day's sweep: the day's overdue notice only; the forgotten reminder is not due.
    [batch] = await _sweep(db, later + timedelta(seconds=2))
    assert [(i.kind, i.due_date) for i in batch.items] == [(ReminderKind.OVERDUE, DUE)]


async def test_the_purge_takes_a_batch_at_a_time(db: Database, make: Any) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=date(2026, 6, 10)))
    for day in range(5):  # five daily overdue notices, each recorded as sent
        [batch] = await _sweep(db, datetime(2026, 8, 1 + day, 1, 0, 30, tzinfo=UTC))
        async with db.uow() as uow:
            await record_outcome(uow, batch.log_ids, batch.due_at or THREE_DAYS_BEFORE)
    async with db.uow() as uow:
        now = datetime(2026, 12, 1, tzinfo=UTC)
        assert [await purge_settled(uow.session, now, batch=2) for _ in range(4)] == [2, 2, 1, 0]
        await uow.commit()
    assert await _rows(db) == []
