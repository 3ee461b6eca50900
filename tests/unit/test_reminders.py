"""Reminder policy: local times across zones and DST days, catch-up window, relevance."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.domain import reminders as reminders_module
from core.domain.dates import due_date
from core.domain.reminders import (
    Owing,
    Reminder,
    ReminderKind,
    ReminderPolicy,
    due_reminders,
    local_instant,
    next_fire_after,
)
from core.limits import MAX_FIRST_DUE_PAST_DAYS, MAX_PLAN_PERIODS
from tests.unit.reminder_oracle import all_moments, due_reminders_oracle

NY = "America/New_York"
SPRING_2027 = date(2027, 3, 14)  # 02:00 → 03:00 in New York
FALL_2027 = date(2027, 11, 7)  # 02:00 → 01:00 in New York


def _owing(due: date, key: int = 1, **kw: object) -> Owing:
    return Owing(key, due, Decimal("267.90"), **kw)  # type: ignore[arg-type]


def test_local_instant_in_several_zones() -> None:
    day = date(2026, 12, 1)
    assert local_instant(day, time(9), "Asia/Shanghai") == datetime(2026, 12, 1, 1, tzinfo=UTC)
    assert local_instant(day, time(9), NY) == datetime(2026, 12, 1, 14, tzinfo=UTC)
    assert local_instant(day, time(9), "Europe/London") == datetime(2026, 12, 1, 9, tzinfo=UTC)


def test_new_york_spring_forward_and_fall_back() -> None:
    # 09:00 exists on both days: EDT after spring forward, EST after fall back.
    assert local_instant(SPRING_2027, time(9), NY) == datetime(2027, 3, 14, 13, tzinfo=UTC)
    assert local_instant(FALL_2027, time(9), NY) == datetime(2027, 11, 7, 14, tzinfo=UTC)
    # 02:30 does not exist on the spring day: it fires just after the gap, at 03:30 EDT.
    gap = local_instant(SPRING_2027, time(2, 30), NY)
    assert gap.astimezone(ZoneInfo(NY)).replace(tzinfo=None) == datetime(2027, 3, 14, 3, 30)
    # 01:30 happens twice on the fall day: it fires once, at the first (EDT) occurrence.
    twice = local_instant(FALL_2027, time(1, 30), NY)
    assert twice == datetime(2027, 11, 7, 5, 30, tzinfo=UTC)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([NY, "Europe/London", "Australia/Sydney", "Asia/Shanghai"]),
    st.dates(min_value=date(2026, 1, 1), max_value=date(2030, 12, 1)),
    st.times(),
)
def test_every_local_day_fires_once_and_in_order(zone: str, start: date, at: time) -> None:
    instants = [local_instant(start + timedelta(days=n), at, zone) for n in range(40)]
    assert instants == sorted(instants)
    assert len(set(instants)) == 40
    local_days = [i.astimezone(ZoneInfo(zone)).date() for i in instants]
    # A wall time in a spring-forward gap fires just after it, on the same day.
    assert local_days == [start + timedelta(days=n) for n in range(40)]


def test_the_reminders_of_an_installment_and_its_plan() -> None:
    """Before the due date, the installment's own reminders; once it is late, its plan's
    daily overdue notice, keyed by the plan's first installment and the day."""
    policy = ReminderPolicy(days_before=(3, 1, 0), at=time(9), timezone="Asia/Shanghai")
    due = date(2026, 12, 5)
    item = _owing(due, key=7, autopay=True, plan_key=5, plan_first_due=date(2026, 10, 5))

    def on(day: date) -> list[tuple[int, ReminderKind, int]]:
        now = local_instant(day, time(9, 1), policy.timezone)
        return [(r.key, r.kind, r.offset) for r in due_reminders(now, policy, [item]).send]

    assert on(date(2026, 12, 2)) == [(7, ReminderKind.BEFORE_DUE, 3)]
    assert on(date(2026, 12, 4)) == [(7, ReminderKind.AUTOPAY_NOTICE, 1)]
    assert on(date(2026, 12, 5)) == [(7, ReminderKind.BEFORE_DUE, 0)]
    assert on(date(2026, 12, 8)) == []  # the 3 days of grace
    # Late from the 4th day: the plan's notice, its offset counted from the plan's
    # first due date (Oct 5 → Dec 9 is 65 days).
    assert on(date(2026, 12, 9)) == [(5, ReminderKind.OVERDUE, 65)]
    assert on(date(2026, 12, 10)) == [(5, ReminderKind.OVERDUE, 66)]
    assert (
        due_reminders(
            local_instant(date(2026, 12, 9), time(9, 1), policy.timezone),
            ReminderPolicy(overdue_daily=False),
            [item],
        ).send
        == ()
    )


