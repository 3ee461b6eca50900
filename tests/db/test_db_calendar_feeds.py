"""The private calendar link on a real database: only the token's hash is stored, a new
link replaces the old, revoking stops it, and /forget takes it away (with or without
keeping payment records). And the calendar read for a user: dues of every plan."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db.models import CalendarFeedRow
from core.db.uow import Database
from core.services.calendar import read_calendar
from core.services.calendar_feeds import (
    link_made_at,
    make_link,
    owner_of,
    revoke_link,
    token_hash,
)
from core.services.errors import NotFound
from core.services.forget import forget_user


async def _owner(db: Database, token: str) -> int | None:
    async with db.uow() as uow:
        return await owner_of(uow, token)


async def test_a_link_opens_its_owners_feed_and_only_its_hash_is_kept(
    db: Database, make: Any, now: datetime
) -> None:
    user, _ = await make.user()
    other, _ = await make.user()
    async with db.uow() as uow:
        token = await make_link(uow, user, now)
    async with db.uow() as uow:
        theirs = await make_link(uow, other, now)
    assert await _owner(db, token) == user
    assert await _owner(db, theirs) == other
    async with db.uow() as uow:
        stored = list(await uow.session.scalars(select(CalendarFeedRow.token_hash)))
        assert await link_made_at(uow, user) == now
    assert token not in stored
    assert token_hash(token) in stored
    for guess in ("", "x", token[:-1], token + "A", token[:-1] + "\n", "../" + token):
        assert await _owner(db, guess) is None


async def test_a_new_link_replaces_the_old_and_revoking_stops_it(
    db: Database, make: Any, now: datetime
) -> None:
    user, _ = await make.user()
    async with db.uow() as uow:
        first = await make_link(uow, user, now)
    async with db.uow() as uow:
        second = await make_link(uow, user, now)
    assert first != second
    assert await _owner(db, first) is None
    assert await _owner(db, second) == user
    async with db.uow() as uow:
        assert await revoke_link(uow, user) is True
    async with db.uow() as uow:
        assert await revoke_link(uow, user) is False
        assert await link_made_at(uow, user) is None
    assert await _owner(db, second) is None


async def test_an_unknown_user_gets_no_link(db: Database, now: datetime) -> None:
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await make_link(uow, 424242, now)


@pytest.mark.parametrize("keep", [False, True])
async def test_forget_takes_the_link_away(
    db: Database, make: Any, now: datetime, keep: bool
) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan())
    async with db.uow() as uow:
        token = await make_link(uow, user, now)
    async with db.uow() as uow:
        await forget_user(uow, user, now, keep_payment_records=keep)
    assert await _owner(db, token) is None
    async with db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(CalendarFeedRow)) == 0


async def test_the_calendar_holds_every_installment_of_every_plan(
    db: Database, make: Any, now: datetime
) -> None:
    user, _ = await make.user()
    await make.plan(user, make.fee_plan())
    await make.plan(user, make.free_plan(periods=6, principal="600.00"))
    async with db.uow() as uow:
        books = await read_calendar(uow, user, now)
    dues = books.dues()
    assert len(dues) == 12 + 6
    assert books.days_before == (3, 1, 0)
    assert books.timezone == "Asia/Shanghai"
    assert dues == sorted(dues, key=lambda d: d.due_date)
