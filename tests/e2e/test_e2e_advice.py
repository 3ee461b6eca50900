"""/advice: the plans in the order to pay them off, what each payoff saves, the plans
above the 24 % line flagged, the debt-free date; snowball as the other order (issue 13)."""

from __future__ import annotations

import re
from decimal import Decimal

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
