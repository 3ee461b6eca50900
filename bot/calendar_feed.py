"""The calendar feed (RFC 5545, built with ``icalendar``): the ``.ics`` file sent in chat
and the document served at the private subscription link are the same calendar.

- One all-day event per installment, on its due date, with a stable UID per plan and
  period, so a calendar that refreshes the feed (or imports a newer file) updates the
  event rather than adding another.
- An unpaid installment says what is left to pay and carries an alarm for each of the
  user's reminder days, at the user's reminder time (a trigger relative to the start of
  the due day: "3 days before, at 09:00" is ``-P2DT15H``). Alarms whose time has passed
  are left out, so a calendar never opens with a pile of stale alarms; with reminders off
  (/remind) there are none.
- A paid installment stays, marked paid and without alarms, while it is recent
  (``PAID_KEPT_DAYS``): a calendar that imported an older file sees it change to paid
  instead of keeping its alarm. Older paid ones are dropped.
- SEQUENCE counts the payments that changed the installment; DTSTAMP is when the calendar
  was made (``METHOD:PUBLISH``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from icalendar import Alarm, Calendar, Event, vDuration

from bot.texts import money, t
from core.db.uow import Database
from core.domain.dues import Due
from core.services.calendar import CalendarBooks, read_calendar
from core.services.calendar_feeds import owner_of

PAID_KEPT_DAYS = 92
# Subscribed calendars refresh when they like; this asks for twice a day.
REFRESH = timedelta(hours=12)
PRODID = "-//RepayBot//Repayment calendar//EN"
CONTENT_TYPE = "text/calendar"


def uid_of(due: Due) -> str:
    return f"plan-{due.plan_id}-period-{due.period}@repaybot"


def feed_bytes(books: CalendarBooks, now: datetime) -> bytes:
    """The user's calendar as an iCalendar document."""
    lang, zone = books.language, books.timezone
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    name = t(lang, "calendar.feed_name")
    calendar.add("name", name)
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    keep_from = books.on - timedelta(days=PAID_KEPT_DAYS)
    for due in books.dues():
        if due.paid and due.due_date < keep_from:
            continue
        calendar.add_component(_event(books, due, now))
    document: bytes = calendar.to_ical()
    return document


def _event(books: CalendarBooks, due: Due, now: datetime) -> Event:
    lang = books.language
    what = {"title": due.title, "period": due.period, "periods": due.periods}
    event = Event()
    event.add("uid", uid_of(due))
    event.add("dtstamp", now)
    event.add("sequence", due.revisions)
    event.add("dtstart", due.due_date)
    event.add("dtend", due.due_date + timedelta(days=1))
    event.add("transp", "TRANSPARENT")  # a due date does not make the person busy
    details = dict(what, provider=due.provider, charged=money(due.charged))
    if due.paid:
        event.add("summary", t(lang, "calendar.event_paid", **what))
        event.add("description", t(lang, "calendar.event_paid_details", **details))
        return event
    summary = t(lang, "calendar.event_due", amount=money(due.owed), **what)
    event.add("summary", summary)
    event.add("description", t(lang, "calendar.event_details", owed=money(due.owed), **details))
    if books.reminders:
        for days in books.days_before:
            if _alarm_instant(due.due_date, days, books.remind_at, books.timezone) > now:
                event.add_component(_alarm(summary, days, books.remind_at))
    return event


def _alarm(text: str, days_before: int, at: time) -> Alarm:
    alarm = Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("description", text)
    alarm.add("trigger", timedelta(days=-days_before, hours=at.hour, minutes=at.minute))
    return alarm


def _alarm_instant(due: date, days_before: int, at: time, zone: str) -> datetime:
    return datetime.combine(due - timedelta(days=days_before), at, tzinfo=ZoneInfo(zone))


def feed_filename(books: CalendarBooks) -> str:
    return f"repaybot-{books.on.isoformat()}.ics"


async def calendar_file(db: Database, user_id: int, now: datetime) -> tuple[str, bytes]:
    """The user's calendar as a file name and its bytes (built off the event loop: an
    account at the limits has 1,200 installments)."""
    async with db.uow() as uow:
        books = await read_calendar(uow, user_id, now)
    return feed_filename(books), await asyncio.to_thread(feed_bytes, books, now)


async def served_feed(db: Database, clock: Callable[[], datetime], token: str) -> bytes | None:
    """The calendar that ``token`` opens, or None (the HTTP route answers 404)."""
    now = clock()
    async with db.uow() as uow:
        user_id = await owner_of(uow, token)
        if user_id is None:
            return None
        books = await read_calendar(uow, user_id, now)
    return await asyncio.to_thread(feed_bytes, books, now)
