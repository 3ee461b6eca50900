"""Every screen, in both languages: no missing text, no error, every button press answered."""

from __future__ import annotations

import asyncio
import logging

import pytest

import bot.handlers.status as status_module
from tests.e2e.conftest import Chat, RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py

ERROR_MARKS = ("Reference", "参考编号", "Traceback")


async def _tour(chat: Chat, zh: bool) -> None:
    def pick(zh_text: str, en_text: str) -> str:
        return zh_text if zh else en_text

    for command in ("/start", "/help", "/faq", "/support", "/status", "/plans", "/history"):
        await chat.say(command)
    await chat.say("/status")
    await chat.tap(pick("分期计划", "Plans"))
    await chat.tap(pick("·", "·"))  # the first plan's schedule
    await chat.say("/status")
    await chat.tap(pick("还款记录", "History"))
    for choice in (pick("本期账单", "Current bill"), pick("单笔分期下一期", "next period")):
        await chat.say("/repay")
        await chat.tap(choice)
        if choice.endswith(("下一期", "period")):
            await chat.tap(pick("剩余", "left"))  # a plan
        await chat.tap("·")  # a method (they show their balance after a dot)
        await chat.tap(pick("更换支付方式", "Change payment method"))
        await chat.tap(pick("取消", "Cancel"))
    await chat.say("/payoff")
    await chat.tap(pick("剩余", "left"))  # a plan
    await chat.say("/cards")
    await chat.tap("·")
    await chat.say("/autopay")
    await chat.tap("·")
    await chat.say("/remind")
    await chat.say("/export")
    await chat.say("/add")
    await chat.say("/cancel")
    await chat.say("/lang")


@pytest.mark.parametrize(("user_id", "code"), [(1001, "zh-hans"), (1002, "en")])
async def test_every_screen_renders_in_both_languages(
    repaybot: RepayBot, user_id: int, code: str
) -> None:
    chat = repaybot.chat(user_id, code)
    await _tour(chat, zh=code.startswith("zh"))
    emulator = repaybot.emulator
    texts = [m.text for m in emulator.chat_log(user_id)]
    texts += [v.text for m in emulator.chat_log(user_id) for v in m.history]
    assert len(texts) > 30
    assert not [t for t in texts if any(mark in t for mark in ERROR_MARKS)]
    refused = [c for c in emulator.calls if c.status != 200 and c.method != "getUpdates"]
    assert refused == []  # Telegram would have accepted every call the bot made
    presses = [e.query_id for e in emulator.events if e.kind == "answer"]
    assert len(presses) == len(set(presses))  # each callback query answered exactly once


async def test_a_failing_handler_apologises_with_a_reference(
    repaybot: RepayBot, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(status_module, "read_overview", broken)
    with caplog.at_level(logging.ERROR, logger="bot.handlers.common"):
        reply = await repaybot.chat(1002, "en").say("/status")
    assert "Sorry, something went wrong" in reply.text
    reference = reply.text.rsplit(" ", 1)[-1]
    [record] = [r for r in caplog.records if reference in r.getMessage()]
    assert "in update" in record.getMessage()
    assert record.exc_info is not None
    assert "database on fire" in str(record.exc_info[1])


async def test_a_typed_answer_times_out_after_ten_minutes(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/repay")
    await chat.tap("自定义金额")
    repaybot.clock.advance(minutes=11)
    assert "已超过 10 分钟" in (await chat.say("100")).text
    assert "/help" in (await chat.say("100")).text  # no longer waiting for an amount


async def test_add_times_out_with_a_message(repaybot: RepayBot) -> None:
    """The timeout is the awaited question's: the person hears of it at their next answer,
    typed or pressed, on whichever instance it lands."""
    chat = repaybot.chat(1003)
    await chat.say("/add")
    await chat.say("小米")
    repaybot.clock.advance(minutes=11)
    assert "添加分期已超时（10 分钟无操作）" in (await chat.say("Redmi Note")).text
    assert "/help" in (await chat.say("Redmi Note")).text  # the /add is over
    await chat.say("/add")
    await chat.say("小米")
    await chat.say("Redmi Note")
    repaybot.clock.advance(minutes=11)
    assert "添加分期已超时" in (await chat.tap("消费分期")).text
    assert "/help" in (await chat.say("1999")).text
    told = [m for m in repaybot.emulator.chat_log(1003) if "添加分期已超时" in m.text]
    assert len(told) == 2, [m.text for m in told]  # once each, however many instances


async def test_pressing_the_same_button_again_is_not_an_error(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/status")
    first = await chat.tap("Plans")
    message_id, data = chat.button("Xiaomi 14 Ultra")
    again = await repaybot.emulator.press(1002, message_id, callback_data=data)
    await repaybot.emulator.wait_for_answer(again, timeout=10)
    schedule = chat.last()
    repeat = await repaybot.emulator.press(1002, message_id, callback_data=data)
    answer = await repaybot.emulator.wait_for_answer(repeat, timeout=10)
    assert answer.accepted
    assert not answer.show_alert
    for _ in range(100):  # the handler answers first, then edits
        not_modified = [c for c in repaybot.emulator.calls if "not modified" in str(c.response)]
        if not_modified:
            break
        await asyncio.sleep(0.05)
    assert not_modified  # Telegram refused the identical edit …
    assert chat.last().text == schedule.text  # … and the screen simply stays
    assert "Sorry" not in chat.last().text
    assert first.message_id == schedule.message_id
