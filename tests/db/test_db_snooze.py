"""Snoozing a sent reminder (SPEC F7): when it comes back, that it comes back exactly once
through the sweep, and what a double tap, a forged message id, a payment or a late sweep
does to it."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.db.models import ReminderLogRow
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.domain.reminders import ReminderKind
from core.services.reconcile import run_autopays
from core.services.reminder_sweep import ReminderBatch, claim_due_reminders
from core.services.reminders import update_reminder_settings
from core.services.send_outcomes import record_outcome
from core.services.snooze import SnoozeChoice, SnoozeResult, SnoozeStatus, snooze, snooze_until

DUE = date(2026, 12, 5)
THREE_DAYS_BEFORE = datetime(2026, 12, 2, 1, 0, 30, tzinfo=UTC)  # 09:00:30 in Shanghai
MESSAGE = 4242
SHANGHAI, NEW_YORK, KOLKATA = "Asia/Shanghai", "America/New_York", "Asia/Kolkata"
NINE = time(9, 0)


async def _sweep(db: Database, now: datetime) -> list[ReminderBatch]:
    async with db.uow() as uow:
        return await claim_due_reminders(uow, now)


async def _deliver(db: Database, batch: ReminderBatch, now: datetime, message_id: int) -> None:
    async with db.uow() as uow:
        await record_outcome(uow, batch.log_ids, now, message_id=message_id)


async def _send(db: Database, now: datetime, message_id: int) -> ReminderBatch:
    """Sweep at ``now``, expecting one message, and record it as accepted by Telegram."""
    [batch] = await _sweep(db, now)
    await _deliver(db, batch, now, message_id)
    return batch


async def _snooze(
    db: Database, user: int, message_id: int, choice: SnoozeChoice, now: datetime
) -> SnoozeResult:
    async with db.uow() as uow:
        return await snooze(uow, user, message_id, choice, now)


async def _log(db: Database) -> list[tuple[Any, ...]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(ReminderLogRow).order_by(ReminderLogRow.id))
        return [
            (r.id, r.user_id, r.installment_id, r.kind, r.offset, r.status, r.fire_at, r.attempts)
            for r in rows
        ]


async def _snoozed_rows(db: Database) -> list[tuple[Any, ...]]:
    return [row for row in await _log(db) if row[3] == "snoozed"]


# -- when a snooze comes back (pure) ----------------------------------------------------------


@pytest.mark.parametrize(
    ("choice", "now", "zone", "remind_at", "expected"),
    [
        # Shanghai (UTC+8, no DST); 2026-11-22 02:00 UTC is 10:00 local.
        (SnoozeChoice.HOUR, datetime(2026, 11, 22, 2), SHANGHAI, NINE, datetime(2026, 11, 22, 3)),
        (
            SnoozeChoice.TONIGHT,
            datetime(2026, 11, 22, 2),
            SHANGHAI,
            NINE,
            datetime(2026, 11, 22, 12),
        ),
        # 19:59:59 local is still "tonight"; 20:00 and 23:30 local are too late.
        (
            SnoozeChoice.TONIGHT,
            datetime(2026, 11, 22, 11, 59, 59),
            SHANGHAI,
            NINE,
            datetime(2026, 11, 22, 12),
        ),
        (SnoozeChoice.TONIGHT, datetime(2026, 11, 22, 12), SHANGHAI, NINE, None),
        (SnoozeChoice.TONIGHT, datetime(2026, 11, 22, 15, 30), SHANGHAI, NINE, None),
        # Tomorrow at the user's reminder time, tomorrow being the local calendar's.
        (
            SnoozeChoice.TOMORROW,
            datetime(2026, 11, 22, 2),
            SHANGHAI,
            NINE,
            datetime(2026, 11, 23, 1),
        ),
        # 00:30 local on the 22nd is the 21st in UTC: "tomorrow" is still the 23rd.
        (
            SnoozeChoice.TOMORROW,
            datetime(2026, 11, 21, 16, 30),
            SHANGHAI,
            time(7, 15),
            datetime(2026, 11, 22, 23, 15),
        ),
        # Kolkata is UTC+05:30.
        (
            SnoozeChoice.TONIGHT,
            datetime(2026, 11, 22, 14, 29),
            KOLKATA,
            NINE,
            datetime(2026, 11, 22, 14, 30),
        ),
        (SnoozeChoice.TONIGHT, datetime(2026, 11, 22, 14, 30), KOLKATA, NINE, None),
        (
            SnoozeChoice.TOMORROW,
            datetime(2026, 11, 22, 14, 30),
            KOLKATA,
            time(8, 45),
            datetime(2026, 11, 23, 3, 15),
        ),
        # New York: 19:00 EST on the 22nd is 00:00 UTC on the 23rd; tonight is 20:00 EST.
        (
            SnoozeChoice.TONIGHT,
            datetime(2026, 11, 23, 0, 0),
            NEW_YORK,
            NINE,
            datetime(2026, 11, 23, 1, 0),
        ),
        # An hour is a real hour across the fall-back: 01:30 EDT → 01:30 EST.
        (
            SnoozeChoice.HOUR,
            datetime(2026, 11, 1, 5, 30),
            NEW_YORK,
            NINE,
            datetime(2026, 11, 1, 6, 30),
        ),
        # Snoozed on Saturday evening (EDT) till the fall-back Sunday 07:45 (EST, UTC-5).
        (
            SnoozeChoice.TOMORROW,
            datetime(2026, 11, 1, 2, 0),
            NEW_YORK,
            time(7, 45),
            datetime(2026, 11, 1, 12, 45),
        ),
        # Tonight on the spring-forward day: 20:00 EDT (UTC-4).
        (
            SnoozeChoice.TONIGHT,
            datetime(2027, 3, 14, 14, 0),
            NEW_YORK,
            NINE,
            datetime(2027, 3, 15, 0, 0),
        ),
    ],
)
def test_snooze_until(
    choice: SnoozeChoice,
    now: datetime,
    zone: str,
    remind_at: time,
    expected: datetime | None,
) -> None:
    found = snooze_until(choice, now.replace(tzinfo=UTC), zone, remind_at)
    assert found == (None if expected is None else expected.replace(tzinfo=UTC))


# Zones people live in, with the awkward ones: DST both ways, half-hour and 45-minute
# offsets, a 30-minute DST shift (Lord Howe), a skipped calendar day (Apia, 2011-12-30),
# DST suspended for Ramadan (Casablanca).
ZONES = (
    SHANGHAI,
    NEW_YORK,
    KOLKATA,
    "Europe/London",
    "Europe/Berlin",
    "America/Sao_Paulo",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Apia",
    "Africa/Casablanca",
    "Asia/Tehran",
    "UTC",
)


@settings(max_examples=400, deadline=None)
@given(
    choice=st.sampled_from(SnoozeChoice),
    instant=st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2060, 1, 1)),
    zone=st.sampled_from(ZONES),
    remind_at=st.times(),
)
def test_a_snooze_always_ends_after_it_starts(
    choice: SnoozeChoice, instant: datetime, zone: str, remind_at: time
) -> None:
    now = instant.replace(tzinfo=UTC)
    local = now.astimezone(ZoneInfo(zone))
    until = snooze_until(choice, now, zone, remind_at)
    too_late = choice is SnoozeChoice.TONIGHT and local.time() >= time(20, 0)
    assert (until is None) == too_late, (local, until)
    if until is None:
        return
    assert until > now
    assert until.utcoffset() == timedelta(0)
    comes_back = until.astimezone(ZoneInfo(zone))
    if choice is SnoozeChoice.HOUR:
        assert until - now == timedelta(hours=1)
    elif choice is SnoozeChoice.TONIGHT:
        assert comes_back.date() == local.date()
        assert comes_back.time() >= time(20, 0)
    else:
        assert comes_back.date() > local.date()
        assert until - now < timedelta(hours=50)


# -- snoozing through the database ----------------------------------------------------------


async def test_an_hour_snooze_comes_back_once_an_hour_later(db: Database, make: Any) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    sent = await _send(db, THREE_DAYS_BEFORE, MESSAGE)
    tapped = THREE_DAYS_BEFORE + timedelta(minutes=5)

    result = await _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, tapped)

    assert result == SnoozeResult(SnoozeStatus.SNOOZED, tapped + timedelta(hours=1))
    [original] = sent.items
    [row] = await _snoozed_rows(db)
    assert row[1:] == (
        user,
        original.installment_id,
        "snoozed",
        original.log_id,
        "pending",
        tapped + timedelta(hours=1),
        0,
    )
    assert await _sweep(db, tapped + timedelta(minutes=59, seconds=59)) == []
    [back] = await _sweep(db, tapped + timedelta(hours=1))
    assert back.user_id == user
    [item] = back.items
    assert item.snoozed is True
    assert item.log_id == row[0]
    assert (item.installment_id, item.kind, item.offset) == (
        original.installment_id,
        ReminderKind.BEFORE_DUE,
        3,
    )
    assert item.amount == original.amount
    await _deliver(db, back, tapped + timedelta(hours=1), MESSAGE + 1)
    for later in (timedelta(minutes=61), timedelta(hours=2), timedelta(hours=8)):
        assert await _sweep(db, tapped + later) == []
    statuses = {r[0]: r[5] for r in await _log(db)}
    assert statuses == {original.log_id: "sent", row[0]: "sent"}


async def test_a_second_snooze_of_the_message_is_already_with_the_first_time(
    db: Database, make: Any
) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    await _send(db, THREE_DAYS_BEFORE, MESSAGE)
    first = await _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, THREE_DAYS_BEFORE)
    before = await _log(db)

    again = await _snooze(db, user, MESSAGE, SnoozeChoice.TOMORROW, THREE_DAYS_BEFORE)
    tonight = await _snooze(
        db, user, MESSAGE, SnoozeChoice.TONIGHT, THREE_DAYS_BEFORE + timedelta(minutes=2)
    )

    assert first.status is SnoozeStatus.SNOOZED
    assert again == SnoozeResult(SnoozeStatus.ALREADY, first.until)
    assert tonight == SnoozeResult(SnoozeStatus.ALREADY, first.until)
    assert await _log(db) == before


async def test_a_double_tap_snoozes_once(db: Database, make: Any) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    await _send(db, THREE_DAYS_BEFORE, MESSAGE)
    opened = [await db.engine.connect() for _ in range(2)]  # both taps start together
    for connection in opened:
        await connection.close()

    results = await asyncio.gather(
        _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, THREE_DAYS_BEFORE),
        _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, THREE_DAYS_BEFORE),
    )

    assert sorted(r.status for r in results) == [SnoozeStatus.ALREADY, SnoozeStatus.SNOOZED]
    assert {r.until for r in results} == {THREE_DAYS_BEFORE + timedelta(hours=1)}
    assert len(await _snoozed_rows(db)) == 1


async def test_someone_elses_message_is_unknown_and_nothing_is_written(
    db: Database, make: Any
) -> None:
    owner, _ = await make.user()
    await make.plan(owner, make.fee_plan(first_due=DUE))
    await _send(db, THREE_DAYS_BEFORE, MESSAGE)
    stranger, _ = await make.user()
    await make.plan(stranger, make.fee_plan(first_due=DUE + timedelta(days=20)))
    before = await _log(db)

    forged = await _snooze(db, stranger, MESSAGE, SnoozeChoice.HOUR, THREE_DAYS_BEFORE)
    never_sent = await _snooze(db, owner, MESSAGE + 1, SnoozeChoice.HOUR, THREE_DAYS_BEFORE)

    assert forged == SnoozeResult(SnoozeStatus.UNKNOWN)
    assert never_sent == SnoozeResult(SnoozeStatus.UNKNOWN)
    assert await _log(db) == before
    # The owner's own tap still works: the forged one changed nothing.
    mine = await _snooze(db, owner, MESSAGE, SnoozeChoice.HOUR, THREE_DAYS_BEFORE)
    assert mine.status is SnoozeStatus.SNOOZED


async def test_a_receipt_is_not_a_reminder_to_snooze(db: Database, make: Any) -> None:
    user, _ = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    at_ten = datetime(2026, 12, 5, 2, 0, 30, tzinfo=UTC)  # 10:00:30 in Shanghai
    [receipt] = await run_autopays(db, at_ten, time(10, 0))
    batch = await _send(db, at_ten, MESSAGE)
    assert batch.receipt == receipt
    before = await _log(db)

    result = await _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, at_ten)

    assert result == SnoozeResult(SnoozeStatus.UNKNOWN)
    assert await _log(db) == before


async def test_a_message_whose_installments_are_all_paid_has_nothing_left(
    db: Database, make: Any
) -> None:
    user, _ = await make.user()
    phone = await make.plan(user, make.fee_plan(first_due=DUE, title="Phone"))
    laptop = await make.plan(user, make.fee_plan(first_due=DUE, title="Laptop"))
    sent = await _send(db, THREE_DAYS_BEFORE, MESSAGE)
    assert len(sent.items) == 2
    paid_at = THREE_DAYS_BEFORE + timedelta(minutes=1)
    for plan in (phone, laptop):
        await make.pay(user, QuoteKind.PERIOD, plan_id=plan, now=paid_at)
    before = await _log(db)

    result = await _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, paid_at)

    assert result == SnoozeResult(SnoozeStatus.NOTHING_LEFT)
    assert await _log(db) == before


async def test_a_two_plan_message_comes_back_without_the_plan_paid_before_snoozing(
    db: Database, make: Any
) -> None:
    user, _ = await make.user()
    phone = await make.plan(user, make.fee_plan(first_due=DUE, title="Phone"))
    await make.plan(user, make.fee_plan(first_due=DUE, title="Laptop"))
    sent = await _send(db, THREE_DAYS_BEFORE, MESSAGE)
    tapped = THREE_DAYS_BEFORE + timedelta(minutes=2)
    await make.pay(user, QuoteKind.PERIOD, plan_id=phone, now=tapped)

    result = await _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, tapped)

    assert result == SnoozeResult(SnoozeStatus.SNOOZED, tapped + timedelta(hours=1))
    laptop_item = next(i for i in sent.items if i.plan_title == "Laptop")
    assert [(r[2], r[4]) for r in await _snoozed_rows(db)] == [
        (laptop_item.installment_id, laptop_item.log_id)
    ]
    [back] = await _sweep(db, tapped + timedelta(hours=1))
    assert [(i.plan_title, i.snoozed) for i in back.items] == [("Laptop", True)]


async def test_paid_after_snoozing_it_does_not_come_back(db: Database, make: Any) -> None:
    user, _ = await make.user()
    plan = await make.plan(user, make.fee_plan(first_due=DUE))
    await _send(db, THREE_DAYS_BEFORE, MESSAGE)
    result = await _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, THREE_DAYS_BEFORE)
    assert result.status is SnoozeStatus.SNOOZED
    assert result.until is not None
    await make.pay(
        user, QuoteKind.PERIOD, plan_id=plan, now=THREE_DAYS_BEFORE + timedelta(minutes=10)
    )

    assert await _sweep(db, result.until) == []
    assert await _sweep(db, result.until + timedelta(hours=1)) == []
    [row] = await _snoozed_rows(db)
    assert row[5] == "superseded"


async def test_a_comeback_joins_another_installments_reminder_in_one_message(
    db: Database, make: Any
) -> None:
    """Snoozed till tomorrow at the user's reminder time (08:30 here), it lands on the
    moment another plan's one-day reminder is due: one message lists both."""
    user, _ = await make.user()
    async with db.uow() as uow:
        await update_reminder_settings(uow, user, at=time(8, 30))
    await make.plan(user, make.fee_plan(first_due=DUE, title="Phone"))
    await make.plan(user, make.fee_plan(first_due=DUE - timedelta(days=1), title="Laptop"))
    three_days_before = datetime(2026, 12, 2, 0, 30, 30, tzinfo=UTC)  # 08:30:30 in Shanghai
    sent = await _send(db, three_days_before, MESSAGE)
    assert [(i.plan_title, i.offset) for i in sent.items] == [("Phone", 3)]

    result = await _snooze(db, user, MESSAGE, SnoozeChoice.TOMORROW, three_days_before)

    tomorrow_at_half_past_eight = datetime(2026, 12, 3, 0, 30, tzinfo=UTC)
    assert result == SnoozeResult(SnoozeStatus.SNOOZED, tomorrow_at_half_past_eight)
    assert await _sweep(db, tomorrow_at_half_past_eight - timedelta(seconds=1)) == []
    [batch] = await _sweep(db, tomorrow_at_half_past_eight)
    assert [(i.plan_title, i.kind, i.offset, i.snoozed) for i in batch.items] == [
        ("Laptop", ReminderKind.BEFORE_DUE, 1, False),
        ("Phone", ReminderKind.BEFORE_DUE, 2, True),  # read as it stands: two days to go
    ]


