"""When the sweep must next look at each user, so a sweep reads only users with work due.

Each user row carries ``next_sweep_at``: the sweep selects the users whose time has come
(``AT_ONCE``, the epoch, for a user to look at as soon as possible) and, after claiming
their messages, sets it to the first instant anything of theirs can fall due — a
reminder, an auto-debit attempt, a pending message — but never more than a day ahead.
Whatever can bring something due sooner (a new plan, a policy or auto-repay change, a
snooze, a send given back, the user returning) calls :func:`wake`. Waking too early
costs one look; waking too late would delay a reminder, which is why changes wake and
the day's cap stays as a safety net. A claim whose sender died is found by its expired
lease (``reminder_sweep``), not by a look planned here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import ColumnElement, func, select, update

from core.db.models import AT_ONCE, ReminderLogRow, User
from core.db.uow import UnitOfWork
from core.domain.quotes import open_positions
from core.domain.reminders import Owing, ReminderPolicy, next_fire_after
from core.domain.status import Position
from core.services.autopay_sweep import (
    attempt_slots,
    attempt_window,
    attempted_keys,
    pending_attempt_key,
)
from core.services.books import LoadedPlan, slices
from core.services.clock import local_date

MAX_SLEEP = timedelta(hours=24)


def is_due(now: datetime) -> ColumnElement[bool]:
    """The condition selecting users the sweep must look at now (one indexed comparison)."""
    return User.next_sweep_at <= now


async def wake(uow: UnitOfWork, user_id: int, at: datetime | None = None) -> None:
    """Have the sweep look at the user by ``at`` (at once when None); keeps an earlier time.

    Does not commit: it belongs to the change that caused it.
    """
    await uow.session.execute(
        update(User)
        .where(User.telegram_id == user_id, User.next_sweep_at > (at or AT_ONCE))
        .values(next_sweep_at=at or AT_ONCE)
    )


@dataclass(frozen=True, slots=True)
class Looked:
    """A user the sweep is looking at: their open installments as of ``on`` (their local
    date), computed once for the claims and the next look alike."""

    user: User
    policy: ReminderPolicy  # for an inactive user: disabled (their messages wait)
    on: date
    positions: dict[int, tuple[LoadedPlan, Position]]  # by installment id
    owing: list[Owing]  # the same installments as the reminder policy sees them
    plans: dict[int, LoadedPlan]  # by the key of the plan's first installment

    @classmethod
    def of(
        cls, user: User, plans: list[LoadedPlan], policy: ReminderPolicy, now: datetime
    ) -> Looked:
        on = local_date(now, user.timezone)
        positions: dict[int, tuple[LoadedPlan, Position]] = {}
        owing: list[Owing] = []
        by_first: dict[int, LoadedPlan] = {}
        for plan in plans:
            # A sweep's book holds the installments due up to a few days ahead, from
            # period 1: its first ledger is the plan's first installment whenever any
            # installment is late (the only time it keys anything).
            first = plan.book.ledgers[0]
            by_first[first.key] = plan
            grace, autopay = plan.book.terms.grace_days, plan.row.autopay
            for pos in open_positions([plan.book], on):
                key, due = pos.ledger.key, pos.ledger.installment.due_date
                positions[key] = (plan, pos)
                owing.append(
                    Owing(
                        key,
                        due,
                        pos.owed.total,
                        grace,
                        autopay,
                        first.key,
                        first.installment.due_date,
                    )
                )
        return cls(user, policy, on, positions, owing, by_first)

    def late(self, first_key: int) -> list[Position]:
        """The open installments past their grace of the plan whose first installment is
        ``first_key`` (what its overdue notice is about), oldest first."""
        plan = self.plans.get(first_key)
        if plan is None:
            return []
        grace = timedelta(days=plan.book.terms.grace_days)
        found = []
        for ledger in plan.book.ledgers:
            if ledger.installment.due_date + grace >= self.on:
                break  # ledgers are in period order: the rest are not late either
            if (held := self.positions.get(ledger.key)) is not None:
                found.append(held[1])
        return found


async def plan_next_sweeps(
    uow: UnitOfWork, looked: Sequence[Looked], now: datetime, autopay_at: time
) -> None:
    """Set when the sweep must next look at each of these users (two queries in all)."""
    slots: dict[int, list[tuple[str | None, datetime | None]]] = {}
    for one in looked:
        slots[one.user.telegram_id] = list(_attempts(one, now, autopay_at))
    keys = [key for found in slots.values() for key, _ in found if key is not None]
    ran = await attempted_keys(uow, keys)
    waiting = await _next_pending(uow, [one.user.telegram_id for one in looked if one.user.active])
    for one in looked:
        user = one.user
        candidates: list[datetime | None] = [now + MAX_SLEEP, waiting.get(user.telegram_id)]
        for key, upcoming in slots[user.telegram_id]:
            candidates.append(upcoming)
            # An attempt due but not run (the auto-debit pass skipped this user while
            # another transaction held it): look again at once, or it would be lost.
            if key is not None and key not in ran:
                candidates.append(now)
        candidates.append(next_fire_after(now, one.policy, one.owing))
        chosen = min(c for c in candidates if c is not None)
        user.next_sweep_at = max(chosen, now + timedelta(seconds=1))


def _attempts(
    one: Looked, now: datetime, autopay_at: time
) -> list[tuple[str | None, datetime | None]]:
    """Per open auto-repay installment: the key of its attempt due now (if any) and the
    time of its next attempt (if any)."""
    found = []
    # Past the window, an installment has no attempt pending nor to come.
    earliest, _ = attempt_window(now)
    for key, (plan, pos) in one.positions.items():
        item = pos.ledger.installment
        if not plan.row.autopay or item.due_date < earliest:
            continue
        slots = attempt_slots(
            item.due_date, plan.book.terms.grace_days, autopay_at, one.user.timezone
        )
        upcoming = next((s for s in slots if s > now), None)
        found.append((pending_attempt_key(key, slots, now), upcoming))
    return found


async def _next_pending(uow: UnitOfWork, user_ids: list[int]) -> dict[int, datetime]:
    """Each user's earliest pending message (a snooze, a send given back, a receipt)."""
    found: dict[int, datetime] = {}
    for ids in slices(user_ids):
        rows = await uow.session.execute(
            select(ReminderLogRow.user_id, func.min(ReminderLogRow.fire_at))
            .where(ReminderLogRow.status == "pending", ReminderLogRow.user_id.in_(ids))
            .group_by(ReminderLogRow.user_id)
        )
        found.update({user_id: at for user_id, at in rows.all() if user_id is not None})
    return found
