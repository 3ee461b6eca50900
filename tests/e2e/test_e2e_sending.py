"""How the sweep's sends meet Telegram's answers, through the emulator: a flood limit (429)
pauses all sending on the bot's clock and costs no attempt; a block (403) stops reminders
until the user is back; "chat not found" (400) is not retried; a timeout or a network
error is retried with backoff, a bounded number of times.

Sends time out for real here: PTB's HTTPXRequest has a 5 s read timeout by default and the
emulator answers 5.5 s late. Every other wait is on the test's clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

import pytest
from sqlalchemy import select

from bot.deps import SendState
from bot.emulator.model import Message
from bot.emulator.server import Call
from core.db.models import PaymentRow, ReminderLogRow, User
from tests.e2e.conftest import RepayBot
from tests.e2e.test_e2e_snooze import sweeping, sweeps

LATE = 5.5  # seconds: past PTB's default read timeout of 5 s
ZH_TITLE, EN_TITLE = "还款提醒", "Repayment reminder"


def _sending(bot: RepayBot) -> SendState:
    assert bot.app is not None
    state: SendState = bot.app.bot_data["deps"].sending
    return state


def _sends(bot: RepayBot, chat_id: int) -> list[Call]:
    """Every sendMessage the bot made to ``chat_id``, whatever its answer."""
    return [
        c
        for c in bot.emulator.calls
        if c.method == "sendMessage" and str(c.params.get("chat_id")) == str(chat_id)
    ]


def _all_sends(bot: RepayBot) -> list[Call]:
    return [c for c in bot.emulator.calls if c.method == "sendMessage"]


def _messages(bot: RepayBot, chat_id: int, text: str) -> list[Message]:
    return [m for m in bot.emulator.chat_log(chat_id) if text in m.text]


class Row(NamedTuple):
    kind: str
    status: str
    attempts: int
    failure: str | None
    message_id: int | None
    fire_at: datetime


async def _rows(bot: RepayBot, user_id: int) -> list[Row]:
    """The user's reminder_log rows, oldest first, as the database holds them now."""
    async with bot.db.uow() as uow:
        rows = await uow.session.execute(
            select(
                ReminderLogRow.kind,
                ReminderLogRow.status,
                ReminderLogRow.attempts,
                ReminderLogRow.failure,
                ReminderLogRow.message_id,
                ReminderLogRow.fire_at,
            )
            .where(ReminderLogRow.user_id == user_id)
            .order_by(ReminderLogRow.id)
        )
        return [Row(*row[:5], row[5].astimezone(UTC)) for row in rows]


async def _active(bot: RepayBot, user_id: int) -> bool:
    async with bot.db.uow() as uow:
        user = await uow.session.get(User, user_id)
        assert user is not None
        return user.active


async def _until(check: Callable[[], Awaitable[bool]], timeout: float = 10) -> bool:  # noqa: ASYNC109
    for _ in range(int(timeout * 20)):
        if await check():
            return True
        await asyncio.sleep(0.05)
    return False


async def _rows_are(bot: RepayBot, user_id: int, status: str, attempts: int) -> list[Row]:
    """Wait until every reminder row of the user (one message: one row per installment)
    has this status after this many claims."""

    async def reached() -> bool:
        rows = await _rows(bot, user_id)
        return bool(rows) and all((r.status, r.attempts) == (status, attempts) for r in rows)

    reached_in_time = await _until(reached)
    rows = await _rows(bot, user_id)
    assert reached_in_time, rows
    return rows


async def test_flood_limit_pauses_every_send_until_retry_after(repaybot: RepayBot) -> None:
    repaybot.chat(1001)
    repaybot.chat(1002, "en")
    repaybot.emulator.inject("sendMessage", status=429, retry_after=30)
    await sweeping(repaybot)

    async def paused() -> bool:
        return _sending(repaybot).paused_until is not None

    assert await _until(paused)
    resume = datetime(2026, 11, 22, 2, 0, 30, tzinfo=UTC)  # the clock's now + retry_after
    assert _sending(repaybot).paused_until == resume
    await sweeps(repaybot)
    repaybot.clock.advance(seconds=29)  # one second short
    await sweeps(repaybot)
    [refused] = _all_sends(repaybot)  # nothing else was sent while paused, to anyone
    assert refused.status == 429
    assert str(refused.params["chat_id"]) == "1001"
    for user_id in (1001, 1002):  # both given back, for when the pause ends, attempts intact
        rows = await _rows(repaybot, user_id)
        assert {(r.status, r.attempts, r.fire_at) for r in rows} == {("pending", 0, resume)}

    repaybot.clock.advance(seconds=2)
    await repaybot.emulator.wait_for_bot(1001, timeout=10)
    await repaybot.emulator.wait_for_bot(1002, timeout=10)
    await sweeps(repaybot)
    assert len(_messages(repaybot, 1001, ZH_TITLE)) == 1
    assert len(_messages(repaybot, 1002, EN_TITLE)) == 1
    assert [c.status for c in _all_sends(repaybot)] == [429, 200, 200]
    for user_id in (1001, 1002):
        [message] = _messages(repaybot, user_id, "🔔")
        rows = await _rows(repaybot, user_id)
        assert {(r.status, r.attempts, r.message_id) for r in rows} == {
            ("sent", 1, message.message_id)
        }


