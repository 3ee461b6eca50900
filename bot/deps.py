"""What handlers need besides the update: the database, the settings and the clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from telegram.ext import ContextTypes

from core.db.uow import Database
from core.settings import Settings


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Deps:
    db: Database
    settings: Settings
    clock: Callable[[], datetime] = utc_now


def deps(context: ContextTypes.DEFAULT_TYPE | Any) -> Deps:
    found: Deps = context.bot_data["deps"]
    return found
