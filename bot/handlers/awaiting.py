"""Questions whose answer is typed (an amount, a card name): what is awaited lives in the
persisted user data, so it survives a restart, and expires after ten minutes."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from telegram.ext import ContextTypes

TIMEOUT = timedelta(minutes=10)
KEY = "awaiting"


def expect(context: ContextTypes.DEFAULT_TYPE, what: str, now: datetime, **data: str) -> None:
    assert context.user_data is not None
    context.user_data[KEY] = {"what": what, "since": now.isoformat(), **data}


def pending(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any] | None:
    found = context.user_data.get(KEY) if context.user_data else None
    return found if isinstance(found, dict) else None


def expired(question: dict[str, Any], now: datetime) -> bool:
    return now - datetime.fromisoformat(question["since"]) > TIMEOUT


def done(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any] | None:
    """Stop waiting; returns what was awaited, if anything."""
    return context.user_data.pop(KEY, None) if context.user_data is not None else None
