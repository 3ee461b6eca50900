"""What ``/calendar`` and the calendar feed are made from: the user's plans as dues, and
the reminder settings the feed's alarms follow."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from core.db.uow import UnitOfWork
from core.domain.dues import Due, DuePlan, dues_of
from core.services.books import load_plans
from core.services.clock import local_date
from core.services.reminders import parse_days
from core.services.users import get_user


@dataclass(frozen=True, slots=True)
class CalendarBooks:
    """Read in one transaction; :meth:`dues` is pure work proportional to the account's
    installments, which a caller may do off the event loop."""

    on: date  # today in the user's zone
    language: str
    timezone: str
    reminders: bool
    days_before: tuple[int, ...]
    remind_at: time
    plans: tuple[DuePlan, ...]

    def dues(self) -> list[Due]:
        return dues_of(self.plans, self.on)


async def read_calendar(uow: UnitOfWork, user_id: int, now: datetime) -> CalendarBooks:
    user = await get_user(uow, user_id)
    plans = tuple(
        DuePlan(p.row.id, p.row.title, p.row.provider, p.book)
        for p in await load_plans(uow.session, user_id)
    )
    return CalendarBooks(
        local_date(now, user.timezone),
        user.language,
        user.timezone,
        user.reminders_enabled,
        parse_days(user.remind_days),
        user.remind_time,
        plans,
    )
