"""Two instances sweeping one database at once (SPEC §6.5): two engines on the same
SQLite file or PostgreSQL database run the auto-debit and claim sweeps concurrently,
round after round. Every attempt debits once, every message is claimed once, and
between them the instances cover every user. On PostgreSQL they split the users
(``FOR UPDATE SKIP LOCKED``); on SQLite one writer goes at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.db.models import PaymentRow, ReminderLogRow, User
from core.db.uow import Database
from core.services.autopay_sweep import AutopayReceipt
from core.services.reconcile import run_autopays
from core.services.reminder_sweep import ReminderBatch, claim_chunk
from core.services.send_outcomes import record_outcome
from core.services.snooze import SnoozeChoice, SnoozeStatus, snooze

DUE = date(2026, 12, 5)
TEN = time(10, 0)
DUE_TEN = datetime(2026, 12, 5, 2, 0, 30, tzinfo=UTC)  # 10:00:30 in Shanghai
DUE_SIX_PM = datetime(2026, 12, 5, 10, 0, 30, tzinfo=UTC)
INSTALLMENT = Decimal("107.20")
USERS = 30
LEASE = timedelta(minutes=2)
CHUNK = 4  # users per claim: the instances take chunks in turn


@pytest.fixture
async def other(db: Database, db_url: str) -> AsyncIterator[Database]:
    """A second instance: its own engine on the same database as ``db``."""
    second = Database.from_url(db_url, provider=db.provider)
    for database in (db, second):  # connected ahead, so both sweeps really start together
        connection = await database.engine.connect()
        await connection.close()
    try:
        yield second
    finally:
        await second.dispose()


def _postgres(db: Database) -> bool:
    return db.engine.dialect.name == "postgresql"


async def _autopay(database: Database, now: datetime) -> list[AutopayReceipt]:
    return await run_autopays(database, now, TEN)


async def _claim(database: Database, now: datetime) -> list[ReminderBatch]:
    """Claim in chunks of CHUNK users, as bot/jobs.py's run_sweep does (with 600)."""
    batches: list[ReminderBatch] = []
    while True:
        async with database.uow() as uow:
            claimed = await claim_chunk(uow, now, users=CHUNK, lease=LEASE)
        batches += claimed.batches
        if claimed.looked < CHUNK:
            return batches


async def _race_claims(
    db: Database, other: Database, now: datetime
) -> tuple[list[ReminderBatch], list[ReminderBatch]]:
    first, second = await asyncio.gather(_claim(db, now), _claim(other, now))
    return first, second


async def _deliver(db: Database, batches: list[ReminderBatch], now: datetime) -> None:
    for batch in batches:
        async with db.uow() as uow:
            await record_outcome(uow, batch.log_ids, now, message_id=batch.log_ids[0])


async def _log(db: Database, kind: str) -> list[tuple[int, int, str, int]]:
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(
                ReminderLogRow.id,
                ReminderLogRow.user_id,
                ReminderLogRow.status,
                ReminderLogRow.offset,
            )
            .where(ReminderLogRow.kind == kind)
            .order_by(ReminderLogRow.id)
        )
        return [(i, u, s, o) for i, u, s, o in rows]


async def _users(
    make: Any, count: int, *, balance: str = "500.00", **plan: Any
) -> list[tuple[int, int]]:
    """``count`` users, each with a card holding ``balance`` and one plan due on DUE."""
    made = []
    for _ in range(count):
        user, card = await make.user(balance=balance)
        await make.plan(user, make.fee_plan(first_due=DUE, **plan))
        made.append((user, card))
    return made


