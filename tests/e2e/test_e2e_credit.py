"""/credit: a new user makes the credit line a cash advance needs, changes its limit and
freezes it, in chat; the same lender typed in another case is the same line (issue 13)."""

from __future__ import annotations

import pytest

from bot.emulator.model import Message
from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


def _labels(message: Message) -> list[str]:
    return [text for row in message.buttons for text, _ in row]


async def test_a_new_user_adds_changes_and_freezes_a_line_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(5101, "en")
    await chat.say("/start")
    empty = await chat.say("/credit")
    assert empty.text.startswith("You have no credit lines yet.")
    await chat.tap("Add a credit line")
    await chat.say("Xiaomi")
    assert "not an amount" in (await chat.say("lots")).text
    added = await chat.say("20000")
    assert added.text == "✅ Added the Xiaomi credit line: ¥20,000.00."
    await chat.tap("Add a credit line")
    await chat.say("XIAOMI")
    twice = await chat.say("5000")
    assert twice.text.startswith("You already have a XIAOMI credit line")
    listed = await chat.say("/credit")
    assert _labels(listed)[0] == "Xiaomi · limit ¥20,000.00 · ¥20,000.00 left"
    await chat.tap("Xiaomi")
    await chat.tap("Change the limit")
    changed = await chat.say("15000")
    assert changed.text == "✅ The Xiaomi limit is now ¥15,000.00."
    await chat.say("/credit")
    await chat.tap("Xiaomi")
    frozen = await chat.tap("Freeze")
    assert "🧊 Frozen" in frozen.text
    assert "Unfreeze" in _labels(frozen)
    status = await chat.say("/credit")
    assert _labels(status)[0].startswith("🧊 Xiaomi · frozen")
    thawed = await chat.tap("Xiaomi")
    thawed = await chat.tap("Unfreeze")
    assert "Frozen" not in thawed.text


async def test_a_new_user_adds_a_line_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(5102)
    await chat.say("/start")
    await chat.say("/credit")
    await chat.tap("添加信用额度")
    asked = await chat.say("小米")
    assert asked.text == "小米 的额度是多少？请输入金额，如 20000。"
    added = await chat.say("8000")
    assert added.text == "✅ 已添加 小米 信用额度：¥8,000.00。"
    listed = await chat.tap("信用额度")
    assert _labels(listed)[0] == "小米 · 额度 ¥8,000.00 · 可用 ¥8,000.00"
    assert "/credit 信用额度" in (await chat.say("/help")).text
