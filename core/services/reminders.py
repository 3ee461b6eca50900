"""Reminder settings per user: on/off, days before due, time of day, zone, daily overdue notice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from core.db.models import AT_ONCE
from core.db.uow import UnitOfWork
from core.services.errors import InvalidInput
from core.services.users import check_timezone, get_user

MAX_OFFSETS = 5
MAX_DAYS_BEFORE = 30


@dataclass(frozen=True, slots=True)
class ReminderSettings:
    enabled: bool
    days_before: tuple[int, ...]
    at: time
    timezone: str
    overdue_daily: bool


def parse_days(text: str) -> tuple[int, ...]:
    """``"3,1,0"`` (or spaces, or Chinese commas) → (3, 1, 0), largest first, no repeats."""
    parts = text.replace("，", ",").replace(" ", ",").split(",")
    try:
        days = {int(part) for part in parts if part}
    except ValueError as exc:
        raise InvalidInput("days_before", "not_a_number") from exc
    if not days or len(days) > MAX_OFFSETS:
        raise InvalidInput("days_before", "count")
    if any(not 0 <= d <= MAX_DAYS_BEFORE for d in days):
        raise InvalidInput("days_before", "range")
    return tuple(sorted(days, reverse=True))


def parse_time(text: str) -> time:
    """``"9:00"``, ``"09:30"``, ``"21:05"`` → a time of day on the minute."""
    raw = text.strip().replace("：", ":")
    hours, _, minutes = raw.partition(":")
    if not (hours.isdecimal() and minutes.isdecimal() and len(minutes) == 2 and len(hours) <= 2):
        raise InvalidInput("time", "format")
    if int(hours) > 23 or int(minutes) > 59:
        raise InvalidInput("time", "range")
    return time(int(hours), int(minutes))


async def get_reminder_settings(uow: UnitOfWork, user_id: int) -> ReminderSettings:
    user = await get_user(uow, user_id)
    return ReminderSettings(
        user.reminders_enabled,
        parse_days(user.remind_days),
        user.remind_time,
        user.timezone,
        user.overdue_daily,
    )


async def update_reminder_settings(
    uow: UnitOfWork,
    user_id: int,
    *,
    enabled: bool | None = None,
    days_before: tuple[int, ...] | None = None,
    at: time | None = None,
    timezone: str | None = None,
    overdue_daily: bool | None = None,
) -> ReminderSettings:
    """Change any of the settings; the others stay as they are."""
    user = await get_user(uow, user_id)
    if days_before is not None:
        user.remind_days = ",".join(str(d) for d in parse_days(",".join(map(str, days_before))))
    if at is not None:
        user.remind_time = at.replace(second=0, microsecond=0, tzinfo=None)
    if timezone is not None:
        user.timezone = check_timezone(timezone)
    if enabled is not None:
        user.reminders_enabled = enabled
    if overdue_daily is not None:
        user.overdue_daily = overdue_daily
    user.next_sweep_at = AT_ONCE  # the new policy may bring a reminder sooner
    await uow.commit()
    return await get_reminder_settings(uow, user_id)
