"""How far from today a plan's first due date may be, typed in /add or imported.

Bounded both ways so that no date can make the reminder and penalty work grow with the
days since it (1900-01-01), and no date leaves the calendar when the schedule adds or
subtracts months (0001-01-01, 9999-12-31).
"""

from __future__ import annotations

from datetime import date, timedelta

from core.domain.dates import DateError, DateProblem
from core.limits import MAX_FIRST_DUE_AHEAD_DAYS, MAX_FIRST_DUE_PAST_DAYS


def first_due_bounds(today: date) -> tuple[date, date]:
    """The earliest and the latest first due date accepted on ``today``."""
    return (
        today - timedelta(days=MAX_FIRST_DUE_PAST_DAYS),
        today + timedelta(days=MAX_FIRST_DUE_AHEAD_DAYS),
    )


def check_first_due(first_due: date, today: date) -> date:
    """``first_due`` if it is within the bounds, else ``DateError`` saying which side."""
    earliest, latest = first_due_bounds(today)
    if first_due < earliest:
        raise DateError(DateProblem.TOO_EARLY, first_due.isoformat())
    if first_due > latest:
        raise DateError(DateProblem.TOO_LATE, first_due.isoformat())
    return first_due
