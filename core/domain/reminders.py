"""Reminder policy: when each reminder of an installment is due, in the user's zone.

Pure: the sweep passes the instant, the user's policy and what is owed; this module
says which reminders are due now. The sweep records each one under a unique key
(installment, kind, offset), so a reminder goes out at most once.

Reminders before a due date are an installment's; the daily overdue notice is a plan's:
one a day however many of its installments are late, keyed by the plan's first
installment (which stays whatever is paid) and the day. A plan late on 60 installments
is one line and one record a day, not 60 (issue 10 §3).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from zoneinfo import ZoneInfo

CATCH_UP_WINDOW = timedelta(hours=6)
ONE_DAY = timedelta(days=1)


class ReminderKind(StrEnum):
    BEFORE_DUE = "before_due"  # offset: days before the due date
    # A plan's, one a day while any installment is late. Key: the plan's first installment;
    # offset: the day's distance from that installment's due date.
    OVERDUE = "overdue"
    AUTOPAY_NOTICE = "autopay_notice"  # offset 1: the day before an auto-repay


@dataclass(frozen=True, slots=True)
class ReminderPolicy:
    enabled: bool = True
    days_before: tuple[int, ...] = (3, 1, 0)
    at: time = time(9, 0)
    timezone: str = "Asia/Shanghai"
    overdue_daily: bool = True


@dataclass(frozen=True, slots=True)
class Owing:
    """An installment that still owes something, as the sweep sees it."""

    key: int
    due_date: date
    amount: Decimal
    grace_days: int = 3
    autopay: bool = False
    # The plan's first installment (its key and due date), which keys the plan's overdue
    # notice; None: the installment stands for a plan of its own.
    plan_key: int | None = None
    plan_first_due: date | None = None

    @property
    def plan(self) -> tuple[int, date]:
        if self.plan_key is None or self.plan_first_due is None:
            return self.key, self.due_date
        return self.plan_key, self.plan_first_due


@dataclass(frozen=True, slots=True)
class Reminder:
    kind: ReminderKind
    key: int  # the installment (an overdue notice: the plan's first installment)
    offset: int
    fire_at: datetime  # UTC

    @property
    def dedup_key(self) -> tuple[int, str, int]:
        return (self.key, self.kind.value, self.offset)


@lru_cache(maxsize=8192)  # a sweep asks for the same few days for every installment
def local_instant(day: date, at: time, timezone: str) -> datetime:
    """``at`` on ``day`` in ``timezone``, as a UTC instant.

    A time that does not exist that day (spring forward) fires as the same wall time
    read with the offset before the change, i.e. just after the gap; a time that
    occurs twice (fall back) fires at its first occurrence. Each local day therefore
    has exactly one instant, and the instants of consecutive days increase.
    """
    local = datetime.combine(day, at.replace(tzinfo=None), tzinfo=ZoneInfo(timezone))
    return local.replace(fold=0).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class DueNow:
    """What to send now, and every key to record as settled: the sent ones and the
    missed ones they supersede, so no superseded reminder goes out later."""

    send: tuple[Reminder, ...]
    settled: frozenset[tuple[int, str, int]]


def due_reminders(
    now: datetime,
    policy: ReminderPolicy,
    owing: Iterable[Owing],
    sent: set[tuple[int, str, int]] | frozenset[tuple[int, str, int]] = frozenset(),
    window: timedelta = CATCH_UP_WINDOW,
) -> DueNow:
    """What to send to one user at ``now``: per installment (per plan for the overdue
    notice), the most relevant reminder that fell due within ``window`` and was not sent;
    older missed ones are dropped.

    The caller sends ``send`` as one message (consolidation) and records ``settled``.
    """
    return choose(window_reminders(now, policy, owing, window), sent)


def window_reminders(
    now: datetime,
    policy: ReminderPolicy,
    owing: Iterable[Owing],
    window: timedelta = CATCH_UP_WINDOW,
) -> list[list[Reminder]]:
    """Per installment, its reminders before its due date that fell due within ``window``
    before ``now``, and per plan its overdue notices of the window, sent or not.

    The instants of the window's days are computed once for all installments; each
    installment then costs a few integer comparisons per day (a sweep asks this of every
    open installment of a user, 1,200 at the limits).
    """
    if not policy.enabled:
        return []
    days = _window_days(now, policy, window)
    before = frozenset(policy.days_before)
    found: list[list[Reminder]] = []
    late: dict[tuple[int, date], set[tuple[date, datetime]]] = {}
    for item in owing:
        fresh: list[Reminder] = []
        for day, instant in days:
            ahead = (item.due_date - day).days
            if ahead in before:
                fresh.append(Reminder(ReminderKind.BEFORE_DUE, item.key, ahead, instant))
            if ahead == 1 and item.autopay:
                fresh.append(Reminder(ReminderKind.AUTOPAY_NOTICE, item.key, 1, instant))
            if policy.overdue_daily and -ahead > item.grace_days:
                late.setdefault(item.plan, set()).add((day, instant))
        if fresh:
            found.append(fresh)
    for (plan_key, first_due), late_days in late.items():
        found.append(
            [
                Reminder(ReminderKind.OVERDUE, plan_key, (day - first_due).days, instant)
                for day, instant in sorted(late_days)
            ]
        )
    return found


def _window_days(
    now: datetime, policy: ReminderPolicy, window: timedelta
) -> list[tuple[date, datetime]]:
    """The local days with their reminder instant, for every day whose instant is within
    ``window`` before ``now``."""
    zone = ZoneInfo(policy.timezone)
    today = now.astimezone(zone).date()
    # A moment fires on its own local day (``local_instant``), so one after ``now - window``
    # is on that instant's local day or later — a day earlier at most where the clock
    # falls back across midnight (Santiago): the window bounds the days looked at.
    day = (now - window).astimezone(zone).date() - timedelta(days=1)
    days = []
    while day <= today:
        instant = local_instant(day, policy.at, policy.timezone)
        if now - window < instant <= now:
            days.append((day, instant))
        day += timedelta(days=1)
    return days


def choose(
    fresh: Iterable[list[Reminder]],
    sent: set[tuple[int, str, int]] | frozenset[tuple[int, str, int]] = frozenset(),
) -> DueNow:
    """From each installment's (or plan's) reminders of the window
    (:func:`window_reminders`), the most relevant not yet ``sent``; all of them not yet
    sent are settled."""
    chosen: list[Reminder] = []
    settled: set[tuple[int, str, int]] = set()
    for reminders in fresh:
        unsent = [r for r in reminders if r.dedup_key not in sent]
        if unsent:
            chosen.append(max(unsent, key=_relevance))
            settled.update(r.dedup_key for r in unsent)
    return DueNow(tuple(sorted(chosen, key=_order)), frozenset(settled))


# The latest moment is the most relevant. At the same moment an overdue notice comes
# first, then the auto-repay notice (it names the card and warns of a short balance).
_RANK = {ReminderKind.OVERDUE: 2, ReminderKind.AUTOPAY_NOTICE: 1, ReminderKind.BEFORE_DUE: 0}


def _order(reminder: Reminder) -> tuple[datetime, int, str]:
    return reminder.fire_at, reminder.key, reminder.kind.value


def _relevance(reminder: Reminder) -> tuple[datetime, int]:
    return reminder.fire_at, _RANK[reminder.kind]


def next_fire_after(
    now: datetime, policy: ReminderPolicy, owing: Iterable[Owing]
) -> datetime | None:
    """The first instant after ``now`` at which any reminder of these installments fires
    (None when none will): how long a sweep may leave this user alone."""
    if not policy.enabled:
        return None
    today = now.astimezone(ZoneInfo(policy.timezone)).date()
    # The instants of consecutive local days increase (``local_instant``), and today's
    # is the last that may have passed: the first moment after ``now`` is that of the
    # earliest day, from ``start`` on, on which any reminder fires. Days as ordinals keep
    # this a few integer comparisons per installment.
    start = today if local_instant(today, policy.at, policy.timezone) > now else today + ONE_DAY
    first = start.toordinal()
    before = policy.days_before
    best: int | None = None
    for item in owing:
        due = item.due_date.toordinal()
        days = [due - d for d in before]
        if item.autopay:
            days.append(due - 1)
        if policy.overdue_daily:
            late = max(due + item.grace_days + 1, today.toordinal())
            days += [late, late + 1]
        for day in days:
            if day >= first and (best is None or day < best):
                best = day
    if best is None:
        return None
    return local_instant(date.fromordinal(best), policy.at, policy.timezone)
