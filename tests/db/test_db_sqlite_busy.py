"""SQLite: a service call waits (busy timeout) while another connection holds the write lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from core.db.models import User
from core.db.uow import Database
from core.services.users import ensure_user, set_language

HOLD = 0.5


def _path(database: Database) -> Path:
    path = database.engine.url.database
    assert path is not None
    return Path(path)


@contextmanager
def _write_lock_held(path: Path, seconds: float) -> Iterator[threading.Event]:
    """Another process-like connection: BEGIN IMMEDIATE, write, hold ``seconds``, commit."""
    locked = threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            connection = sqlite3.connect(path, timeout=5, isolation_level=None)
            try:
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("UPDATE users SET timezone = 'Asia/Shanghai'")
                locked.set()
                time.sleep(seconds)
                connection.execute("COMMIT")
            finally:
                connection.close()
        except BaseException as exc:
            errors.append(exc)
            locked.set()

    thread = threading.Thread(target=hold)
    thread.start()
    try:
        yield locked
    finally:
        thread.join()
    assert not errors, errors


async def test_service_waits_for_the_write_lock(sqlite_db: Database, now: datetime) -> None:
    async with sqlite_db.uow() as uow:
        await ensure_user(uow, 1, now, language_code="zh")
    with _write_lock_held(_path(sqlite_db), HOLD) as locked:
        await asyncio.to_thread(locked.wait)
        started = time.monotonic()
        async with sqlite_db.uow() as uow:
            view = await set_language(uow, 1, "en")
        waited = time.monotonic() - started
    assert view.language == "en"
    assert waited >= HOLD * 0.6  # it really waited for the other writer
    async with sqlite_db.uow() as uow:
        user = await uow.session.get(User, 1)
        assert user is not None
        assert user.language == "en"


async def test_a_short_busy_timeout_gives_up(sqlite_db: Database, now: datetime) -> None:
    """The same situation with a 50 ms busy timeout fails: the wait above is the timeout's."""
    async with sqlite_db.uow() as uow:
        await ensure_user(uow, 1, now, language_code="zh")
    impatient = Database.from_url(
        sqlite_db.engine.url.render_as_string(hide_password=False), busy_timeout_ms=50
    )
    try:
        with _write_lock_held(_path(sqlite_db), HOLD) as locked:
            await asyncio.to_thread(locked.wait)
            async with impatient.uow() as uow:
                with pytest.raises(OperationalError, match="locked"):
                    await set_language(uow, 1, "en")
    finally:
        await impatient.dispose()
    async with sqlite_db.uow() as uow:
        user = await uow.session.get(User, 1)
        assert user is not None
        assert user.language == "zh"
