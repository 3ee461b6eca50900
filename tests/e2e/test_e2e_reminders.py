"""Reminders from the JobQueue sweep, through the emulator: one message per user with
everything due, sent once; a blocked user gets nothing and is marked inactive."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db.models import PaymentRow, ReminderLogRow, User
from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


async def _statuses(bot: RepayBot) -> dict[int, list[str]]:
    async with bot.db.uow() as uow:
        rows = await uow.session.execute(select(ReminderLogRow.user_id, ReminderLogRow.status))
    found: dict[int, list[str]] = {}
    for user_id, status in rows:
        found.setdefault(user_id, []).append(status)
    return found


async def test_sweep_sends_one_consolidated_reminder_once(repaybot: RepayBot) -> None:
    await repaybot.stop()
    repaybot.sweep_seconds = 0.5
    zh = repaybot.chat(1001)
    repaybot.chat(1002, "en")
    repaybot.emulator.user(1003, "User1003", language_code="zh-hans")
    repaybot.emulator.block(1003)
    await repaybot.start()
    await repaybot.emulator.wait_for_bot(1001, after=0, timeout=15)
    await asyncio.sleep(2)  # several more sweeps
    messages = [m for m in repaybot.emulator.chat_log(1001) if "还款提醒" in m.text]
    assert len(messages) == 1
    [reminder] = messages
    assert "小米备用金：2026年11月25日 应还 ¥458.40（还有 3 天）" in reminder.text
    assert [text for row in reminder.buttons for text, _ in row] == [
        "立即还款",
        "查看详情",
        "我已在平台 App 还款",
        "⏰ 1 小时后",
        "今晚 8 点",
        "明天",
    ]
    overdue = [m for m in repaybot.emulator.chat_log(1002) if "reminder" in m.text.lower()]
    assert len(overdue) == 1
    assert "3 periods overdue, the oldest by 71 days" in overdue[0].text  # the plan's, in English
    statuses = await _statuses(repaybot)
    assert set(statuses[1001]) <= {"sent", "superseded"}
    assert "sent" in statuses[1001]
    assert zh.last().message_id == reminder.message_id
    async with repaybot.db.uow() as uow:
        blocked = await uow.session.get(User, 1003)
        assert blocked is not None
        assert blocked.active is False
    assert repaybot.emulator.chat_log(1003) == []
    assert set(statuses.get(1003, [])) <= {"failed"}  # skipped as inactive, or refused: 403


async def test_blocked_and_unknown_chats_are_recorded_and_not_retried(repaybot: RepayBot) -> None:
    await repaybot.stop()
    repaybot.sweep_seconds = 0.5
    repaybot.chat(1001)  # 1002 never wrote to the bot: "chat not found" (1003 has nothing due)
    # 1001 blocked the bot, which learns it from Telegram's 403 to its send (no my_chat_member
    # update here). Not an injected 403 for "the next sendMessage": with two instances
    # sweeping, the send to 1002 may be the first.
    repaybot.emulator.state.chats[1001].blocked = True
    await repaybot.start()
    for _ in range(100):
        statuses = await _statuses(repaybot)
        if len(statuses) == 2 and all("claimed" not in s for s in statuses.values()):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # more sweeps: nothing is sent again
    async with repaybot.db.uow() as uow:
        rows = await uow.session.execute(select(ReminderLogRow.user_id, ReminderLogRow.failure))
        failures = {user_id: failure for user_id, failure in rows}
        blocked = await uow.session.get(User, 1001)
        assert blocked is not None
        assert blocked.active is False
    assert failures == {1001: "blocked", 1002: "chat_not_found"}
    sends = [c for c in repaybot.emulator.calls if c.method == "sendMessage"]
    assert len(sends) == 2


async def test_auto_repay_on_the_due_date_sends_a_receipt(repaybot: RepayBot) -> None:
    await repaybot.stop()
    repaybot.sweep_seconds = 0.5
    repaybot.clock.now = datetime(2026, 11, 25, 2, 0, 30, tzinfo=UTC)  # 10:00:30 in Shanghai
    chat = repaybot.chat(1001)
    repaybot.chat(1002, "en")
    await repaybot.start()
    for _ in range(100):
        if any("自动还款成功" in m.text for m in repaybot.emulator.chat_log(1001)):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.5)  # more sweeps: no second debit, no second receipt
    receipts = [m for m in repaybot.emulator.chat_log(1001) if "自动还款" in m.text]
    assert len(receipts) == 1
    assert "小米备用金：已从 招商银行 扣款 ¥458.40" in receipts[0].text
    assert [t for row in receipts[0].buttons for t, _ in row] == ["立即还款", "更换扣款卡", "充值"]
    async with repaybot.db.uow() as uow:
        autos = list(
            await uow.session.execute(
                select(PaymentRow.user_id, PaymentRow.status, PaymentRow.amount).where(
                    PaymentRow.kind == "auto"
                )
            )
        )
    assert [(u, s, a) for u, s, a in autos] == [(1001, "succeeded", Decimal("458.40"))]
    assert chat.last().text  # the chat is still usable
