"""The reminder policy as first written: every moment of an installment since its due
date, one overdue reminder a day however long ago that was (a plan's: one a day while any
of its installments is late). Its cost grows with the days since the due date (issue 10
§3), so it lives here, as the definition the bounded ``core.domain.reminders`` must agree
with on ordinary inputs."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from core.domain.reminders import (
    CATCH_UP_WINDOW,
    DueNow,
    Owing,
    Reminder,
    ReminderKind,
    ReminderPolicy,
    local_instant,
)


def all_moments(owing: Owing, policy: ReminderPolicy, today: date) -> list[Reminder]:
    """Every reminder of one installment up to ``today`` (local), in firing order; its
    overdue days as its plan's overdue notices."""
    if not policy.enabled:
        return []
    found: list[Reminder] = []

    def add(kind: ReminderKind, day: date, offset: int) -> None:
        if day <= today:
            found.append(
                Reminder(kind, owing.key, offset, local_instant(day, policy.at, policy.timezone))
            )

    for days in policy.days_before:
        add(ReminderKind.BEFORE_DUE, owing.due_date - timedelta(days=days), days)
    if owing.autopay:
        add(ReminderKind.AUTOPAY_NOTICE, owing.due_date - timedelta(days=1), 1)
    if policy.overdue_daily:
        plan_key, plan_first_due = owing.plan
        first = owing.due_date + timedelta(days=owing.grace_days + 1)
        for n in range(max((today - first).days + 1, 0)):
            day = first + timedelta(days=n)
            instant = local_instant(day, policy.at, policy.timezone)
            found.append(
                Reminder(ReminderKind.OVERDUE, plan_key, (day - plan_first_due).days, instant)
            )
    return sorted(found, key=lambda r: (r.fire_at, r.kind.value))


def _relevance(reminder: Reminder) -> tuple[datetime, int]:
    rank = {ReminderKind.OVERDUE: 2, ReminderKind.AUTOPAY_NOTICE: 1, ReminderKind.BEFORE_DUE: 0}
    return reminder.fire_at, rank[reminder.kind]


def due_reminders_oracle(
    now: datetime,
    policy: ReminderPolicy,
    owing: Iterable[Owing],
    sent: frozenset[tuple[int, str, int]] = frozenset(),
    window: timedelta = CATCH_UP_WINDOW,
) -> DueNow:
    today = now.astimezone(ZoneInfo(policy.timezone)).date()
    chosen: list[Reminder] = []
    settled: set[tuple[int, str, int]] = set()
    subjects: dict[tuple[int, str], set[Reminder]] = {}
    for item in owing:
        for r in all_moments(item, policy, today):
            plan = r.kind is ReminderKind.OVERDUE
            subjects.setdefault((r.key, "plan" if plan else "installment"), set()).add(r)
    for reminders in subjects.values():
        fresh = [
            r for r in reminders if now - window < r.fire_at <= now and r.dedup_key not in sent
        ]
        if fresh:
            chosen.append(max(fresh, key=_relevance))
            settled.update(r.dedup_key for r in fresh)
    order = sorted(chosen, key=lambda r: (r.fire_at, r.key, r.kind.value))
    return DueNow(tuple(order), frozenset(settled))