async def test_a_comeback_with_a_reminder_of_the_same_installment_is_one_item(
    db: Database, make: Any
) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    day_before = datetime(2026, 12, 4, 1, 0, 30, tzinfo=UTC)  # 09:00:30 in Shanghai
    sent = await _send(db, day_before, MESSAGE)
    assert [(i.kind, i.offset) for i in sent.items] == [(ReminderKind.BEFORE_DUE, 1)]

    result = await _snooze(db, user, MESSAGE, SnoozeChoice.TOMORROW, day_before)

    due_morning = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)  # 09:00 on the due date
    assert result == SnoozeResult(SnoozeStatus.SNOOZED, due_morning)
    [batch] = await _sweep(db, due_morning)
    [item] = batch.items
    assert (item.installment_id, item.kind, item.offset) == (
        sent.items[0].installment_id,
        ReminderKind.BEFORE_DUE,
        0,
    )
    [row] = await _snoozed_rows(db)
    assert row[5] == "superseded"
    await _deliver(db, batch, due_morning, MESSAGE + 1)
    assert await _sweep(db, due_morning + timedelta(hours=1)) == []


async def test_an_overdue_reminder_comes_back_as_overdue(db: Database, make: Any) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=date(2026, 11, 10)))
    at_ten = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00, twelve days after the due date
    sent = await _send(db, at_ten, MESSAGE)
    assert [(i.kind, i.offset) for i in sent.items] == [(ReminderKind.OVERDUE, 12)]

    result = await _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, at_ten)

    assert result.until == at_ten + timedelta(hours=1)
    [batch] = await _sweep(db, at_ten + timedelta(hours=1))
    [item] = batch.items
    assert (item.kind, item.offset, item.days_overdue, item.snoozed) == (
        ReminderKind.OVERDUE,
        12,
        12,
        True,
    )
    assert item.penalty > 0


