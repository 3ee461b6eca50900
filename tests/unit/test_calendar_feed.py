"""core.domain.dues (what is coming, by day and month) and bot.calendar_feed (the iCalendar
document), read back with icalendar's own parser."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar, Event

from bot.calendar_feed import PAID_KEPT_DAYS, feed_bytes, uid_of
from core.domain.dues import DuePlan, dues_of, last_unpaid, months_of, pages_until, window
from core.domain.ledger import InstallmentLedger, Parts, PlanBook, Receipt
from core.domain.schedule import build_schedule
from core.domain.terms import Method, PlanTerms
from core.services.calendar import CalendarBooks

# ¥400 a period, due on the 15th of 2026-12 .. 2027-05.
TERMS = PlanTerms(Decimal("2400.00"), 6, Method.INTEREST_FREE, Decimal(0), date(2026, 12, 15))
# ¥100 a period, due on the 5th of 2026-06 .. 2027-05: six already paid.
OLD = PlanTerms(Decimal("1200.00"), 12, Method.INTEREST_FREE, Decimal(0), date(2026, 6, 5))
TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def _book(key: int, terms: PlanTerms, paid: int = 0) -> PlanBook:
    """A plan whose first ``paid`` periods were paid on time (on the earlier of the due
    date and TODAY)."""
    ledgers = []
    for k, item in enumerate(build_schedule(terms)):
        receipts = ()
        if k < paid:
            on = min(item.due_date, TODAY)
            receipts = (Receipt(on, Parts(principal=item.principal)),)
        ledgers.append(InstallmentLedger(100 * key + k, item, receipts))
    return PlanBook(key, terms, tuple(ledgers))


def _plans(paid: int = 0) -> tuple[DuePlan, ...]:
    return (
        DuePlan(1, "iPhone 16", "花呗", _book(1, TERMS, paid)),
        DuePlan(2, "Kindle", "京东白条", _book(2, OLD, 6)),
    )


def _books(
    language: str = "zh", paid: int = 0, *, reminders: bool = True, zone: str = "Asia/Shanghai"
) -> CalendarBooks:
    return CalendarBooks(TODAY, language, zone, reminders, (3, 1, 0), time(9, 0), _plans(paid))


def _events(body: bytes) -> dict[str, Event]:
    calendar = Calendar.from_ical(body)
    return {str(e["uid"]): e for e in calendar.events}


def test_months_group_unpaid_dues_by_day_with_totals() -> None:
    dues = dues_of(_plans(), TODAY)
    shown = window(TODAY, 1, 3)
    assert (shown.first, shown.last) == (TODAY, date(2027, 2, 28))
    months = months_of(dues, shown)
    assert [m.first for m in months] == [date(2026, 12, 1), date(2027, 1, 1), date(2027, 2, 1)]
    december = months[0]
    assert [d.day for d in december.days] == [date(2026, 12, 5), date(2026, 12, 15)]
    assert december.total == Decimal("500.00")
    assert window(TODAY, 2, 3).first == date(2027, 3, 1)
    assert pages_until(TODAY, last_unpaid(dues), 3) == 2  # the last due is 2027-05


def test_paid_dues_leave_the_months() -> None:
    months = months_of(dues_of(_plans(paid=1), TODAY), window(TODAY, 1, 3))
    assert months[0].total == Decimal("100.00")  # only the Kindle's on the 5th


def test_feed_has_an_event_per_installment_with_alarms_at_the_reminder_times() -> None:
    events = _events(feed_bytes(_books(), NOW))
    # 6 unpaid + 6 unpaid of the Kindle + its paid ones within PAID_KEPT_DAYS (Sep..Nov).
    assert len(events) == 6 + 6 + 3
    first = events["plan-1-period-1@repaybot"]
    assert date(2026, 12, 15) == first.DTSTART
    assert date(2026, 12, 16) == first.DTEND
    assert str(first["summary"]) == "还款 ¥400.00 · iPhone 16 第1/6期"
    alarms = first.alarms
    alarms.set_local_timezone("Asia/Shanghai")
    zone = ZoneInfo("Asia/Shanghai")
    assert sorted(a.trigger for a in alarms.times) == [
        datetime(2026, 12, d, 9, 0, tzinfo=zone) for d in (12, 14, 15)
    ]
    assert int(first["sequence"]) == 0
    assert first.DTSTAMP == NOW


def test_paid_installments_are_marked_and_lose_their_alarms() -> None:
    before = _events(feed_bytes(_books(), NOW))
    after = _events(feed_bytes(_books(paid=1), NOW))
    assert set(before) == set(after)  # the same UIDs: calendars update, never duplicate
    paid = after["plan-1-period-1@repaybot"]
    assert str(paid["summary"]).startswith("✅ 已还清")
    assert paid.alarms.times == []
    assert int(paid["sequence"]) == 1  # one payment changed it
    old_paid = [u for u, e in after.items() if u.startswith("plan-2-") and "✅" in e["summary"]]
    assert len(old_paid) == 3  # Sep, Oct, Nov: the older ones are dropped
    assert all((TODAY - after[u].DTSTART).days <= PAID_KEPT_DAYS for u in old_paid)


def test_past_alarms_and_disabled_reminders_give_no_alarms() -> None:
    late = datetime(2026, 12, 14, 3, 0, tzinfo=UTC)  # 11:00 on the 14th in Shanghai
    first = _events(feed_bytes(_books(), late))["plan-1-period-1@repaybot"]
    first.alarms.set_local_timezone("Asia/Shanghai")
    assert [a.trigger.day for a in first.alarms.times] == [15]  # only the due day's
    quiet = _events(feed_bytes(_books(reminders=False), NOW))
    assert all(e.alarms.times == [] for e in quiet.values())


@pytest.mark.parametrize(
    ("language", "summary", "name"),
    [
        ("en", "Pay ¥400.00 · iPhone 16 1/6", "Repayments · RepayBot"),
        ("zh", "还款 ¥400.00", "还款日历"),
    ],
)
def test_feed_speaks_the_users_language(language: str, summary: str, name: str) -> None:
    calendar = Calendar.from_ical(feed_bytes(_books(language), NOW))
    assert name in str(calendar["x-wr-calname"])
    assert str(calendar["x-wr-timezone"]) == "Asia/Shanghai"
    event = next(e for e in calendar.events if e["uid"] == "plan-1-period-1@repaybot")
    assert str(event["summary"]).startswith(summary)


def test_uid_is_stable_per_plan_and_period() -> None:
    [due] = [d for d in dues_of(_plans(), TODAY) if d.plan_id == 1 and d.period == 2]
    assert uid_of(due) == "plan-1-period-2@repaybot"