async def test_two_instances_debit_each_attempt_once(
    db: Database, other: Database, make: Any
) -> None:
    """20 users can pay, 10 cannot: the poor ones are tried at 10:00 and again at 18:00."""
    rich = dict(await _users(make, 20, autopay=True))
    poor = dict(await _users(make, 10, balance="50.00", autopay=True))
    rounds = [
        DUE_TEN,
        DUE_TEN + timedelta(seconds=30),
        DUE_TEN + timedelta(minutes=5),
        DUE_SIX_PM,
        DUE_SIX_PM + timedelta(seconds=30),
    ]
    shares = []
    returned: list[AutopayReceipt] = []

    for now in rounds:
        first, second = await asyncio.gather(_autopay(db, now), _autopay(other, now))
        shares.append((len(first), len(second)))
        returned += first + second

    async with db.uow() as uow:
        payments = list(await uow.session.scalars(select(PaymentRow).order_by(PaymentRow.id)))
        uow.session.expunge_all()
    per_user = Counter(p.user_id for p in payments)
    assert per_user == Counter({**dict.fromkeys(rich, 1), **dict.fromkeys(poor, 2)})
    assert len({p.idempotency_key for p in payments}) == len(payments) == 40
    assert Counter(p.idempotency_key.split(":", 2)[2] for p in payments) == {
        "2026-12-05T02:00:00+00:00": 30,  # everyone at 10:00
        "2026-12-05T10:00:00+00:00": 10,  # the 18:00 retry, for those who could not pay
    }
    assert Counter((p.user_id, p.status) for p in payments) == Counter(
        {**{(u, "succeeded"): 1 for u in rich}, **{(u, "failed"): 2 for u in poor}}
    )
    assert Counter(r.user_id for r in returned) == per_user  # each attempt reported once
    for card in rich.values():
        assert await make.balance(card) == Decimal("500.00") - INSTALLMENT  # debited once
    for user, card in poor.items():
        assert await make.balance(card) == Decimal("50.00")
        assert {p.amount for p in payments if p.user_id == user} == {INSTALLMENT}
    receipts = await _log(db, "receipt")
    assert sorted(offset for _, _, _, offset in receipts) == sorted(p.id for p in payments)
    assert {status for _, _, status, _ in receipts} == {"pending"}
    if _postgres(db):
        assert any(a > 0 and b > 0 for a, b in shares), shares


async def test_two_instances_send_each_receipt_once(
    db: Database, other: Database, make: Any
) -> None:
    await _users(make, USERS, autopay=True)
    await asyncio.gather(_autopay(db, DUE_TEN), _autopay(other, DUE_TEN))
    claimed: list[int] = []
    shares = []

    for now in (DUE_TEN, DUE_TEN + timedelta(seconds=30), DUE_TEN + LEASE * 2):
        first, second = await _race_claims(db, other, now)
        shares.append((len(first), len(second)))
        claimed += [i for batch in first + second for i in batch.log_ids]
        assert all(b.receipt is not None and b.items == () for b in first + second)
        await _deliver(db, first + second, now)

    receipts = await _log(db, "receipt")
    assert len(receipts) == USERS
    assert sorted(claimed) == sorted(i for i, _, _, _ in receipts)  # each once, none left
    assert {status for _, _, status, _ in receipts} == {"sent"}
    if _postgres(db):
        assert any(a > 0 and b > 0 for a, b in shares), shares


async def test_two_instances_claim_each_reminder_once(
    db: Database, other: Database, make: Any
) -> None:
    """Three reminder times (3, 1 and 0 days before), each raced for by both instances
    over several ticks; each sender records what it claimed before the next tick."""
    users = {user for user, _ in await _users(make, USERS)}
    shares = []
    claimed: list[tuple[int, int, int]] = []

    for days in (3, 1, 0):
        fires = datetime.combine(DUE - timedelta(days=days), time(1, 0), tzinfo=UTC)
        for now in (fires, fires + timedelta(seconds=30), fires + LEASE * 2):
            first, second = await _race_claims(db, other, now)
            shares.append((len(first), len(second)))
            for batch in first + second:
                claimed += [(batch.user_id, item.offset, item.log_id) for item in batch.items]
            await _deliver(db, first + second, now)

    assert len({log_id for _, _, log_id in claimed}) == len(claimed) == 3 * USERS
    assert Counter((user, days) for user, days, _ in claimed) == Counter(
        {(user, days): 1 for user in users for days in (3, 1, 0)}
    )
    rows = await _log(db, "before_due")
    assert len(rows) == 3 * USERS
    assert {status for _, _, status, _ in rows} == {"sent"}
    if _postgres(db):
        assert any(a > 0 and b > 0 for a, b in shares), shares