async def test_tonight_after_eight_is_too_late_and_writes_nothing(db: Database, make: Any) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    await _send(db, THREE_DAYS_BEFORE, MESSAGE)
    eight_pm = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)  # 20:00 in Shanghai
    before = await _log(db)

    late = await _snooze(db, user, MESSAGE, SnoozeChoice.TONIGHT, eight_pm)

    assert late == SnoozeResult(SnoozeStatus.TOO_LATE)
    assert await _log(db) == before
    # Too late for tonight is not a snooze: the user can still pick another time.
    hour = await _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, eight_pm)
    assert hour == SnoozeResult(SnoozeStatus.SNOOZED, eight_pm + timedelta(hours=1))


@pytest.mark.parametrize(
    ("late_by", "comes_back"),
    [(timedelta(hours=6), True), (timedelta(hours=6, seconds=1), False)],
)
async def test_a_comeback_missed_by_more_than_six_hours_is_dropped(
    db: Database, make: Any, late_by: timedelta, comes_back: bool
) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    await _send(db, THREE_DAYS_BEFORE, MESSAGE)
    result = await _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, THREE_DAYS_BEFORE)
    assert result.until is not None

    batches = await _sweep(db, result.until + late_by)  # the first sweep after a downtime

    assert [[i.snoozed for i in b.items] for b in batches] == ([[True]] if comes_back else [])
    [row] = await _snoozed_rows(db)
    assert row[5] == ("claimed" if comes_back else "superseded")
    assert await _sweep(db, result.until + late_by + timedelta(minutes=1)) == []