async def test_blocked_user_gets_nothing_until_they_come_back(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    # The user blocked the bot, and the sweep's send hears of it before the bot has seen
    # the my_chat_member update.
    repaybot.emulator.inject(
        "sendMessage", status=403, description="Forbidden: bot was blocked by the user"
    )
    await sweeping(repaybot)
    await _rows_are(repaybot, 1001, "failed", 1)
    [row] = await _rows(repaybot, 1001)
    assert row.failure == "blocked"
    assert await _active(repaybot, 1001) is False
    repaybot.emulator.block(1001)  # the update arrives: the bot was told already
    assert len(_sends(repaybot, 1001)) == 1

    # 24 Nov, 09:00:30 in Shanghai: the day-before reminder and auto-repay notice are due.
    repaybot.clock.now = datetime(2026, 11, 24, 1, 0, 30, tzinfo=UTC)
    await sweeps(repaybot)
    assert len(_sends(repaybot, 1001)) == 1
    assert len(await _rows(repaybot, 1001)) == 1
    assert repaybot.emulator.chat_log(1001) == []

    repaybot.clock.now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)  # 16:00: today's is stale
    repaybot.emulator.unblock(1001)
    welcome = await chat.say("/start")
    assert "User1001" in welcome.text
    assert await _active(repaybot, 1001) is True
    await sweeps(repaybot)
    assert _messages(repaybot, 1001, ZH_TITLE) == []

    repaybot.clock.now = datetime(2026, 11, 25, 1, 0, 30, tzinfo=UTC)  # 25 Nov, 09:00:30
    await repaybot.emulator.wait_for_bot(1001, after=repaybot.emulator.seq, timeout=10)
    await sweeps(repaybot)
    [reminder] = _messages(repaybot, 1001, ZH_TITLE)
    assert "小米备用金：2026年11月25日 应还 ¥458.40（今天到期）" in reminder.text
    first, *later = await _rows(repaybot, 1001)
    assert (first.status, first.failure) == ("failed", "blocked")
    assert later
    assert {(r.status, r.message_id) for r in later} == {("sent", reminder.message_id)}


async def test_chat_not_found_is_recorded_and_never_retried(repaybot: RepayBot) -> None:
    repaybot.chat(1001)  # 1002 never opened the chat: Telegram does not know it
    await sweeping(repaybot)
    rows = await _rows_are(repaybot, 1002, "failed", 1)
    assert {r.failure for r in rows} == {"chat_not_found"}  # its overdue installments
    for minutes in (1, 2, 5, 60):  # past every retry backoff, the same day
        repaybot.clock.advance(minutes=minutes)
        await sweeps(repaybot)
    [call] = _sends(repaybot, 1002)
    assert call.status == 400
    assert await _rows(repaybot, 1002) == rows
    assert len(_messages(repaybot, 1001, ZH_TITLE)) == 1  # the others are not held up


async def test_timeout_whose_message_arrived_is_sent_again_and_logged(
    repaybot: RepayBot, caplog: pytest.LogCaptureFixture
) -> None:
    """The lost answer: Telegram took the message but the answer never came. The bot cannot
    tell this from a message that never arrived, so it sends again: the one duplicate the
    design allows, logged; the database records one message, sent once."""
    repaybot.chat(1001)
    repaybot.emulator.inject("sendMessage", status=None, delay=LATE)  # answered too late
    caplog.set_level(logging.WARNING, logger="bot.jobs")
    await sweeping(repaybot)
    await _rows_are(repaybot, 1001, "pending", 1)
    [row] = await _rows(repaybot, 1001)
    assert row.fire_at == datetime(2026, 11, 22, 2, 1, tzinfo=UTC)  # + 1 min
    assert any("may arrive twice" in r.getMessage() for r in caplog.records)
    await repaybot.emulator.wait_for_bot(1001, timeout=10)  # the late one lands anyway
    await sweeps(repaybot)
    assert len(_sends(repaybot, 1001)) == 1  # not before the backoff

    repaybot.clock.advance(minutes=1)
    await _rows_are(repaybot, 1001, "sent", 2)
    await sweeps(repaybot)
    late, again = _messages(repaybot, 1001, ZH_TITLE)
    assert late.text == again.text
    [row] = await _rows(repaybot, 1001)
    assert row.message_id == again.message_id
    assert len(_sends(repaybot, 1001)) == 2


async def test_timeout_before_telegram_took_it_is_retried_once(repaybot: RepayBot) -> None:
    repaybot.chat(1001)
    repaybot.emulator.inject("sendMessage", status=504, delay=LATE)  # never took effect
    await sweeping(repaybot)
    await _rows_are(repaybot, 1001, "pending", 1)
    # The bot gave up at 5 s; the emulator records the call when it answers, at 5.5 s.

    async def recorded() -> bool:
        return len(_sends(repaybot, 1001)) == 1

    assert await _until(recorded)
    await sweeps(repaybot)
    repaybot.clock.advance(seconds=59)
    await sweeps(repaybot)
    assert len(_sends(repaybot, 1001)) == 1
    assert _messages(repaybot, 1001, ZH_TITLE) == []

    repaybot.clock.advance(seconds=2)
    await _rows_are(repaybot, 1001, "sent", 2)
    await sweeps(repaybot)
    [reminder] = _messages(repaybot, 1001, ZH_TITLE)
    [row] = await _rows(repaybot, 1001)
    assert row.message_id == reminder.message_id
    assert len(_sends(repaybot, 1001)) == 2


