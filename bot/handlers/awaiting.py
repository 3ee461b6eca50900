"""Questions whose answer is typed (an amount, a card name): what is awaited lives in the
persisted user data, so it survives a restart, and expires after the conversation timeout
(ten minutes by default), measured on the bot's clock."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from telegram.ext import ContextTypes

from core.settings import Settings

KEY = "awaiting"


def expect(context: ContextTypes.DEFAULT_TYPE, what: str, now: datetime, **data: str) -> None:
    assert context.user_data is not None
    context.user_data[KEY] = {"what": what, "since": now.isoformat(), **data}


def pending(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any] | None:
    found = context.user_data.get(KEY) if context.user_data else None
    return found if isinstance(found, dict) else None


def expired(question: dict[str, Any], now: datetime, settings: Settings) -> bool:
    timeout = timedelta(seconds=settings.conversation_timeout_seconds)
    return now - datetime.fromisoformat(question["since"]) > timeout


def done(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Any] | None:
    """Stop waiting; returns what was awaited, if anything."""
    return context.user_data.pop(KEY, None) if context.user_data is not None else None


def timeout_minutes(settings: Settings) -> int:
    """The timeout as people read it in messages."""
    return max(1, round(settings.conversation_timeout_seconds / 60))
