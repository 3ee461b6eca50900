"""How a claimed message's sending ended: recorded as sent (with Telegram's message id) or
failed (with the reason), or given back to be sent again later (after a flood limit or a
timeout) — the other half of a claim (``reminder_sweep``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update

from core.db.models import ReminderLogRow
from core.db.uow import UnitOfWork
from core.services.reminder_rows import CLAIMED, FAILED, PENDING, SENT, ids_in
from core.services.wakeups import wake


async def record_outcome(
    uow: UnitOfWork,
    log_ids: list[int],
    now: datetime,
    *,
    message_id: int | None = None,
    failure: str | None = None,
) -> None:
    """After Telegram answered: sent (with its message id) or failed (with the reason)."""
    values: dict[str, Any] = {"lease_until": None}
    if failure is None:
        values |= {"status": SENT, "message_id": message_id, "sent_at": now}
    else:
        values |= {"status": FAILED, "failure": failure}
    # One parameter for the ids: a batch holds up to 1,200 rows at the limits. Called in a
    # unit of work of its own (bot/jobs.py): no loaded row needs bringing up to date.
    await uow.session.execute(
        update(ReminderLogRow)
        .where(ids_in(uow.session, log_ids))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    await uow.commit()


async def release(
    uow: UnitOfWork, log_ids: list[int], at: datetime, *, count_attempt: bool = True
) -> None:
    """Give claimed messages back, to be sent again from ``at`` (after a flood limit or a
    timeout). A flood limit is not the message's fault: it does not use up an attempt."""
    values: dict[str, Any] = {"status": PENDING, "lease_until": None, "fire_at": at}
    if not count_attempt:
        values["attempts"] = ReminderLogRow.attempts - 1
    owners = await uow.session.scalars(
        update(ReminderLogRow)
        .where(ReminderLogRow.id.in_(log_ids), ReminderLogRow.status == CLAIMED)
        .values(**values)
        .returning(ReminderLogRow.user_id)
    )
    for user_id in set(owners):
        await wake(uow, user_id, at)
    await uow.commit()
