"""Database faults while people chat, through the emulator, in polling and webhook mode:
a SQLite lock held by another process longer than the busy timeout, and a PostgreSQL
server that stops and starts again. The update caught in the fault is answered (retried
until the fault clears, or an apology), and the bot goes on answering at once after it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.emulator import BotApiEmulator
from tests.bank.bank_process import BankProcess
from tests.e2e.conftest import Chat, Clock, RepayBot, bot_settings, demo_database
from tests.pg import PostgresServer

MODES = ["polling", "webhook"]
AFTER_FAULT = 2.0  # seconds within which an update must be answered once the fault clears


async def _launch(
    emulator: BotApiEmulator, url: str, mode: str, retry_seconds: float = 10
) -> RepayBot:
    webhooks = mode == "webhook"
    settings = bot_settings(emulator, url, webhooks=webhooks).model_copy(
        update={"db_retry_seconds": retry_seconds}
    )
    db = await demo_database(url)
    bot = RepayBot(emulator, db, settings, Clock(), webhooks=webhooks)
    await bot.start()
    return bot


async def _stop(bot: RepayBot) -> None:
    await bot.stop()
    await bot.db.dispose()


async def _answered_quickly(chat: Chat, text: str, times: int) -> None:
    for _ in range(times):
        started = time.monotonic()
        reply = await chat.say(text)
        assert time.monotonic() - started < AFTER_FAULT
        assert reply.text


def _hold_write_lock(path: Path, seconds: float, taken: threading.Event) -> None:
    """Another process's writer: BEGIN IMMEDIATE held for ``seconds``."""
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("retry_seconds", "answer"),
    [
        (10, "待还总额"),  # the busy timeout (5 s) runs out once; the retry gets through
        (1, "系统暂时繁忙"),  # no time left to retry: an apology, nothing changed
    ],
)
async def test_a_sqlite_lock_longer_than_the_busy_timeout_stops_nothing(
    emulator: BotApiEmulator, tmp_path: Path, mode: str, retry_seconds: float, answer: str
) -> None:
    path = tmp_path / "repaybot.db"
    bot = await _launch(emulator, f"sqlite+aiosqlite:///{path}", mode, retry_seconds)
    try:
        chat = bot.chat(1001)
        await chat.say("/help")
        taken = threading.Event()
        holder = asyncio.create_task(asyncio.to_thread(_hold_write_lock, path, 8.0, taken))
        await asyncio.to_thread(taken.wait, 5)
        status = await chat.say("/status", timeout=20)
        assert answer in (status.text or "")
        await holder
        await _answered_quickly(chat, "/help", 5)
    finally:
        await _stop(bot)


@pytest.fixture
def own_postgres() -> AsyncIterator[PostgresServer]:
    server = PostgresServer().start()
    try:
        yield server  # type: ignore[misc]
    finally:
        server.stop()


@pytest.mark.parametrize("mode", MODES)
async def test_a_postgresql_restart_stops_nothing(
    own_postgres: PostgresServer, emulator: BotApiEmulator, mode: str
) -> None:
    await own_postgres.acreate_database("faults")
    bot = await _launch(emulator, own_postgres.url_for("faults"), mode)
    try:
        chat = bot.chat(1001)
        await chat.say("/help")
        await asyncio.to_thread(own_postgres.halt)
        after = emulator.seq
        await emulator.send_text(1001, "/status")  # caught by the outage
        await asyncio.sleep(6)
        await asyncio.to_thread(own_postgres.resume)
        # Retried until the server was back (the outage is shorter than DB_RETRY_SECONDS).
        await emulator.wait_for_bot(1001, after=after, timeout=15)
        assert "待还总额" in (chat.last().text or "")
        await _answered_quickly(chat, "/help", 4)
    finally:
        await _stop(bot)


async def _quiet(emulator: BotApiEmulator, seconds: float = 1.5) -> None:
    """Let anything the bot would still do happen."""
    await asyncio.sleep(seconds)
    assert not emulator.state.updates  # every update was delivered


@pytest.mark.parametrize("mode", MODES)
async def test_an_update_delivered_again_has_its_effect_once(
    emulator: BotApiEmulator, tmp_path: Path, mode: str
) -> None:
    """Telegram delivers an update again when the answer to it was lost (webhook) or the
    bot restarted before confirming it (polling): it is handled once."""
    bot = await _launch(emulator, f"sqlite+aiosqlite:///{tmp_path}/r.db", mode)
    try:
        chat = bot.chat(1001)
        await chat.say("/help")
        help_id = emulator.state.next_update_id - 1
        replies = len(emulator.chat_log(1001))
        if mode == "polling":  # restart between the handling and the confirmation
            await bot.stop()
            emulator.redeliver(help_id)
            emulator.redeliver(help_id)
            await bot.start()
        else:
            emulator.redeliver(help_id)
            emulator.redeliver(help_id)
        await _quiet(emulator)
        assert len(emulator.chat_log(1001)) == replies
        await chat.say("/help")  # and the bot goes on as usual
        assert len(emulator.chat_log(1001)) == replies + 1
    finally:
        await _stop(bot)


async def test_two_webhook_instances_given_the_same_update_act_once(
    emulator: BotApiEmulator, tmp_path: Path, bank_process: BankProcess
) -> None:
    """A top-up amount delivered to both instances credits the card once."""
    url = f"sqlite+aiosqlite:///{tmp_path}/two.db"
    settings = bot_settings(emulator, url, webhooks=True, bank=bank_process)
    db = await demo_database(url)
    bot = RepayBot(emulator, db, settings, Clock(), instances=2)
    await bot.start()
    try:
        chat = bot.chat(1001)
        await chat.say("/cards")
        await chat.tap("招商银行")
        balance_before = chat.last().text or ""
        await chat.tap("充值")
        await chat.say("1000")
        amount_id = emulator.state.next_update_id - 1
        after_one = chat.last().text or ""
        emulator.redeliver(amount_id)  # the round-robin proxy hands it to the other one
        await _quiet(emulator)
        assert (chat.last().text or "") == after_one
        assert balance_before != after_one
    finally:
        await bot.stop()
        await db.dispose()


@pytest.mark.parametrize("mode", MODES)
async def test_an_edited_message_is_not_a_new_command(
    emulator: BotApiEmulator, tmp_path: Path, mode: str
) -> None:
    bot = await _launch(emulator, f"sqlite+aiosqlite:///{tmp_path}/e.db", mode)
    try:
        chat = bot.chat(1001)
        await chat.say("/help")
        typed = emulator.state.sent_updates[emulator.state.next_update_id - 1]["message"]
        replies = len(emulator.chat_log(1001))
        await emulator.edit_text(1001, typed["message_id"], "/forget")
        await _quiet(emulator)
        assert len(emulator.chat_log(1001)) == replies  # no forget prompt
    finally:
        await _stop(bot)


@pytest.mark.parametrize("data", ["ca:crypto", "pv:99999999999999999999999:1", "zz", "qc:nope"])
async def test_every_callback_query_is_answered_exactly_once(
    emulator: BotApiEmulator, tmp_path: Path, data: str
) -> None:
    bot = await _launch(emulator, f"sqlite+aiosqlite:///{tmp_path}/q.db", "polling")
    try:
        chat = bot.chat(1001)
        await chat.say("/status")
        message_id = chat.with_buttons().message_id
        query = await emulator.press(1001, message_id, callback_data=data, forge=True)
        await emulator.wait_for_answer(query, timeout=10)
        await _quiet(emulator)
        assert len(emulator.callback_answers(query)) == 1
    finally:
        await _stop(bot)
