"""/advice: the plans in the order to pay them off, what each payoff saves, the plans
above the 24 % line flagged, the debt-free date; snowball as the other order (issue 13)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


async def test_advice_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    shown = await chat.say("/advice")
    assert shown.text.startswith("还款建议——按真实成本")
    assert re.search(r"按期还款，将于 \d{4}年\d{1,2}月\d{1,2}日 全部还清。", shown.text)
    rates = [Decimal(r) for r in re.findall(r"^\d+\. .* · 年化 ([\d.]+)%", shown.text, re.M)]
    assert len(rates) == 5
    saves = re.findall(r"可省 ¥", shown.text)
    assert saves  # at least one payoff saves something
    snowball = await chat.tap("按剩余金额排序")
    assert snowball.text.startswith("还款建议——按剩余金额从小到大排序")
    assert "按真实成本排序" in [b for row in snowball.buttons for b, _ in row]


async def test_advice_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    shown = await chat.say("/advice")
    assert shown.text.startswith("What to pay off first — by true cost")
    # The MacBook's terms forbid an early payoff: said, and ranked after what saves.
    assert "Its terms do not allow paying off early." in shown.text
    lines = [line for line in shown.text.splitlines() if re.match(r"\d+\. ", line)]
    assert lines[-1].startswith("2. MacBook")
    assert "Paying everything off today would save ¥" in shown.text


async def test_the_confirm_screens_say_what_a_payoff_saves_and_what_an_amount_pays(
    repaybot: RepayBot,
) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/payoff")
    await chat.tap("Redmi")
    payoff = await chat.tap("招商银行")
    assert "现在提前结清，比按期还完剩余的 ¥2,143.28 省 ¥125.93。" in payoff.text
    await chat.say("/repay")
    await chat.tap("自定义金额")
    await chat.say("600")
    custom = await chat.tap("招商银行")
    assert "这笔还款将还：" in custom.text
    assert re.search(r"• .+ 第 \d+(–\d+)? 期：¥", custom.text)
    en = repaybot.chat(1002, "en")
    await en.say("/repay")
    await en.tap("Custom amount")
    await en.say("100")
    screen = await en.tap("HSBC")
    assert "It pays:" in screen.text
    assert "• Xiaomi 14 Ultra 16GB+512GB, period 4: ¥100.00" in screen.text


async def test_what_if_i_pay_more_each_month_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/advice")
    assert "多还多少" in (await chat.tap("如果每月多还一点")).text
    assert "“很多”不是有效金额" in (await chat.say("很多")).text  # asked again
    shown = await chat.say("3000")
    assert shown.text.startswith("💡 每月多还 ¥3,000.00")
    found = re.search(r"全部还清日：(\S+)（按计划为 (\S+)）", shown.text)
    assert found is not None
    assert found[1] != found[2]  # sooner than the schedule
    assert re.findall(r"^• .+：\d{4}年\d{1,2}月\d{1,2}日 结清$", shown.text, re.M)
    saving = re.search(r"提前结清共可省下 ¥([\d,]+\.\d\d)", shown.text)
    assert saving is not None
    assert Decimal(saving[1].replace(",", "")) > 0
    small = await (await _again(chat, "如果每月多还一点")).say("1")
    assert "不足以提前结清任何一笔" in small.text


async def test_what_if_i_pay_more_each_month_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/advice")
    assert "How much more" in (await chat.tap("What if I pay more each month?")).text
    shown = await chat.say("800")
    assert shown.text.startswith("💡 Paying ¥800.00 more each month")
    assert re.search(r"Debt-free on .+ \(as scheduled: .+\)\.", shown.text)
    assert "paid off on" in shown.text
    # The MacBook cannot be paid off early: it is not among the payoffs.
    assert "MacBook" not in shown.text
    assert "The early payoffs save ¥" in shown.text


async def _again(chat: Any, label: str) -> Any:
    await chat.say("/advice")
    await chat.tap(label)
    return chat
