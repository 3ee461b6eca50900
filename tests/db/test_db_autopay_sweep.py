"""Auto-repay on the due date: success, a failed attempt retried at 18:00, the fallback
method, retries exhausted through grace, catch-up after downtime, once per attempt."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from core.db.models import PaymentRow
from core.db.uow import Database
from core.domain.status import InstallmentStatus
from core.services.autopay_sweep import attempt_slots
from core.services.methods import remove_method, set_autopay, top_up
from core.services.plans import get_plan
from core.services.reconcile import run_autopays

DUE = date(2026, 12, 5)
TEN = time(10, 0)
INSTALLMENT = Decimal("107.20")  # 1200.00 / 12 + 0.6 % fee
DUE_TEN = datetime(2026, 12, 5, 2, 0, 30, tzinfo=UTC)  # 10:00:30 in Shanghai
DUE_SIX_PM = datetime(2026, 12, 5, 10, 0, 30, tzinfo=UTC)


async def _run(db: Database, now: datetime) -> list[Any]:
    return await run_autopays(db, now, TEN)


async def _payments(db: Database) -> list[tuple[str, str, str | None]]:
    async with db.uow() as uow:
        rows = await uow.session.execute(
            select(PaymentRow.idempotency_key, PaymentRow.status, PaymentRow.failure_reason)
            .where(PaymentRow.kind == "auto")
            .order_by(PaymentRow.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def test_attempt_slots() -> None:
    slots = attempt_slots(DUE, 3, TEN, "Asia/Shanghai")
    local = [s.astimezone(UTC).replace(tzinfo=None) for s in slots]
    assert local == [
        datetime(2026, 12, 5, 2),
        datetime(2026, 12, 5, 10),
        datetime(2026, 12, 6, 2),
        datetime(2026, 12, 7, 2),
        datetime(2026, 12, 8, 2),
    ]


async def test_debits_on_the_due_date_once(db: Database, make: Any) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    assert await _run(db, DUE_TEN - timedelta(minutes=5)) == []  # 09:55 local
    [receipt] = await _run(db, DUE_TEN)
    assert receipt.succeeded
    assert receipt.amount == INSTALLMENT
    assert receipt.balance == Decimal("500.00") - INSTALLMENT
    assert await make.balance(card) == Decimal("500.00") - INSTALLMENT
    assert await _run(db, DUE_TEN + timedelta(minutes=1)) == []
    assert await _run(db, DUE_SIX_PM) == []  # paid: no retry
    assert [p[1] for p in await _payments(db)] == ["succeeded"]


async def test_insufficient_then_the_six_pm_retry_succeeds(db: Database, make: Any) -> None:
    user, card = await make.user(balance="50.00")
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    [failed] = await _run(db, DUE_TEN)
    assert not failed.succeeded
    assert failed.failure_reason == "insufficient_balance"
    assert failed.last_attempt is False
    assert await make.balance(card) == Decimal("50.00")
    async with db.uow() as uow:
        await top_up(uow, user, card, Decimal("200.00"), Decimal("50000.00"))
    [retried] = await _run(db, DUE_SIX_PM)
    assert retried.succeeded
    assert await make.balance(card) == Decimal("250.00") - INSTALLMENT


async def test_falls_back_to_the_default_method_when_the_plan_allows(
    db: Database, make: Any
) -> None:
    user, default = await make.user(balance="500.00")
    empty = await make.method(user, balance="0", label="Empty card", last4="0000")
    plan = await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    async with db.uow() as uow:
        await set_autopay(uow, user, plan, True, empty, fallback_to_default=True)
    [receipt] = await _run(db, DUE_TEN)
    assert receipt.succeeded
    assert await make.balance(default) == Decimal("500.00") - INSTALLMENT
    assert [(p[1], p[2]) for p in await _payments(db)] == [
        ("failed", "insufficient_balance"),
        ("succeeded", None),
    ]


async def test_without_fallback_the_plans_method_alone_is_tried(db: Database, make: Any) -> None:
    user, default = await make.user(balance="500.00")
    empty = await make.method(user, balance="0", label="Empty card", last4="0000")
    plan = await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    async with db.uow() as uow:
        await set_autopay(uow, user, plan, True, empty, fallback_to_default=False)
    [receipt] = await _run(db, DUE_TEN)
    assert not receipt.succeeded
    assert await make.balance(default) == Decimal("500.00")


async def test_retries_run_through_grace_then_it_is_overdue(
    db: Database, make: Any, now: datetime
) -> None:
    user, _ = await make.user(balance="0")
    plan = await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    outcomes = []
    for slot in attempt_slots(DUE, 3, TEN, "Asia/Shanghai"):
        outcomes += await _run(db, slot + timedelta(seconds=30))
    assert [r.succeeded for r in outcomes] == [False] * 5
    assert [r.last_attempt for r in outcomes] == [False, False, False, False, True]
    after_grace = datetime(2026, 12, 9, 2, 0, 30, tzinfo=UTC)
    assert await _run(db, after_grace) == []
    assert len(await _payments(db)) == 5
    async with db.uow() as uow:
        view = await get_plan(uow, user, plan, after_grace)
    assert view.installments[0].status is InstallmentStatus.OVERDUE
    assert view.installments[0].penalty > 0


async def test_catch_up_runs_only_the_latest_missed_attempt(db: Database, make: Any) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    next_day_noon = datetime(2026, 12, 6, 4, tzinfo=UTC)  # down since before the due date
    [receipt] = await _run(db, next_day_noon)
    assert receipt.succeeded
    [(key, status, _)] = await _payments(db)
    assert status == "succeeded"
    assert key.endswith("2026-12-06T02:00:00+00:00")  # the +1 day slot, not the missed ones
    assert await make.balance(card) == Decimal("500.00") - INSTALLMENT


async def test_no_method_is_reported_once(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    async with db.uow() as uow:
        await remove_method(uow, user, card, now)
    [receipt] = await _run(db, DUE_TEN)
    assert receipt.failure_reason == "no_method"
    assert await _run(db, DUE_TEN + timedelta(minutes=1)) == []
    assert [(p[1], p[2]) for p in await _payments(db)] == [("failed", "no_method")]


async def test_attempts_older_than_a_day_are_not_made_up(db: Database, make: Any) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    long_after = datetime(2026, 12, 20, 2, 0, 30, tzinfo=UTC)  # grace ended 12 days ago
    assert await _run(db, long_after) == []
    assert await make.balance(card) == Decimal("500.00")


async def test_a_user_who_blocked_the_bot_is_still_debited_without_a_busy_loop(
    db: Database, make: Any
) -> None:
    from core.db.models import User
    from core.services.reminder_sweep import claim_due_reminders
    from core.services.users import set_active

    user, _ = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan(first_due=DUE, autopay=True))
    async with db.uow() as uow:
        await set_active(uow, user, False)  # blocked: messages stop, the mandate does not
    [receipt] = await _run(db, DUE_TEN)
    assert receipt.succeeded
    async with db.uow() as uow:
        assert await claim_due_reminders(uow, DUE_TEN) == []  # nothing sent to them
    async with db.uow() as uow:
        row = await uow.session.get(User, user)
        assert row is not None
        # Their unsent receipt does not keep them due: the next look is the next
        # installment's first attempt or a day, not the next sweep.
        assert row.next_sweep_at is not None
        assert row.next_sweep_at >= DUE_TEN + timedelta(hours=23)
