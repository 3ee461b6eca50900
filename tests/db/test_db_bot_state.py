"""Conversation states shared by two instances (two persistences, each with its own engine,
on one database): a write is compare-and-set on the step mark, so a stale instance never
undoes a newer step, and only the instance holding the latest step can time it out."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.persistence import CONVERSATION, DatabasePersistence
from core.db.models import BotStateRow
from core.db.uow import Database

NAME = "add_plan"
KEY = (1001, 1001)


@pytest.fixture
async def other(db_url: str) -> AsyncIterator[Database]:
    second = Database.from_url(db_url)
    try:
        yield second
    finally:
        await second.dispose()


async def _stored(db: Database) -> list[Any]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(BotStateRow.data).where(BotStateRow.kind == CONVERSATION)
        )
        return [row["state"] for row in rows]


async def test_a_stale_instance_does_not_undo_a_newer_step(db: Database, other: Database) -> None:
    a, b = DatabasePersistence(db), DatabasePersistence(other)
    assert await a.conversation_state(NAME, KEY) is None
    await a.update_conversation(NAME, KEY, 0)  # /add on A
    assert await b.conversation_state(NAME, KEY) == 0  # the next step lands on B
    await b.update_conversation(NAME, KEY, 1)
    await a.update_conversation(NAME, KEY, None)  # A's stale view ends it: dropped
    assert await _stored(db) == [1]
    assert await a.conversation_state(NAME, KEY) == 1  # A reads afresh, and may go on
    await a.update_conversation(NAME, KEY, 2)
    assert await _stored(db) == [2]


async def test_two_instances_starting_the_same_conversation_keep_the_first(
    db: Database, other: Database
) -> None:
    a, b = DatabasePersistence(db), DatabasePersistence(other)
    assert await a.conversation_state(NAME, KEY) is None
    assert await b.conversation_state(NAME, KEY) is None
    await a.update_conversation(NAME, KEY, 0)
    await b.update_conversation(NAME, KEY, 5)  # saw no conversation; there is one now
    assert await _stored(db) == [0]


async def test_only_the_instance_with_the_latest_step_times_it_out(
    db: Database, other: Database
) -> None:
    a, b = DatabasePersistence(db), DatabasePersistence(other)
    await a.conversation_state(NAME, KEY)
    await a.update_conversation(NAME, KEY, 0)
    await b.conversation_state(NAME, KEY)
    await b.update_conversation(NAME, KEY, 1)  # the same step state again: a new mark
    assert not await a.end_conversation_if_current(NAME, KEY)  # A's timer: older step
    assert await _stored(db) == [1]
    assert await b.end_conversation_if_current(NAME, KEY)
    assert await _stored(db) == []
    assert not await b.end_conversation_if_current(NAME, KEY)  # ended: once only
    await b.update_conversation(NAME, KEY, None)  # PTB's END after the timeout: a no-op
    assert await _stored(db) == []


async def test_a_state_written_again_unchanged_gets_a_new_step(
    db: Database, other: Database
) -> None:
    """An invalid answer keeps the state; the write still marks a newer step, so the
    instance that asked before cannot time the conversation out under the answerer."""
    a, b = DatabasePersistence(db), DatabasePersistence(other)
    await a.conversation_state(NAME, KEY)
    await a.update_conversation(NAME, KEY, 3)
    await b.conversation_state(NAME, KEY)
    await b.update_conversation(NAME, KEY, 3)
    assert not await a.end_conversation_if_current(NAME, KEY)
    assert await _stored(db) == [3]
