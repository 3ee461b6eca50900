"""Expired quotes are purged after a retention period, in bounded batches; a quote a
payment was made from is kept with its payment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from core.db.models import PaymentRow, QuoteRow
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.services.quotes import EXPIRED_QUOTE_RETENTION, purge_expired_quotes


async def _purge(db: Database, now: datetime, batch: int) -> int:
    async with db.uow() as uow:
        return await purge_expired_quotes(uow, now, batch=batch)


async def _quote_ids(db: Database) -> set[str]:
    async with db.uow() as uow:
        return set(await uow.session.scalars(select(QuoteRow.id)))


async def test_purge_deletes_long_expired_quotes_in_batches(
    db: Database, make: Any, now: datetime
) -> None:
    user, _ = await make.user()
    plan = await make.plan(user)
    long_ago = now - EXPIRED_QUOTE_RETENTION - timedelta(days=1)
    old = [
        (await make.quote(user, QuoteKind.PERIOD, plan_id=plan, now=long_ago)).quote_id
        for _ in range(3)
    ]
    paid = await make.pay(user, QuoteKind.BILL, now=long_ago)
    [paid_quote] = await _scalars(
        db, select(PaymentRow.quote_id).where(PaymentRow.id == paid.payment_id)
    )
    yesterday = (
        await make.quote(user, QuoteKind.PERIOD, plan_id=plan, now=now - timedelta(days=1))
    ).quote_id
    current = (await make.quote(user, QuoteKind.PERIOD, plan_id=plan, now=now)).quote_id
    assert await _quote_ids(db) == {*old, paid_quote, yesterday, current}

    assert await _purge(db, now, batch=2) == 2
    assert await _purge(db, now, batch=2) == 1
    assert await _purge(db, now, batch=2) == 0
    # Kept: the one paid from (its payment still points at it), the ones within retention.
    assert await _quote_ids(db) == {paid_quote, yesterday, current}
    assert await _scalars(
        db, select(PaymentRow.quote_id).where(PaymentRow.id == paid.payment_id)
    ) == [paid_quote]


async def _scalars(db: Database, statement: Any) -> list[Any]:
    async with db.uow() as uow:
        return list(await uow.session.scalars(statement))
