"""First contact, help, language, privacy in groups, blocking, unknown input."""

from __future__ import annotations

import asyncio
import logging

import pytest
from sqlalchemy import select

from core.db.models import User
from tests.e2e.conftest import TOKEN, RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


async def test_start_registers_and_greets_in_the_users_language(repaybot: RepayBot) -> None:
    zh = await repaybot.chat(2001, "zh-hans").say("/start")
    en = await repaybot.chat(2002, "en").say("/start")
    assert "还款助手" in zh.text
    assert "RepayBot" in en.text
    async with repaybot.db.uow() as uow:
        users = {u.telegram_id: u.language for u in await uow.session.scalars(select(User))}
    assert users[2001] == "zh"
    assert users[2002] == "en"


async def test_status_without_plans(repaybot: RepayBot) -> None:
    reply = await repaybot.chat(2003, "en").say("/status")
    assert "no installment plans" in reply.text


async def test_status_with_plans_shows_what_is_owed(repaybot: RepayBot) -> None:
    reply = await repaybot.chat(1001).say("/status")
    assert "待还总额：¥15,645.88" in reply.text
    assert "花呗 额度：已冻结" in reply.text
    assert "无逾期" in reply.text
    assert any("立即还款" in text for row in reply.buttons for text, _ in row)
    overdue = await repaybot.chat(1002, "en").say("/status")
    assert "Overdue" in overdue.text  # the demo's Xiaomi 14 Ultra
    assert "Overdue 71 days (M3)" in overdue.text


async def test_language_switch(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/lang")
    switched = await chat.tap("English")
    assert switched.text == "Language set to English."
    assert "Total outstanding" in (await chat.say("/status")).text


async def test_group_chats_are_refused(repaybot: RepayBot) -> None:
    emulator = repaybot.emulator
    repaybot.chat(1001)
    emulator.group(-500, "Family")
    after = emulator.seq
    await emulator.send_text(1001, "/status", chat_id=-500)
    await emulator.wait_for_bot(-500, after=after, timeout=10)
    reply = emulator.chat_log(-500)[-1]
    assert "私聊" in reply.text
    assert "待还" not in reply.text


async def test_blocking_marks_the_user_inactive(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/start")
    repaybot.emulator.block(1002)
    active = True
    for _ in range(100):
        async with repaybot.db.uow() as uow:
            user = await uow.session.get(User, 1002)
            assert user is not None
            active = user.active
        if not active:
            break
        await asyncio.sleep(0.05)
    assert active is False
    repaybot.emulator.unblock(1002)
    await chat.say("/start")
    async with repaybot.db.uow() as uow:
        user = await uow.session.get(User, 1002)
        assert user is not None
        assert user.active is True


async def test_unknown_command_and_text(repaybot: RepayBot) -> None:
    chat = repaybot.chat(2004, "en")
    assert "/help" in (await chat.say("/frobnicate")).text
    assert "/help" in (await chat.say("hello there")).text


async def test_help_faq_support(repaybot: RepayBot) -> None:
    chat = repaybot.chat(2005, "en")
    assert "/repay" in (await chat.say("/help")).text
    assert "credit line show 0" in (await chat.say("/faq")).text
    assert "@repay_support" in (await chat.say("/support")).text


async def test_one_log_line_per_update_without_token_text_or_amounts(
    repaybot: RepayBot, caplog: pytest.LogCaptureFixture
) -> None:
    chat = repaybot.chat(1001)
    with caplog.at_level(logging.INFO):
        await chat.say("/repay")
        await chat.tap("自定义金额")
        await chat.say("4321.09")
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.app"]
    assert len(lines) == 3
    assert all(line.startswith("update ") for line in lines)
    everything = "\n".join(r.getMessage() for r in caplog.records)
    assert "4321.09" not in everything
    assert TOKEN not in everything
    assert TOKEN.split(":")[1] not in everything
