"""Sweeps stepped across New York's DST changes (SPEC §6.6): a reminder or auto-debit set
for a time the spring-forward skips or the fall-back repeats goes out exactly once, and an
ordinary reminder keeps its local wall time on both sides of a change.

Every test drives the real sweep the way the bot's ticker does — auto-debits, then claims,
then each claimed message recorded as sent — every few minutes of simulated time, and
writes its expected instants out in UTC by hand.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from core.db.models import PaymentRow
from core.db.uow import Database
from core.domain.reminders import ReminderKind
from core.services.reconcile import run_autopays
from core.services.reminder_sweep import claim_due_reminders
from core.services.reminders import update_reminder_settings
from core.services.send_outcomes import record_outcome

NEW_YORK = "America/New_York"
EST, EDT = timedelta(hours=-5), timedelta(hours=-4)
SPRING = date(2027, 3, 14)  # 02:00 EST → 03:00 EDT: 02:00-02:59 do not exist
FALL = date(2026, 11, 1)  # 02:00 EDT → 01:00 EST: 01:00-01:59 happen twice
TEN = time(10, 0)
INSTALLMENT = Decimal("107.20")


def utc(local: datetime, offset: timedelta) -> datetime:
    """A New York wall time read with an explicit offset, as a UTC instant."""
    return (local - offset).replace(tzinfo=UTC)


def steps(start: datetime, end: datetime, every: timedelta) -> Iterator[datetime]:
    now = start
    while now <= end:
        yield now
        now += every


@dataclass
class Ticker:
    """The bot's sweep on a simulated clock; remembers what each tick did."""

    db: Database
    autopay_at: time = TEN
    reminders: list[tuple[datetime, ReminderKind, int]] = field(default_factory=list)
    receipts: list[tuple[datetime, bool]] = field(default_factory=list)
    debits: list[tuple[datetime, bool]] = field(default_factory=list)
    sent: int = 0  # messages so far: the next message id

    async def tick(self, now: datetime) -> None:
        done = await run_autopays(self.db, now, self.autopay_at)
        self.debits += [(now, r.succeeded) for r in done]
        async with self.db.uow() as uow:
            batches = await claim_due_reminders(uow, now, autopay_at=self.autopay_at)
        for batch in batches:
            self.sent += 1
            self.reminders += [(now, i.kind, i.offset) for i in batch.items]
            if batch.receipt is not None:
                self.receipts.append((now, batch.receipt.succeeded))
            async with self.db.uow() as uow:
                await record_outcome(uow, batch.log_ids, now, message_id=self.sent)

    async def run(self, start: datetime, end: datetime, every: timedelta) -> None:
        for now in steps(start, end, every):
            await self.tick(now)


async def _new_yorker(
    db: Database, make: Any, at: time, days: tuple[int, ...], balance: str = "500.00"
) -> int:
    make.now = datetime(2026, 10, 1, tzinfo=UTC)  # set up before both DST changes
    user, _ = await make.user(balance=balance)
    async with db.uow() as uow:
        await update_reminder_settings(uow, user, days_before=days, at=at, timezone=NEW_YORK)
    return user


async def _debit_keys(db: Database) -> list[tuple[str, str]]:
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(PaymentRow.idempotency_key, PaymentRow.status).order_by(PaymentRow.id)
        )
        return [(key, status) for key, status in rows]


async def test_a_reminder_in_the_spring_forward_gap_goes_out_once(db: Database, make: Any) -> None:
    """02:30 does not exist on 2027-03-14. The reminder fires at the same wall time read
    with the offset before the change (02:30 EST = 07:30 UTC = 03:30 EDT), as
    core.domain.reminders.local_instant documents."""
    user = await _new_yorker(db, make, time(2, 30), (0,))
    await make.plan(user, make.fee_plan(first_due=SPRING))
    ticker = Ticker(db)

    await ticker.run(
        utc(datetime(2027, 3, 13, 12), EST),
        utc(datetime(2027, 3, 15, 12), EDT),
        timedelta(minutes=5),
    )

    expected = utc(datetime(2027, 3, 14, 2, 30), EST)
    assert expected == datetime(2027, 3, 14, 7, 30, tzinfo=UTC)
    assert ticker.reminders == [(expected, ReminderKind.BEFORE_DUE, 0)]
    assert expected.astimezone(ZoneInfo(NEW_YORK)).replace(tzinfo=None) == datetime(
        2027, 3, 14, 3, 30
    )


