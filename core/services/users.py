"""Users: registration on first contact, language and zone, activity (forgetting: forget.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError

from core.db.models import AT_ONCE, PlanRow, User
from core.db.uow import UnitOfWork
from core.services.errors import InvalidInput, NotFound
from core.zones import is_known_zone

LANGUAGES = ("zh", "en")


def normalize_language(code: str | None, default: str) -> str:
    """Map a Telegram ``language_code`` (``zh-hans``, ``en-US``) onto a supported language."""
    if code:
        base = code.split("-")[0].split("_")[0].lower()
        if base in LANGUAGES:
            return base
    return default


def check_timezone(name: str) -> str:
    if not is_known_zone(name):
        raise InvalidInput("timezone", "unknown_zone")
    return name


@dataclass(frozen=True, slots=True)
class UserView:
    telegram_id: int
    language: str
    timezone: str
    active: bool
    created: bool = False


def _view(user: User, created: bool = False) -> UserView:
    return UserView(user.telegram_id, user.language, user.timezone, user.active, created)


async def get_user(uow: UnitOfWork, telegram_id: int) -> User:
    user = await uow.session.get(User, telegram_id)
    if user is None:
        raise NotFound("user")
    return user


async def lock_user(uow: UnitOfWork, telegram_id: int) -> User:
    """The user, row-locked until the unit of work ends (PostgreSQL ``FOR UPDATE``).

    Services that read a user's balances and then write money take this lock first,
    so two of them for one user run one after the other. SQLite needs no row lock:
    every transaction there already holds the write lock from its ``BEGIN IMMEDIATE``.
    """
    user = await uow.session.scalar(
        select(User)
        .where(User.telegram_id == telegram_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if user is None:
        raise NotFound("user")
    return user


async def ensure_user(
    uow: UnitOfWork,
    telegram_id: int,
    now: datetime,
    *,
    language_code: str | None = None,
    default_language: str = "zh",
    default_timezone: str = "Asia/Shanghai",
) -> UserView:
    """Register a user on first contact, or mark a returning one active again."""
    user = await uow.session.get(User, telegram_id)
    if user is not None:
        if not user.active:
            user.active = True
            await uow.commit()
        return _view(user)
    user = User(
        telegram_id=telegram_id,
        language=normalize_language(language_code, default_language),
        timezone=check_timezone(default_timezone),
        created_at=now,
    )
    uow.session.add(user)
    try:
        await uow.commit()
    except IntegrityError:
        # The same person's first two messages raced; the other one registered them.
        await uow.rollback()
        return _view(await get_user(uow, telegram_id))
    return _view(user, created=True)


async def set_language(uow: UnitOfWork, telegram_id: int, language: str) -> UserView:
    if language not in LANGUAGES:
        raise InvalidInput("language", "unsupported")
    user = await get_user(uow, telegram_id)
    user.language = language
    await uow.commit()
    return _view(user)


async def set_active(uow: UnitOfWork, telegram_id: int, active: bool) -> bool:
    """Mark a chat (in)active, e.g. when the user blocks the bot; False if unknown."""
    user = await uow.session.get(User, telegram_id)
    if user is None:
        return False
    if active and not user.active:
        user.next_sweep_at = AT_ONCE  # back: look at them at once
    user.active = active
    await uow.commit()
    return True


async def has_plans(uow: UnitOfWork, telegram_id: int) -> bool:
    """Whether the user has any plan, open or paid off (a new one is offered to add one)."""
    found = await uow.session.scalar(select(exists().where(PlanRow.user_id == telegram_id)))
    return bool(found)
