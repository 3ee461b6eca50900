"""What handlers need besides the update: the database, the settings and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from telegram.ext import ContextTypes

from bot.observability import Metrics
from core.db.uow import Database
from core.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SendState:
    """Per process: until when Telegram asked us to stop sending (a 429's retry_after)."""

    paused_until: datetime | None = None

    def paused(self, now: datetime) -> bool:
        return self.paused_until is not None and now < self.paused_until


@dataclass
class Deps:
    db: Database
    settings: Settings
    clock: Callable[[], datetime] = utc_now
    sending: SendState = field(default_factory=SendState)
    metrics: Metrics = field(default_factory=Metrics)


def deps(context: ContextTypes.DEFAULT_TYPE | Any) -> Deps:
    found: Deps = context.bot_data["deps"]
    return found