def test_a_plan_late_on_many_installments_gets_one_notice_a_day() -> None:
    policy = ReminderPolicy(timezone="UTC", at=time(9))
    first = date(2026, 6, 5)
    plan = [
        Owing(10 + n, due_date(first, 5, n + 1), Decimal("100"), 3, False, 10, first)
        for n in range(6)  # June … November, all late on December 20
    ]
    other = [Owing(30, date(2026, 11, 1), Decimal("50"), 3, False, 30, date(2026, 11, 1))]
    now = datetime(2026, 12, 20, 9, 1, tzinfo=UTC)
    due = due_reminders(now, policy, plan + other)
    assert [r.dedup_key for r in due.send] == [(10, "overdue", 198), (30, "overdue", 49)]
    assert due_reminders(now + timedelta(hours=1), policy, plan + other, due.settled).send == ()


def test_due_now_and_sent_once() -> None:
    policy = ReminderPolicy(timezone="Asia/Shanghai")
    owing = [_owing(date(2026, 12, 5), key=1), _owing(date(2026, 12, 5), key=2)]
    at_nine = datetime(2026, 12, 2, 1, 0, 30, tzinfo=UTC)  # 09:00:30 local, 3 days before
    due = due_reminders(at_nine, policy, owing)
    assert [(r.key, r.kind, r.offset) for r in due.send] == [
        (1, ReminderKind.BEFORE_DUE, 3),
        (2, ReminderKind.BEFORE_DUE, 3),
    ]
    assert due.settled == {r.dedup_key for r in due.send}
    later = due_reminders(at_nine + timedelta(minutes=1), policy, owing, due.settled)
    assert later.send == ()
    assert due_reminders(at_nine - timedelta(minutes=1), policy, owing).send == ()


def test_catch_up_sends_the_most_relevant_within_the_window_only() -> None:
    policy = ReminderPolicy(days_before=(3, 1, 0), timezone="Asia/Shanghai")
    owing = [_owing(date(2026, 12, 5))]
    # Down from before the 1-day reminder until 3 h after it: it goes out late, once.
    late = datetime(2026, 12, 4, 4, tzinfo=UTC)  # 12:00 local
    [reminder] = due_reminders(late, policy, owing).send
    assert (reminder.kind, reminder.offset) == (ReminderKind.BEFORE_DUE, 1)
    # Down for a day: the missed reminder is older than the window and is dropped.
    assert due_reminders(datetime(2026, 12, 4, 23, tzinfo=UTC), policy, owing).send == ()


def test_at_one_moment_the_most_relevant_goes_out_and_supersedes_the_rest() -> None:
    policy = ReminderPolicy(days_before=(1,), timezone="UTC", at=time(9))
    owing = [_owing(date(2026, 12, 5), autopay=True)]
    now = datetime(2026, 12, 4, 9, 5, tzinfo=UTC)  # the 1-day reminder and the autopay notice
    due = due_reminders(now, policy, owing)
    assert [(r.kind, r.offset) for r in due.send] == [(ReminderKind.AUTOPAY_NOTICE, 1)]
    assert due.settled == {(1, "autopay_notice", 1), (1, "before_due", 1)}
    assert due_reminders(now + timedelta(minutes=30), policy, owing, due.settled).send == ()


def test_overdue_daily_reminder() -> None:
    policy = ReminderPolicy(days_before=(0,), timezone="UTC", at=time(9))
    owing = [_owing(date(2026, 12, 1), grace_days=0)]
    [reminder] = due_reminders(datetime(2026, 12, 3, 9, 5, tzinfo=UTC), policy, owing).send
    assert (reminder.kind, reminder.offset) == (ReminderKind.OVERDUE, 2)
    assert reminder.dedup_key == (1, "overdue", 2)  # an installment that is its own plan
    assert isinstance(reminder, Reminder)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from([NY, "Asia/Shanghai", "Europe/London", "Australia/Sydney"]),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)),
    dues=st.lists(st.integers(min_value=-40, max_value=40), min_size=0, max_size=4),
    days_before=st.lists(st.integers(min_value=0, max_value=7), max_size=3, unique=True),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.sampled_from([0, 30, 59]),
    autopay=st.booleans(),
    overdue_daily=st.booleans(),
    grace=st.integers(min_value=0, max_value=5),
)
def test_next_fire_after_is_the_first_moment_after_now(
    zone: str,
    start: datetime,
    dues: list[int],
    days_before: list[int],
    hour: int,
    minute: int,
    autopay: bool,
    overdue_daily: bool,
    grace: int,
) -> None:
    """Against brute force: every moment of every installment over a long horizon."""
    now = start.replace(tzinfo=UTC)
    policy = ReminderPolicy(True, tuple(days_before), time(hour, minute), zone, overdue_daily)
    today = now.astimezone(ZoneInfo(zone)).date()
    owing = [
        _owing(today + timedelta(days=d), key=i, grace_days=grace, autopay=autopay)
        for i, d in enumerate(dues)
    ]
    horizon = today + timedelta(days=100)
    later = [r.fire_at for o in owing for r in all_moments(o, policy, horizon) if r.fire_at > now]
    assert next_fire_after(now, policy, owing) == min(later, default=None)