async def test_send_failing_every_time_gives_up_after_three_attempts(repaybot: RepayBot) -> None:
    """Three 502s (PTB raises NetworkError at once), so the test needs no real timeouts:
    the sweep retries a timeout and any other network error alike, and records which."""
    repaybot.chat(1001)
    repaybot.emulator.inject("sendMessage", status=502)
    await sweeping(repaybot)
    await _rows_are(repaybot, 1001, "pending", 1)
    # A fault hits the next sendMessage to anyone: let the sweep that is still sending
    # to the demo's other users (unknown to the emulator: chat not found) finish first.
    await sweeps(repaybot, 2)
    repaybot.emulator.inject("sendMessage", status=502)
    repaybot.clock.advance(minutes=1)  # backoff: 1 min × 1 attempt
    await _rows_are(repaybot, 1001, "pending", 2)
    [row] = await _rows(repaybot, 1001)
    assert row.fire_at == datetime(2026, 11, 22, 2, 3, tzinfo=UTC)  # 2 × 1 min
    await sweeps(repaybot, 2)
    repaybot.emulator.inject("sendMessage", status=502)
    repaybot.clock.advance(minutes=2)
    await _rows_are(repaybot, 1001, "failed", 3)
    [row] = await _rows(repaybot, 1001)
    assert row.failure == "network_error"

    for minutes in (3, 10, 60):
        repaybot.clock.advance(minutes=minutes)
        await sweeps(repaybot)
    assert [c.status for c in _sends(repaybot, 1001)] == [502, 502, 502]
    assert _messages(repaybot, 1001, ZH_TITLE) == []
    assert await _active(repaybot, 1001) is True


async def test_receipt_held_by_a_flood_limit_is_delivered_once_after_it(
    repaybot: RepayBot,
) -> None:
    # 25 Nov, 16:00 in Shanghai: the 10:00 auto-repay is made up; the morning reminders
    # are too old to send, so the receipt is the first message out.
    repaybot.clock.now = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    repaybot.chat(1001)
    repaybot.emulator.inject("sendMessage", status=429, retry_after=10)

    async def paused() -> bool:
        return _sending(repaybot).paused_until is not None

    await sweeping(repaybot)
    assert await _until(paused)
    resume = datetime(2026, 11, 25, 8, 0, 10, tzinfo=UTC)
    assert _sending(repaybot).paused_until == resume
    # The pause is set when the 429 arrives; the claim is given back just after it.
    [row] = await _rows_are(repaybot, 1001, "pending", 0)
    assert row.kind == "receipt"
    assert row.fire_at == resume
    repaybot.clock.advance(seconds=9)
    await sweeps(repaybot)
    [refused] = _all_sends(repaybot)
    assert refused.status == 429
    assert "自动还款" in refused.params["text"]

    repaybot.clock.advance(seconds=2)
    await repaybot.emulator.wait_for_bot(1001, timeout=10)
    await sweeps(repaybot)
    [receipt] = repaybot.emulator.chat_log(1001)
    assert "自动还款成功" in receipt.text
    assert "小米备用金：已从 招商银行 扣款 ¥458.40" in receipt.text
    [row] = await _rows(repaybot, 1001)
    assert (row.status, row.attempts, row.message_id) == ("sent", 1, receipt.message_id)
    assert [c.status for c in _all_sends(repaybot)] == [429, 200]
    async with repaybot.db.uow() as uow:
        autos = list(
            await uow.session.execute(
                select(PaymentRow.amount, PaymentRow.status).where(PaymentRow.kind == "auto")
            )
        )
    assert [tuple(a) for a in autos] == [(Decimal("458.40"), "succeeded")]


async def test_a_flood_limit_on_a_reply_pauses_the_sweeps_too(repaybot: RepayBot) -> None:
    """A 429 met by a handler's reply: no error message is sent into the same limit, and
    the sweep's sending pauses for retry_after like after its own 429."""
    chat = repaybot.chat(1001)
    repaybot.emulator.inject("sendMessage", status=429, retry_after=30)
    before = repaybot.clock.now
    await repaybot.emulator.send_text(1001, "/status")
    for _ in range(100):
        if _sending(repaybot).paused_until is not None:
            break
        await asyncio.sleep(0.05)
    assert _sending(repaybot).paused_until == before + timedelta(seconds=30)
    await asyncio.sleep(0.3)
    assert [c.status for c in _sends(repaybot, 1001)] == [429]  # no "something went wrong"
    # After the pause the user simply asks again.
    reply = await chat.say("/status")
    assert "待还总额：¥15,645.88" in reply.text