async def test_a_snooze_of_a_far_reminder_comes_back_after_the_days_are_shortened(
    db: Database, make: Any
) -> None:
    """A sweep reads only installments due within the user's days-before (plus a margin),
    and those of waiting messages: a 10-days-before reminder snoozed to tomorrow still
    comes back after the user cut their reminders to the due day only."""
    user, _ = await make.user()
    async with db.uow() as uow:
        await update_reminder_settings(uow, user, days_before=[10])
    await make.plan(user, make.fee_plan(first_due=DUE))
    ten_days_before = THREE_DAYS_BEFORE - timedelta(days=7)
    sent = await _send(db, ten_days_before, MESSAGE)
    [original] = sent.items
    assert original.offset == 10
    result = await _snooze(db, user, MESSAGE, SnoozeChoice.TOMORROW, ten_days_before)
    assert result.status is SnoozeStatus.SNOOZED
    async with db.uow() as uow:
        await update_reminder_settings(uow, user, days_before=[0])
    [back] = await _sweep(db, ten_days_before + timedelta(days=1))
    [item] = back.items
    assert (item.snoozed, item.installment_id, item.offset) == (True, original.installment_id, 9)


async def test_a_plan_notice_snoozed_after_its_first_period_is_paid_comes_back_for_the_rest(
    db: Database, make: Any
) -> None:
    """The overdue notice is the plan's, keyed by its first installment: paying that one
    does not make the notice "nothing left" while later periods are still late."""
    user, _ = await make.user()
    plan = await make.plan(user, make.fee_plan(first_due=date(2026, 9, 10)))
    morning = datetime(2026, 11, 22, 1, 0, 30, tzinfo=UTC)  # 09:00:30 in Shanghai
    sent = await _send(db, morning, MESSAGE)
    assert [(i.kind, i.count) for i in sent.items] == [(ReminderKind.OVERDUE, 3)]
    await make.pay(user, QuoteKind.PERIOD, plan_id=plan, now=morning + timedelta(minutes=5))

    result = await _snooze(db, user, MESSAGE, SnoozeChoice.HOUR, morning + timedelta(minutes=6))

    assert result.status is SnoozeStatus.SNOOZED
    [batch] = await _sweep(db, morning + timedelta(hours=1, minutes=6))
    [item] = batch.items
    assert (item.kind, item.count, item.snoozed) == (ReminderKind.OVERDUE, 2, True)
    assert (item.due_date, item.days_overdue, item.offset) == (date(2026, 10, 10), 43, 73)
    # Both paid before it comes back: nothing left, nothing sent.
    await _deliver(db, batch, morning + timedelta(hours=1, minutes=6), MESSAGE + 1)
    again = await _snooze(db, user, MESSAGE + 1, SnoozeChoice.HOUR, morning + timedelta(hours=2))
    assert again.status is SnoozeStatus.SNOOZED
    for _ in range(2):
        await make.pay(user, QuoteKind.PERIOD, plan_id=plan, now=morning + timedelta(hours=2))
    assert await _sweep(db, morning + timedelta(hours=3, minutes=1)) == []
