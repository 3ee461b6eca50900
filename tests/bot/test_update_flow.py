"""The update pipeline's parts: per-user ordering, liveness for /healthz, which database
errors count as passing faults, and /healthz's answer when updates are stuck."""

from __future__ import annotations

import asyncio
import errno
import socket
import sqlite3
from typing import Any

import aiohttp
import pytest
from sqlalchemy.exc import OperationalError
from telegram import Chat, Message, Update, User

from bot.observability import HealthServer, Metrics
from bot.update_flow import PerUserProcessor
from core.db.faults import is_transient
from core.db.uow import Database


def _update(update_id: int, user_id: int) -> Update:
    user = User(user_id, "U", is_bot=False)
    message = Message(update_id, None, Chat(user_id, "private"), from_user=user, text="x")  # type: ignore[arg-type]
    return Update(update_id, message=message)


async def test_one_users_updates_run_in_order_and_others_do_not_wait() -> None:
    processor = PerUserProcessor(Metrics())
    release = asyncio.Event()
    done: list[str] = []

    async def slow() -> None:
        await release.wait()
        done.append("a1")

    async def quick(name: str) -> None:
        done.append(name)

    first = asyncio.create_task(processor.process_update(_update(1, 7), slow()))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(processor.process_update(_update(2, 7), quick("a2")))
    other = asyncio.create_task(processor.process_update(_update(3, 8), quick("b1")))
    await asyncio.wait_for(other, 1)
    assert done == ["b1"]  # user 8 did not wait for user 7's slow update
    release.set()
    await asyncio.gather(first, second)
    assert done == ["b1", "a1", "a2"]  # user 7's updates in order


async def test_an_update_in_hand_too_long_or_a_queue_not_taken_is_stuck() -> None:
    processor = PerUserProcessor(Metrics())
    assert processor.stuck(queued=0, threshold=0.05) is None
    release = asyncio.Event()
    task = asyncio.create_task(processor.process_update(_update(1, 7), release.wait()))
    await asyncio.sleep(0.1)
    reason = processor.stuck(queued=0, threshold=0.05)
    assert reason is not None
    assert "in hand" in reason
    release.set()
    await task
    await asyncio.sleep(0.1)
    waiting = processor.stuck(queued=3, threshold=0.05)
    assert waiting is not None
    assert "3 updates waiting" in waiting
    assert processor.stuck(queued=0, threshold=0.05) is None


async def test_healthz_is_503_while_updates_are_stuck(tmp_path: Any) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/h.db")
    reason: list[str | None] = [None]
    server = HealthServer(db, Metrics(), sweep_seconds=0, updates_stuck=lambda: reason[0])
    await server.start(0, "127.0.0.1")
    try:
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{server.port}/healthz"
            async with session.get(url) as response:
                assert response.status == 200
                assert (await response.json())["updates"] == "ok"
            reason[0] = "5 updates waiting, none taken for 90 s"
            async with session.get(url) as response:
                assert response.status == 503
                body = await response.json()
                assert body["updates"] == "not handled: 5 updates waiting, none taken for 90 s"
    finally:
        await server.stop()
        await db.dispose()


@pytest.mark.parametrize(
    ("error", "passing"),
    [
        (sqlite3.OperationalError("database is locked"), True),
        (
            OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")),
            True,
        ),
        (sqlite3.OperationalError("no such table: users"), False),
        (ConnectionRefusedError(111, "Connection refused"), True),
        (ValueError("bad amount"), False),
        (KeyError("x"), False),
        (OSError(errno.EHOSTUNREACH, "No route to host"), True),
        (socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"), True),
        # A file that is not there or cannot be (a time zone typed as "Asia" or 5,000
        # characters): bad input, not a database fault; retrying only delays the answer.
        (OSError(errno.ENAMETOOLONG, "File name too long"), False),
        (IsADirectoryError(errno.EISDIR, "Is a directory"), False),
        (FileNotFoundError(errno.ENOENT, "No such file or directory"), False),
    ],
)
def test_which_database_errors_are_passing_faults(error: BaseException, passing: bool) -> None:
    assert is_transient(error) is passing


def test_postgresql_error_codes_decide() -> None:
    class PgError(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__(sqlstate)
            self.sqlstate = sqlstate

    assert is_transient(PgError("40001"))  # serialization failure
    assert is_transient(PgError("57P01"))  # admin shutdown
    assert is_transient(PgError("08006"))  # connection failure
    assert not is_transient(PgError("23505"))  # unique violation: a bug, not a fault


@pytest.mark.parametrize(("expected", "logged"), [(False, True), (True, False)])
async def test_a_second_answer_to_a_callback_query_is_withheld_and_an_unexpected_one_logged(
    caplog: pytest.LogCaptureFixture, expected: bool, logged: bool
) -> None:
    """Telegram refuses a second answer, so it is never sent; but only a retry or an
    apology may make one: any other is a handler's bug, logged at ERROR (which the fuzz
    test fails on)."""
    from bot import update_flow

    calls = update_flow.UpdateCalls(41, answered=True, second_answer_expected=expected)
    token = update_flow._current.set(calls)
    try:
        status, body = await update_flow.TrackedRequest().do_request(
            "http://127.0.0.1:9/botTOKEN/answerCallbackQuery", "POST"
        )
    finally:
        update_flow._current.reset(token)
    assert (status, body) == (200, b'{"ok": true, "result": true}')  # port 9: never reached
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert bool(errors) is logged
    if logged:
        assert errors[0].getMessage() == "update 41: callback query answered twice"
