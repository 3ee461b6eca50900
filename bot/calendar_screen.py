"""The ``/calendar`` screen: the dues of a few calendar months, a line per day, a total per
month, and its keyboard (other months, the .ics file, the subscription link).

The months' totals are in the head, so they show whatever else is cut; the day lines go
through :func:`bot.fit.fit`, and what does not fit is counted and totalled in one line.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import Action
from bot.fit import fit
from bot.keyboards import button
from bot.texts import day, esc, money, month_name, short_day, t
from core.domain.dues import Due, DueDay, DueMonth, Window
from core.money import ZERO

MONTHS_PER_PAGE = 3
# A day with more plans names this many and counts the rest: the line stays short.
NAMED_PER_DAY = 3


def calendar_screen(
    lang: str, today: date, shown: Window, months: Sequence[DueMonth], past_due: Decimal
) -> str:
    head = [t(lang, "calendar.title", first=day(shown.first, lang), last=day(shown.last, lang))]
    if past_due:
        head.append(t(lang, "calendar.past_due", amount=money(past_due)))
    if not months:
        return "\n".join([*head, t(lang, "calendar.nothing_due")])
    head += [
        t(lang, "calendar.month_total", month=month_name(m.first, lang), amount=money(m.total))
        for m in months
    ]
    items: list[str] = []
    amounts: list[Decimal | None] = []  # per item: a day's total, or None for a month's heading
    for month in months:
        items.append(t(lang, "calendar.month", month=month_name(month.first, lang)))
        amounts.append(None)
        for due_day in month.days:
            items.append(_day_line(lang, today, due_day))
            amounts.append(due_day.total)

    def more(left: int) -> str:
        hidden = [a for a in amounts[len(amounts) - left :] if a is not None]
        total = sum(hidden, ZERO)
        return t(lang, "calendar.more", count=len(hidden), amount=money(total))

    return fit(head, items, more=more)


def _day_line(lang: str, today: date, due_day: DueDay) -> str:
    named = [_what(lang, d) for d in due_day.dues[:NAMED_PER_DAY]]
    what = t(lang, "calendar.separator").join(named)
    left = len(due_day.dues) - len(named)
    if left:
        what = t(lang, "calendar.and_more", items=what, count=left)
    when = short_day(due_day.day, today, lang)
    return t(lang, "calendar.day", day=when, amount=money(due_day.total), what=what)


def _what(lang: str, due: Due) -> str:
    return t(lang, "calendar.item", title=esc(due.title), period=due.period, periods=due.periods)


def calendar_keyboard(lang: str, page: int, pages: int, has_link: bool) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    nav = []
    if page > 1:
        nav.append(button(t(lang, "button.calendar_earlier"), Action.CALENDAR, page - 1))
    if page < pages:
        nav.append(button(t(lang, "button.calendar_later"), Action.CALENDAR, page + 1))
    if nav:
        rows.append(nav)
    rows.append([button(t(lang, "button.calendar_file"), Action.CALENDAR_FILE)])
    rows.append([button(t(lang, "button.calendar_link"), Action.CALENDAR_LINK)])
    if has_link:
        rows.append([button(t(lang, "button.calendar_revoke"), Action.CALENDAR_REVOKE, "c")])
    return InlineKeyboardMarkup(rows)


def link_keyboard(lang: str) -> InlineKeyboardMarkup:
    """Under a link (or the note that one exists): make a new one, or stop it."""
    return InlineKeyboardMarkup(
        [
            [button(t(lang, "button.calendar_new_link"), Action.CALENDAR_LINK, "new")],
            [button(t(lang, "button.calendar_revoke"), Action.CALENDAR_REVOKE)],
        ]
    )


def add_first_keyboard(lang: str) -> InlineKeyboardMarkup:
    """For a person with no plan yet: start /add."""
    return InlineKeyboardMarkup([[button(t(lang, "button.add_first"), Action.ADD_START)]])
