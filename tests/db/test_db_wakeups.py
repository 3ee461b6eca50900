"""Each user's next look: the sweep sets it to the first moment anything of theirs can
fall due, and every change that can bring something sooner wakes the user."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from core.db.models import AT_ONCE, User
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.services.methods import set_autopay
from core.services.reconcile import run_autopays
from core.services.reminder_sweep import claim_due_reminders
from core.services.reminders import update_reminder_settings
from core.services.send_outcomes import release
from core.services.users import set_active
from core.services.wakeups import MAX_SLEEP, is_due, wake

DUE = date(2026, 12, 5)
# 2026-12-01 12:00 Shanghai: the reminder 3 days before DUE (12-02 09:00) is 21 h away.
NOON = datetime(2026, 12, 1, 4, 0, tzinfo=UTC)
THREE_DAYS_BEFORE = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


async def _sweep(db: Database, now: datetime, **kw: Any) -> list[Any]:
    async with db.uow() as uow:
        return await claim_due_reminders(uow, now, **kw)


async def _next(db: Database, user_id: int) -> datetime | None:
    async with db.uow() as uow:
        found: datetime | None = await uow.session.scalar(
            select(User.next_sweep_at).where(User.telegram_id == user_id)
        )
        return found


async def _due_users(db: Database, now: datetime) -> list[int]:
    async with db.uow() as uow:
        return list(await uow.session.scalars(select(User.telegram_id).where(is_due(now))))


async def test_the_sweep_sleeps_until_the_next_reminder_and_only_then_looks_again(
    db: Database, make: Any
) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    assert await _due_users(db, NOON) == [user]  # a new user is looked at at once
    assert await _sweep(db, NOON) == []
    assert await _next(db, user) == THREE_DAYS_BEFORE
    assert await _due_users(db, THREE_DAYS_BEFORE - timedelta(seconds=1)) == []
    assert await _due_users(db, THREE_DAYS_BEFORE) == [user]
    [batch] = await _sweep(db, THREE_DAYS_BEFORE)
    assert batch.user_id == user
    # Next: the reminder one day before, two days on, so the day's cap comes first.
    assert await _next(db, user) == THREE_DAYS_BEFORE + MAX_SLEEP
    # A claim never recorded (its sender died) is found when its lease runs out, well
    # before the user's next look.
    lease_end = THREE_DAYS_BEFORE + timedelta(minutes=2)
    assert await _sweep(db, lease_end) == []
    [again] = await _sweep(db, lease_end + timedelta(seconds=1))
    assert again.log_ids == batch.log_ids
    assert await _next(db, user) == lease_end + timedelta(seconds=1) + MAX_SLEEP


async def test_nothing_due_for_a_day_sleeps_a_day_at_most(db: Database, make: Any) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=date(2027, 3, 5)))
    await _sweep(db, NOON)
    assert await _next(db, user) == NOON + MAX_SLEEP


async def test_an_auto_debit_attempt_is_a_reason_to_look(db: Database, make: Any) -> None:
    user, method = await make.user()
    plan = await make.plan(user, make.fee_plan(first_due=DUE))
    async with db.uow() as uow:
        await set_autopay(uow, user, plan, True, method)
    async with db.uow() as uow:
        await update_reminder_settings(uow, user, enabled=False)
    morning = datetime(2026, 12, 5, 0, 0, tzinfo=UTC)  # 08:00 on the due date, Shanghai
    ten = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # 10:00 there: the first attempt
    await _sweep(db, morning, autopay_at=time(10, 0))
    assert await _next(db, user) == ten
    # The auto-debit pass did not run for this user (say another transaction held it):
    # the attempt is due and not made, so the next look is at once, not at 18:00.
    await _sweep(db, ten, autopay_at=time(10, 0))
    assert await _next(db, user) == ten + timedelta(seconds=1)
    tick = ten + timedelta(seconds=30)  # the next sweep
    [receipt] = await run_autopays(db, tick, time(10, 0))
    assert receipt.succeeded
    await _sweep(db, tick, autopay_at=time(10, 0))
    # Paid (the receipt claimed): the 18:00 retry is moot; nothing else is due, so a day.
    assert await _next(db, user) == tick + MAX_SLEEP


async def test_changes_that_can_bring_work_sooner_wake_the_user(db: Database, make: Any) -> None:
    user, method = await make.user()
    plan = await make.plan(user, make.fee_plan(first_due=date(2027, 3, 5)))

    await _sweep(db, NOON)
    assert await _next(db, user) == NOON + MAX_SLEEP
    await make.plan(user, make.fee_plan(first_due=DUE, title="Second"))
    assert await _next(db, user) == AT_ONCE
    await _sweep(db, NOON)
    assert await _next(db, user) == THREE_DAYS_BEFORE
    async with db.uow() as uow:
        await update_reminder_settings(uow, user, at=time(7, 0))
    assert await _next(db, user) == AT_ONCE
    await _sweep(db, NOON)
    async with db.uow() as uow:
        await set_autopay(uow, user, plan, True, method)
    assert await _next(db, user) == AT_ONCE
    await _sweep(db, NOON)
    async with db.uow() as uow:
        await set_active(uow, user, False)
    async with db.uow() as uow:
        await set_active(uow, user, True)
    assert await _next(db, user) == AT_ONCE
    # wake(at) only ever brings the look forward.
    await _sweep(db, NOON)
    before = await _next(db, user)
    assert before is not None
    async with db.uow() as uow:
        await wake(uow, user, before + timedelta(hours=1))
        await uow.commit()
    assert await _next(db, user) == before
    async with db.uow() as uow:
        await wake(uow, user, NOON + timedelta(minutes=5))
        await uow.commit()
    assert await _next(db, user) == NOON + timedelta(minutes=5)


async def test_a_message_given_back_wakes_its_user_for_the_retry(db: Database, make: Any) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan(first_due=DUE))
    [batch] = await _sweep(db, THREE_DAYS_BEFORE)
    retry_at = THREE_DAYS_BEFORE + timedelta(seconds=30)
    async with db.uow() as uow:
        await release(uow, batch.log_ids, retry_at, count_attempt=False)
    assert await _next(db, user) == retry_at
    [again] = await _sweep(db, retry_at)
    assert again.log_ids == batch.log_ids


async def test_paid_and_blocked_users_are_not_woken_needlessly(db: Database, make: Any) -> None:
    user, _ = await make.user()
    plan = await make.plan(user, make.fee_plan(first_due=DUE, periods=1, principal="100"))
    await make.pay(user, QuoteKind.PERIOD, plan_id=plan)
    await _sweep(db, NOON)
    assert await _next(db, user) == NOON + MAX_SLEEP  # nothing owed: the daily look only
    async with db.uow() as uow:
        await set_active(uow, user, False)
    assert await _due_users(db, NOON + 2 * MAX_SLEEP) == [user]  # due, but…
    assert await _sweep(db, NOON + 2 * MAX_SLEEP) == []  # …inactive users are not read


async def test_next_looks_are_planned_for_many_users_at_once(db: Database, make: Any) -> None:
    """plan_next_sweeps directly: a reminder user, an auto-repay user whose attempt is due
    and not made, and an inactive user (only auto-debits count for them)."""
    from core.domain.reminders import ReminderPolicy
    from core.services.books import load_open_plans
    from core.services.reminder_sweep import policy_of
    from core.services.wakeups import Looked, plan_next_sweeps

    reminded, _ = await make.user()
    debited, card = await make.user()
    gone, _ = await make.user()
    await make.plan(reminded, make.fee_plan(first_due=DUE))
    plan = await make.plan(debited, make.fee_plan(first_due=DUE))
    await make.plan(gone, make.fee_plan(first_due=DUE))
    async with db.uow() as uow:
        await set_autopay(uow, debited, plan, True, card)
    async with db.uow() as uow:
        await update_reminder_settings(uow, debited, enabled=False)
    ten = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # the first attempt, 10:00 in Shanghai
    async with db.uow() as uow:
        users = {u: await uow.session.get(User, u) for u in (reminded, debited, gone)}
        plans = await load_open_plans(uow.session, list(users))
        looked = []
        for user_id, user in users.items():
            assert user is not None
            policy = ReminderPolicy(enabled=False) if user_id == gone else policy_of(user)
            looked.append(Looked.of(user, plans[user_id], policy, NOON))
        await plan_next_sweeps(uow, looked, NOON, time(10, 0))
        at_ten = Looked.of(looked[1].user, plans[debited], looked[1].policy, ten)
        await plan_next_sweeps(uow, [at_ten], ten, time(10, 0))  # attempt due, not run
        await uow.commit()
    assert await _next(db, reminded) == THREE_DAYS_BEFORE  # 21 h on: before the day's cap
    assert await _next(db, debited) == ten + timedelta(seconds=1)  # look again at once
    assert await _next(db, gone) == NOON + MAX_SLEEP  # no messages while away
