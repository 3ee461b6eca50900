"""What the chat remembers of a user between their messages — the question awaiting a
typed answer, a half-entered plan — and which Telegram updates were already taken on.

The state is one JSON object per user, read before an update is handled and written after
it, compare-and-set on a version number: when two instances handled one user's updates at
once, the later write is dropped (and logged) instead of undoing the other's step.

Update ids are remembered for ``UPDATE_RETENTION``: an update Telegram delivers again
(its answer was lost, the bot restarted, a second instance got it) has its effect once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite

from core.db.models import BotStateRow, ProcessedUpdateRow
from core.db.uow import UnitOfWork

KIND = "user_data"  # the row kind the state has always been stored under
VERSION = "_v"
UPDATE_RETENTION = timedelta(days=2)  # Telegram keeps undelivered updates for 24 hours
PURGE_BATCH = 5000


@dataclass
class ChatState:
    """One user's chat state as read: its data and the version it was read at."""

    user_id: int
    data: dict[str, Any] = field(default_factory=dict)
    version: int = 0

    def snapshot(self) -> str:
        return json.dumps(self.data, sort_keys=True, ensure_ascii=False)


def _row(user_id: int) -> Any:
    return select(BotStateRow).where(
        BotStateRow.kind == KIND, BotStateRow.name == "", BotStateRow.key == str(user_id)
    )


async def load_chat_state(uow: UnitOfWork, user_id: int) -> ChatState:
    """The user's chat state now (empty if there is none)."""
    row = await uow.session.scalar(_row(user_id))
    if row is None:
        return ChatState(user_id)
    data = dict(row.data)
    version = data.pop(VERSION, 0)
    return ChatState(user_id, data, version if isinstance(version, int) else 0)


async def save_chat_state(uow: UnitOfWork, read: ChatState, data: dict[str, Any]) -> bool:
    """Write ``data`` as the user's state if it is still at the version ``read`` saw;
    False (nothing written) if another handler stored a newer one meanwhile. The caller
    commits."""
    plain: dict[str, Any] = json.loads(json.dumps(data))  # only plain values are kept
    row = await uow.session.scalar(_row(read.user_id).with_for_update())
    stored = 0 if row is None else row.data.get(VERSION, 0)
    if stored != read.version:
        return False
    if not plain:
        if row is not None:
            await uow.session.execute(delete(BotStateRow).where(BotStateRow.id == row.id))
        return True
    plain[VERSION] = read.version + 1
    if row is None:
        uow.session.add(
            BotStateRow(kind=KIND, name="", key=str(read.user_id), user_id=read.user_id, data=plain)
        )
    else:
        row.data = plain
    return True


async def take_update(uow: UnitOfWork, update_id: int, now: datetime) -> bool:
    """Record that ``update_id`` is being handled; False if it was taken before (by this or
    another instance). The caller commits."""
    dialect = postgresql if uow.session.get_bind().dialect.name == "postgresql" else sqlite
    table = ProcessedUpdateRow.__table__
    statement = (
        dialect.insert(table)
        .values(update_id=update_id, taken_at=now)
        .on_conflict_do_nothing(index_elements=["update_id"])
        .returning(table.c.update_id)
    )
    taken = await uow.session.scalar(statement)
    return taken is not None


async def purge_processed_updates(uow: UnitOfWork, now: datetime, batch: int = PURGE_BATCH) -> int:
    """Forget update ids older than the retention, at most ``batch`` at a time; how many
    were forgotten. The caller commits."""
    old = (
        select(ProcessedUpdateRow.update_id)
        .where(ProcessedUpdateRow.taken_at < now - UPDATE_RETENTION)
        .limit(batch)
    )
    ids = list(await uow.session.scalars(old))
    if ids:
        await uow.session.execute(
            delete(ProcessedUpdateRow).where(ProcessedUpdateRow.update_id.in_(ids))
        )
    return len(ids)