def test_next_fire_after_nothing_when_reminders_are_off() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    off = ReminderPolicy(enabled=False)
    assert next_fire_after(now, off, [_owing(date(2026, 12, 5))]) is None
    on = ReminderPolicy()
    # 3 days before 2026-12-05 at 09:00 Shanghai is 2026-12-02 01:00 UTC.
    expected = datetime(2026, 12, 2, 1, tzinfo=UTC)
    assert next_fire_after(now, on, [_owing(date(2026, 12, 5))]) == expected


# ------------------------------------------------- bounded by the window (issue 10 §3)

ZONES = [NY, "Asia/Shanghai", "Europe/London", "Australia/Sydney", "America/Santiago", "UTC"]


@settings(max_examples=400, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)),
    dues=st.lists(st.integers(min_value=-90, max_value=10), min_size=1, max_size=4),
    days_before=st.lists(st.integers(min_value=0, max_value=7), max_size=3, unique=True),
    at=st.times(),
    autopay=st.booleans(),
    overdue_daily=st.booleans(),
    grace=st.integers(min_value=0, max_value=5),
    window_hours=st.integers(min_value=1, max_value=72),
    sent_days=st.lists(st.integers(min_value=0, max_value=90), max_size=5),
    plans=st.integers(min_value=0, max_value=2),
)
def test_bounded_reminders_agree_with_the_day_by_day_definition(
    zone: str,
    start: datetime,
    dues: list[int],
    days_before: list[int],
    at: time,
    autopay: bool,
    overdue_daily: bool,
    grace: int,
    window_hours: int,
    sent_days: list[int],
    plans: int,
) -> None:
    """``plans``: 0, each installment its own plan; else the installments dealt into that
    many plans, each first due 100 days or more ago."""
    now = start.replace(tzinfo=UTC)
    policy = ReminderPolicy(True, tuple(days_before), at, zone, overdue_daily)
    today = now.astimezone(ZoneInfo(zone)).date()

    def plan_of(i: int) -> dict[str, object]:
        if not plans:
            return {}
        p = i % plans
        return {"plan_key": 100 + p, "plan_first_due": today - timedelta(days=100 + p)}

    owing = [
        _owing(today + timedelta(days=d), key=i, grace_days=grace, autopay=autopay, **plan_of(i))
        for i, d in enumerate(dues)
    ]
    sent = frozenset((i, "overdue", n) for i in range(len(dues)) for n in sent_days)
    sent |= {(100 + p, "overdue", 100 + p - d) for p in range(plans) for d in sent_days}
    window = timedelta(hours=window_hours)
    assert due_reminders(now, policy, owing, sent, window) == due_reminders_oracle(
        now, policy, owing, sent, window
    )


def test_a_plan_first_due_at_the_earliest_allowed_date_costs_only_its_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """60 installments all overdue since the earliest first due date a plan may have:
    the work is a few moments per installment, not one per day since then."""
    now = datetime(2026, 12, 4, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
    first = now.date() - timedelta(days=MAX_FIRST_DUE_PAST_DAYS)
    owing = [
        Owing(k, due_date(first, first.day, k), Decimal("100.00"), autopay=True)
        for k in range(1, MAX_PLAN_PERIODS + 1)
    ]
    policy = ReminderPolicy()
    computed: list[date] = []
    real = reminders_module.local_instant

    def counting(day: date, at: time, timezone: str) -> datetime:
        computed.append(day)
        return real(day, at, timezone)

    monkeypatch.setattr(reminders_module, "local_instant", counting)
    due = due_reminders(now, policy, owing)
    assert len(due.send) == sum(o.due_date < now.date() - timedelta(days=3) for o in owing)
    # The 6-hour window spans at most two local days, one more for a fall back at midnight.
    assert len(computed) <= 3 * MAX_PLAN_PERIODS
    assert min(computed) >= now.date() - timedelta(days=2)
