"""The chat state and the update ids taken on, shared by instances (each with its own
engine, on one database): a write is compare-and-set on the version read, so a stale
instance never undoes a newer step; an update id is taken on once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.db.models import ProcessedUpdateRow
from core.db.uow import Database
from core.services.chat_state import (
    UPDATE_RETENTION,
    load_chat_state,
    purge_processed_updates,
    save_chat_state,
    take_update,
)

USER = 1001


@pytest.fixture
async def other(db_url: str) -> AsyncIterator[Database]:
    second = Database.from_url(db_url)
    try:
        yield second
    finally:
        await second.dispose()


async def _save(db: Database, read: object, data: dict[str, object]) -> bool:
    async with db.uow() as uow:
        stored = await save_chat_state(uow, read, data)  # type: ignore[arg-type]
        await uow.commit()
    return stored


async def _load(db: Database) -> dict[str, object]:
    async with db.uow() as uow:
        return (await load_chat_state(uow, USER)).data


async def test_state_round_trips_and_an_empty_state_leaves_no_row(db: Database) -> None:
    async with db.uow() as uow:
        first = await load_chat_state(uow, USER)
    assert first.data == {}
    assert first.version == 0
    assert await _save(db, first, {"awaiting": {"what": "amount"}})
    assert await _load(db) == {"awaiting": {"what": "amount"}}
    async with db.uow() as uow:
        second = await load_chat_state(uow, USER)
    assert second.version == 1
    assert await _save(db, second, {})
    async with db.uow() as uow:
        assert (await load_chat_state(uow, USER)).version == 0  # no row any more


async def test_a_stale_instance_does_not_undo_a_newer_step(db: Database, other: Database) -> None:
    async with db.uow() as uow:
        seen_by_a = await load_chat_state(uow, USER)
    async with other.uow() as uow:
        seen_by_b = await load_chat_state(uow, USER)
    assert await _save(other, seen_by_b, {"step": "b"})
    assert not await _save(db, seen_by_a, {"step": "a"})  # A's view is stale: dropped
    assert await _load(db) == {"step": "b"}


async def test_only_plain_values_are_kept(db: Database) -> None:
    async with db.uow() as uow:
        read = await load_chat_state(uow, USER)
    assert await _save(db, read, {"when": "2026-11-22", "n": 3, "nested": [1, {"a": None}]})
    assert await _load(db) == {"when": "2026-11-22", "n": 3, "nested": [1, {"a": None}]}


async def test_an_update_id_is_taken_once_across_instances(
    db: Database, other: Database, now: datetime
) -> None:
    async with db.uow() as uow:
        assert await take_update(uow, 77, now)
        await uow.commit()
    async with other.uow() as uow:
        assert not await take_update(uow, 77, now)
        assert await take_update(uow, 78, now)
        await uow.commit()


async def test_an_update_taken_in_a_rolled_back_unit_is_not_taken(
    db: Database, now: datetime
) -> None:
    async with db.uow() as uow:
        assert await take_update(uow, 5, now)  # no commit: a fault came before it
    async with db.uow() as uow:
        assert await take_update(uow, 5, now)


async def test_old_update_ids_are_purged_in_batches(db: Database, now: datetime) -> None:
    old = now - UPDATE_RETENTION - timedelta(minutes=1)
    async with db.uow() as uow:
        for update_id in range(13):
            await take_update(uow, update_id, old)
        await take_update(uow, 10**12, now)
        await uow.commit()
    async with db.uow() as uow:
        assert await purge_processed_updates(uow, now, batch=10) == 10
        assert await purge_processed_updates(uow, now, batch=10) == 3
        assert await purge_processed_updates(uow, now, batch=10) == 0
        await uow.commit()
    async with db.uow() as uow:
        left = await uow.session.scalar(select(func.count()).select_from(ProcessedUpdateRow))
    assert left == 1
