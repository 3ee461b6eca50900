"""A plan's schedule leads on to paying it; one plan's payment history shows only that
plan's part of each payment, dates imported periods on the day they were paid, and leads
back (issue 13)."""

from __future__ import annotations

import pytest

from bot.emulator.model import Message
from tests.e2e.conftest import Chat, RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


def _labels(message: Message) -> list[str]:
    return [text for row in message.buttons for text, _ in row]


async def _pay_the_bill(chat: Chat, bill: str, method: str, confirm: str) -> None:
    await chat.say("/repay")
    await chat.tap(bill)
    await chat.tap(method)
    await chat.tap(confirm)


async def test_one_plans_history_and_schedule_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await _pay_the_bill(chat, "本期账单", "招商银行", "确认还款")  # pays several plans
    await chat.say("/plans")
    schedule = await chat.tap("Redmi")
    assert [b for b in _labels(schedule) if b in ("还本期", "提前结清")] == ["还本期", "提前结清"]
    history = await chat.tap("本计划的还款记录")
    assert history.text.startswith("还款记录：Redmi K70 Pro 16GB+512GB（共 5 笔）")
    assert "  其中本分期：¥267.90" in history.text
    assert "小米备用金" not in history.text  # the bill paid it too: not this plan's line
    # Periods paid before the import: dated the day they were paid, not the import's time.
    assert "2026年8月5日 · ¥267.90 · — · 导入 · ✅ 成功" in history.text
    assert _labels(history) == ["返回分期", "全部还款记录"]
    back = await chat.tap("返回分期")
    assert back.text.startswith("Redmi K70 Pro 16GB+512GB（小米）")
    every = await chat.tap("全部计划")
    assert "Redmi" in "".join(_labels(every))
    await chat.tap("Redmi")
    paying = await chat.tap("还本期")  # this plan's next period, priced
    assert paying.text == "请选择支付方式（应还 ¥267.90）："


async def test_one_plans_history_and_schedule_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await _pay_the_bill(chat, "Current bill", "HSBC", "Confirm")
    await chat.say("/plans")
    schedule = await chat.tap("MacBook")
    assert "Pay this period" in _labels(schedule)
    assert "Early payoff" not in _labels(schedule)  # its terms forbid it: no dead end
    await chat.say("/plans")
    xiaomi = await chat.tap("Xiaomi")
    assert "Early payoff" in _labels(xiaomi)
    await chat.say("/plans")
    schedule = await chat.tap("MacBook")
    history = await chat.tap("This plan's payments")
    assert "MacBook" in history.text.splitlines()[0]
    assert "Xiaomi" not in history.text
    assert _labels(history) == ["Back to the plan", "All payments"]
    everything = await chat.tap("All payments")
    assert "Xiaomi" in everything.text
    assert "of which for this plan" not in everything.text
    assert "Back to the plan" not in _labels(everything)
    await chat.say("/plans")
    await chat.tap("MacBook")
    paying = await chat.tap("Pay this period")
    assert paying.text.startswith("Choose how to pay (¥")


async def test_rename_and_delete_a_plan_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/plans")
    await chat.tap("MacBook")
    await chat.tap("Rename")
    renamed = await chat.say("My MacBook")
    assert renamed.text == "✅ Renamed to My MacBook."
    back = await chat.tap("Back to the plan")
    assert back.text.startswith("My MacBook")
    # Only imported periods on it: it can go.
    asked = await chat.tap("Delete")
    assert asked.text.startswith("Delete My MacBook?")
    cancel = await chat.tap("Cancel")
    assert cancel.text.startswith("My MacBook")
    await chat.tap("Delete")
    gone = await chat.tap("Yes, delete it")
    assert gone.text == "✅ Deleted My MacBook."
    plans = await chat.tap("All plans")
    assert "MacBook" not in "".join(_labels(plans))


async def test_a_plan_paid_here_is_kept_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await _pay_the_bill(chat, "本期账单", "招商银行", "确认还款")
    await chat.say("/plans")
    await chat.tap("Redmi")
    kept = await chat.tap("删除")
    assert kept.text.startswith("Redmi K70 Pro 16GB+512GB 无法删除：您已通过还款助手为它还过款")
    assert _labels(kept) == ["返回分期"]
