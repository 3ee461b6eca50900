"""No dead ends: a payment short of money offers a top-up on the confirm screen and after
the failure; a receipt leads on; what a reminder's buttons open comes as a new message,
so the reminder keeps its snooze buttons (issue 13)."""

from __future__ import annotations

import pytest

from bot.emulator.model import Message
from tests.e2e.conftest import RepayBot
from tests.e2e.test_e2e_snooze import EN_TITLE, ZH_TITLE, _first_reminder, sweeping

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py
EN_LOW = "⚠️ The balance is too low: top up or choose another method."


def _labels(message: Message) -> list[str]:
    return [text for row in message.buttons for text, _ in row]


async def test_short_of_money_tops_up_and_pays_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")  # HSBC holds ¥320.00
    await chat.say("/repay")
    await chat.tap("Current bill")
    confirm = await chat.tap("HSBC")
    assert confirm.text.endswith(EN_LOW)
    assert _labels(confirm)[:2] == ["Confirm", "Top up"]
    failed = await chat.tap("Confirm")
    assert failed.text.startswith("❌ Payment failed: HSBC (…5678) has too little money")
    assert _labels(failed) == ["Top up", "Repay"]
    asked = await chat.tap("Top up")
    assert asked.message_id != failed.message_id  # the failure stays on screen
    topped = await chat.say("5000")
    assert "¥5,320.00" in topped.text
    await chat.tap("Repay")
    await chat.tap("Current bill")
    await chat.tap("HSBC")
    paid = await chat.tap("Confirm")
    assert paid.text.startswith("✅")
    assert _labels(paid) == ["History", "Plans"]
    history = await chat.tap("History")
    assert "HSBC" in history.text


async def test_short_of_money_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)  # 微信支付 holds ¥850.00, the bill is ¥2,473.45
    await chat.say("/repay")
    await chat.tap("本期账单")
    confirm = await chat.tap("微信支付")
    assert "余额不足" in confirm.text
    assert "充值" in _labels(confirm)
    failed = await chat.tap("确认还款")
    assert "余额不足" in failed.text
    assert _labels(failed) == ["充值", "重新还款"]


@pytest.mark.parametrize(
    ("user_id", "language", "title", "details"),
    [(1001, "zh", ZH_TITLE, "详情"), (1002, "en", EN_TITLE, "Details")],
)
async def test_a_reminders_buttons_open_new_messages(
    repaybot: RepayBot, user_id: int, language: str, title: str, details: str
) -> None:
    chat = repaybot.chat(user_id, language)
    await sweeping(repaybot)
    reminder = await _first_reminder(repaybot, user_id, title)
    opened = await chat.tap(details)
    assert opened.message_id != reminder.message_id
    kept = next(
        m for m in repaybot.emulator.chat_log(user_id) if m.message_id == reminder.message_id
    )
    assert kept.edit_date is None
    assert kept.text == reminder.text
    assert len(_labels(kept)) == 6  # repay, details, paid elsewhere, three snooze choices


async def test_a_receipts_buttons_open_new_messages(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/repay")
    await chat.tap("One plan's next period")
    await chat.tap("Xiaomi")
    await chat.tap("HSBC")
    receipt = await chat.tap("Confirm")
    assert receipt.text.startswith(("✅", "❌"))
    opened = await chat.tap("History" if receipt.text.startswith("✅") else "Repay")
    assert opened.message_id != receipt.message_id
    kept = next(m for m in repaybot.emulator.chat_log(1002) if m.message_id == receipt.message_id)
    assert kept.text == receipt.text