async def test_two_instances_bring_each_snooze_back_once(
    db: Database, other: Database, make: Any
) -> None:
    users = {user for user, _ in await _users(make, USERS)}
    sent_at = datetime(2026, 12, 2, 1, 0, 30, tzinfo=UTC)  # 09:00:30, three days before
    batches = await _claim(db, sent_at)
    await _deliver(db, batches, sent_at)
    for batch in batches:
        async with db.uow() as uow:
            result = await snooze(uow, batch.user_id, batch.log_ids[0], SnoozeChoice.HOUR, sent_at)
        assert result.status is SnoozeStatus.SNOOZED
    back_at = sent_at + timedelta(hours=1)
    snoozed = {i for i, _, _, _ in await _log(db, "snoozed")}
    assert len(snoozed) == USERS
    claimed: list[tuple[int, int]] = []
    shares = []

    for now in (back_at, back_at + timedelta(seconds=30), back_at + LEASE * 2):
        first, second = await _race_claims(db, other, now)
        shares.append((len(first), len(second)))
        for batch in first + second:
            assert [item.snoozed for item in batch.items] == [True]
            claimed += [(batch.user_id, item.log_id) for item in batch.items]
        await _deliver(db, first + second, now)

    assert sorted(log_id for _, log_id in claimed) == sorted(snoozed)
    assert {user for user, _ in claimed} == users
    assert {status for _, _, status, _ in await _log(db, "snoozed")} == {"sent"}
    if _postgres(db):
        assert any(a > 0 and b > 0 for a, b in shares), shares


async def test_two_instances_reclaim_each_lost_claim_once(
    db: Database, other: Database, make: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A sender died holding every reminder: after the lease both instances race to
    reclaim them, and each is reclaimed by one of them only."""
    users = {user for user, _ in await _users(make, USERS)}
    fires = datetime(2026, 12, 2, 1, 0, 30, tzinfo=UTC)
    lost = await _claim(db, fires)  # claimed, never sent, never recorded
    assert {b.user_id for b in lost} == users
    caplog.set_level(logging.WARNING, logger="core.services.reminder_sweep")
    caplog.clear()

    expired = fires + LEASE + timedelta(seconds=1)
    first, second = await _race_claims(db, other, expired)
    await _deliver(db, first + second, expired)
    later, later_too = await _race_claims(db, other, expired + LEASE * 2)

    reclaimed = sorted(i for b in first + second for i in b.log_ids)
    assert reclaimed == sorted(i for b in lost for i in b.log_ids)
    assert later == later_too == []
    warned = [r for r in caplog.records if "may go out twice" in r.getMessage()]
    assert len(warned) == USERS  # one warning per reclaimed message, from one instance


async def test_a_debit_skipped_while_the_user_was_busy_still_runs(
    db: Database, other: Database, make: Any
) -> None:
    """At the 10:00 sweep another transaction holds the user's row — a confirmation being
    tapped, or another instance's claim. PostgreSQL's sweep skips the user (SKIP LOCKED),
    SQLite's waits. Either way the 10:00 attempt must still run, at the next sweep: it must
    not be pushed to the 18:00 retry (nor, on the last day of grace, lost)."""
    [(user, card)] = await _users(make, 1, autopay=True)
    nine = datetime(2026, 12, 5, 1, 0, 30, tzinfo=UTC)  # the due-date reminder goes out
    await _deliver(db, await _claim(db, nine), nine)
    holding = asyncio.Event()

    async def hold_the_user() -> None:
        async with other.uow() as uow:
            await uow.session.execute(
                select(User).where(User.telegram_id == user).with_for_update()
            )
            holding.set()
            await asyncio.sleep(0.3)  # long enough for the sweep to meet the lock

    async def sweep_meanwhile() -> list[AutopayReceipt]:
        await holding.wait()
        return await _autopay(db, DUE_TEN)

    _, during = await asyncio.gather(hold_the_user(), sweep_meanwhile())
    debited = list(during)
    await _deliver(db, await _claim(db, DUE_TEN), DUE_TEN)  # the same sweep goes on
    for minutes in range(1, 11):  # the ticker's next sweeps, every minute
        now = DUE_TEN + timedelta(minutes=minutes)
        debited += await _autopay(db, now)
        await _deliver(db, await _claim(db, now), now)

    async with db.uow() as uow:
        keys = list(await uow.session.scalars(select(PaymentRow.idempotency_key)))
    assert [r.succeeded for r in debited] == [True]
    assert [key.split(":", 2)[2] for key in keys] == ["2026-12-05T02:00:00+00:00"]
    assert await make.balance(card) == Decimal("500.00") - INSTALLMENT
