"""The private calendar subscription link: a random secret token per user, revocable.

Only the token's SHA-256 is stored, so a copy of the database serves no one's calendar;
the link itself is shown once, when it is made. A token is looked up by its hash: an
attacker who times the lookup learns about hashes of their own guesses, never about the
stored token. Making a new link replaces the old one (which stops working at once); the
row goes with the user on ``/forget`` (ON DELETE CASCADE).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime

from sqlalchemy import delete, select

from core.db.models import CalendarFeedRow
from core.db.uow import UnitOfWork
from core.services.users import get_user

TOKEN_BYTES = 32  # 256 bits: not guessable, and 43 URL-safe characters
_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def make_link(uow: UnitOfWork, user_id: int, now: datetime) -> str:
    """A new secret token for the user's feed (the previous one, if any, stops working)."""
    await get_user(uow, user_id)
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = await uow.session.get(CalendarFeedRow, user_id)
    if row is None:
        uow.session.add(
            CalendarFeedRow(user_id=user_id, token_hash=token_hash(token), created_at=now)
        )
    else:
        row.token_hash, row.created_at = token_hash(token), now
    await uow.commit()
    return token


async def link_made_at(uow: UnitOfWork, user_id: int) -> datetime | None:
    """When the user's working link was made, or None if they have none."""
    return await uow.session.scalar(
        select(CalendarFeedRow.created_at).where(CalendarFeedRow.user_id == user_id)
    )


async def revoke_link(uow: UnitOfWork, user_id: int) -> bool:
    """Stop the user's link; False if there was none."""
    result = await uow.session.execute(
        delete(CalendarFeedRow).where(CalendarFeedRow.user_id == user_id)
    )
    await uow.commit()
    return bool(getattr(result, "rowcount", 0))


async def owner_of(uow: UnitOfWork, token: str) -> int | None:
    """Whose feed ``token`` opens, or None (malformed, revoked or never made)."""
    if not _TOKEN.fullmatch(token):
        return None
    return await uow.session.scalar(
        select(CalendarFeedRow.user_id).where(CalendarFeedRow.token_hash == token_hash(token))
    )