async def test_a_reminder_in_the_repeated_fall_back_hour_goes_out_once(
    db: Database, make: Any
) -> None:
    user = await _new_yorker(db, make, time(1, 30), (0,))
    await make.plan(user, make.fee_plan(first_due=FALL))
    ticker = Ticker(db)

    await ticker.run(
        utc(datetime(2026, 10, 31, 12), EDT),
        utc(datetime(2026, 11, 2, 12), EST),
        timedelta(minutes=5),
    )

    first = utc(datetime(2026, 11, 1, 1, 30), EDT)
    second = utc(datetime(2026, 11, 1, 1, 30), EST)
    assert (first, second) == (
        datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
        datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
    )
    assert ticker.reminders == [(first, ReminderKind.BEFORE_DUE, 0)]  # nothing at `second`


@pytest.mark.parametrize(
    ("due", "at", "start", "end", "slots"),
    [
        pytest.param(
            SPRING,
            time(2, 30),
            utc(datetime(2027, 3, 13, 12), EST),
            utc(datetime(2027, 3, 15, 12), EDT),
            [
                utc(datetime(2027, 3, 14, 2, 30), EST),  # in the gap: 07:30 UTC
                utc(datetime(2027, 3, 14, 18), EDT),  # the 18:00 retry
                utc(datetime(2027, 3, 15, 2, 30), EDT),  # the next day, 02:30 exists again
            ],
            id="spring",
        ),
        pytest.param(
            FALL,
            time(1, 30),
            utc(datetime(2026, 10, 31, 12), EDT),
            utc(datetime(2026, 11, 2, 12), EST),
            [
                utc(datetime(2026, 11, 1, 1, 30), EDT),  # the first 01:30 only
                utc(datetime(2026, 11, 1, 18), EST),
                utc(datetime(2026, 11, 2, 1, 30), EST),
            ],
            id="fall",
        ),
    ],
)
@pytest.mark.parametrize("balance", ["500.00", "0"])
async def test_auto_debits_on_a_dst_day_run_once_per_attempt(
    db: Database,
    make: Any,
    due: date,
    at: time,
    start: datetime,
    end: datetime,
    slots: list[datetime],
    balance: str,
) -> None:
    """With money on the card the debit runs once, at the first slot; without, every
    attempt slot runs once — never the repeated hour twice, never the skipped one lost."""
    user = await _new_yorker(db, make, time(9, 0), (0,), balance=balance)
    await make.plan(user, make.fee_plan(first_due=due, autopay=True))
    ticker = Ticker(db, autopay_at=at)

    await ticker.run(start, end, timedelta(minutes=5))

    paid = balance != "0"
    expected = [(slots[0], True)] if paid else [(slot, False) for slot in slots]
    assert ticker.debits == expected
    assert ticker.receipts == expected  # each receipt claimed once, at the debit's tick
    keys = await _debit_keys(db)
    assert [status for _, status in keys] == ["succeeded" if paid else "failed"] * len(expected)
    assert [key.split(":", 2)[2] for key, _ in keys] == [s.isoformat() for s, _ in expected]


@pytest.mark.parametrize(
    ("due", "expected"),
    [
        pytest.param(
            date(2026, 11, 2),
            [
                (utc(datetime(2026, 10, 30, 9), EDT), 3),  # 13:00 UTC
                (utc(datetime(2026, 11, 1, 9), EST), 1),  # 14:00 UTC: the fall-back day
                (utc(datetime(2026, 11, 2, 9), EST), 0),
            ],
            id="fall",
        ),
        pytest.param(
            date(2027, 3, 15),
            [
                (utc(datetime(2027, 3, 12, 9), EST), 3),  # 14:00 UTC
                (utc(datetime(2027, 3, 14, 9), EDT), 1),  # 13:00 UTC: the spring-forward day
                (utc(datetime(2027, 3, 15, 9), EDT), 0),
            ],
            id="spring",
        ),
    ],
)
async def test_an_ordinary_reminder_keeps_its_wall_time_across_a_change(
    db: Database, make: Any, due: date, expected: list[tuple[datetime, int]]
) -> None:
    user = await _new_yorker(db, make, time(9, 0), (3, 1, 0))
    await make.plan(user, make.fee_plan(first_due=due))
    ticker = Ticker(db)
    start = datetime.combine(due - timedelta(days=4), time(0), tzinfo=UTC)

    await ticker.run(start, start + timedelta(days=5), timedelta(minutes=15))

    assert ticker.reminders == [(at, ReminderKind.BEFORE_DUE, days) for at, days in expected]
    zone = ZoneInfo(NEW_YORK)
    assert {at.astimezone(zone).time() for at, _, _ in ticker.reminders} == {time(9, 0)}
    hours = sorted({at.hour for at, _ in expected})
    assert hours == [13, 14]  # the same wall time is a different UTC hour on each side
