"""Pending notifications in the bank's database: written in the transaction that settles
a debit, so a settlement is never without its notification, even across a restart."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.gateway.bank.tables import NotificationRow
from core.gateway.bank.views import DebitState

EVENT = "debit.settled"


def notification_body(notification_id: int, debit: DebitState) -> str:
    """The notification's JSON: compact and key-sorted, fixed once written."""
    payload = {"event": EVENT, "notification_id": notification_id, "debit": debit.to_json()}
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


async def enqueue(
    session: AsyncSession, debit: DebitState, url: str, *, now: datetime, delay: float
) -> int:
    """Queue the notification of ``debit``'s outcome to ``url``; returns its id."""
    row = NotificationRow(
        reference=debit.reference,
        url=url,
        body="",
        attempts=0,
        next_attempt_at=now + timedelta(seconds=delay),
        lost=False,
    )
    session.add(row)
    await session.flush()  # the id goes into the body
    row.body = notification_body(row.id, debit)
    return row.id


async def due(session: AsyncSession, now: datetime, *, limit: int) -> list[int]:
    """Ids of notifications to attempt now, oldest first."""
    query = (
        select(NotificationRow.id)
        .where(NotificationRow.next_attempt_at <= now)
        .order_by(NotificationRow.next_attempt_at, NotificationRow.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def next_due(session: AsyncSession) -> datetime | None:
    query = (
        select(NotificationRow.next_attempt_at)
        .where(NotificationRow.next_attempt_at.is_not(None))
        .order_by(NotificationRow.next_attempt_at)
        .limit(1)
    )
    return (await session.scalars(query)).first()
