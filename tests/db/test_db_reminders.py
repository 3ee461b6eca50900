"""Reminder settings (SPEC F7) stored per user, and parsing what people type for them."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from core.db.uow import Database
from core.services.errors import InvalidInput, NotFound
from core.services.reminders import (
    ReminderSettings,
    get_reminder_settings,
    parse_days,
    parse_time,
    update_reminder_settings,
)
from core.services.users import ensure_user

DEFAULTS = ReminderSettings(True, (3, 1, 0), time(9, 0), "Asia/Shanghai", True)


async def _settings(db: Database, user: int = 1) -> ReminderSettings:
    async with db.uow() as uow:
        return await get_reminder_settings(uow, user)


async def test_defaults_and_updates(db: Database, now: datetime) -> None:
    async with db.uow() as uow:
        await ensure_user(uow, 1, now)
        await ensure_user(uow, 2, now)
    assert await _settings(db) == DEFAULTS

    async with db.uow() as uow:
        changed = await update_reminder_settings(uow, 1, days_before=(1, 7, 1), at=time(21, 5, 30))
    expected = ReminderSettings(True, (7, 1), time(21, 5), "Asia/Shanghai", True)
    assert changed == expected
    assert await _settings(db) == expected  # stored, not just returned

    async with db.uow() as uow:
        await update_reminder_settings(
            uow, 1, enabled=False, timezone="Europe/Berlin", overdue_daily=False
        )
    assert await _settings(db) == ReminderSettings(
        False, (7, 1), time(21, 5), "Europe/Berlin", False
    )
    async with db.uow() as uow:
        await update_reminder_settings(uow, 1, days_before=(0,))
    assert (await _settings(db)).days_before == (0,)
    assert await _settings(db, 2) == DEFAULTS  # someone else's settings are untouched


async def test_bad_updates_change_nothing(db: Database, now: datetime) -> None:
    async with db.uow() as uow:
        await ensure_user(uow, 1, now)
    bad: list[dict[str, object]] = [
        {"days_before": ()},
        {"days_before": (31,)},
        {"days_before": (-1, 3)},
        {"days_before": (0, 1, 2, 3, 4, 5)},
        {"timezone": "Mars/Olympus"},
        {"timezone": ""},
    ]
    for change in bad:
        async with db.uow() as uow:
            with pytest.raises(InvalidInput):
                await update_reminder_settings(uow, 1, enabled=False, **change)  # type: ignore[arg-type]
    assert await _settings(db) == DEFAULTS
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await get_reminder_settings(uow, 404)
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await update_reminder_settings(uow, 404, enabled=False)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3,1,0", (3, 1, 0)),
        ("0,1,3", (3, 1, 0)),
        ("3 1 0", (3, 1, 0)),
        ("3，1，0", (3, 1, 0)),
        ("1,1,7", (7, 1)),
        (" 5 ", (5,)),
        ("30", (30,)),
        ("0", (0,)),
        ("3,,1", (3, 1)),
    ],
)
def test_parse_days_good(text: str, expected: tuple[int, ...]) -> None:
    assert parse_days(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "count"),
        (" , ", "count"),
        ("a", "not_a_number"),
        ("3;1", "not_a_number"),
        ("1.5", "not_a_number"),
        ("²", "not_a_number"),
        ("31", "range"),
        ("-1", "range"),
        ("0,1,2,3,4,5", "count"),
    ],
)
def test_parse_days_bad(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_days(text)
    assert (caught.value.field, caught.value.problem) == ("days_before", problem)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("9:00", time(9, 0)),
        ("09:30", time(9, 30)),
        ("21:05", time(21, 5)),
        ("21：05", time(21, 5)),
        (" 0:00 ", time(0, 0)),
        ("23:59", time(23, 59)),
        ("９:００", time(9, 0)),  # full-width digits from a Chinese keyboard
    ],
)
def test_parse_time_good(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "format"),
        ("9", "format"),
        ("9:5", "format"),
        ("9:005", "format"),
        ("123:00", "format"),
        ("ab:cd", "format"),
        ("-1:00", "format"),
        ("9.30", "format"),
        ("²:00", "format"),  # str.isdigit() accepts superscripts; int() does not
        ("9:⁵⁵", "format"),
        ("24:00", "range"),
        ("12:60", "range"),
    ],
)
def test_parse_time_bad(text: str, problem: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_time(text)
    assert (caught.value.field, caught.value.problem) == ("time", problem)
