"""Import files whose dates are relative: written for one day (``relative_to``) and moved to
the day they are loaded, so sample data shows the same story on any day."""

from __future__ import annotations

from datetime import date, datetime

from core.importer.schema import UserIn
from core.services.clock import local_date


def anchored(user: UserIn, relative_to: date | None, now: datetime) -> UserIn:
    """``user`` with every plan date moved by the days from ``relative_to`` to the import
    day in the user's zone; unchanged when the file's dates are absolute (no
    ``relative_to``)."""
    if relative_to is None:
        return user
    shift = local_date(now, user.timezone) - relative_to
    if not shift:
        return user
    plans = [
        plan.model_copy(
            update={
                "first_due": plan.first_due + shift,
                "start_date": None if plan.start_date is None else plan.start_date + shift,
            }
        )
        for plan in user.plans
    ]
    return user.model_copy(update={"plans": plans})


__all__ = ["anchored"]
