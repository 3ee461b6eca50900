"""A payment made in the lender's app, recorded from the plan's schedule: the period due,
the payoff or a typed amount, today, yesterday or a typed day; shown as self-reported in
/history, nothing debited, and undone from its confirmation (issue 13)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.emulator.model import Message
from core.db.models import PaymentMethodRow
from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


def _labels(message: Message) -> list[str]:
    return [text for row in message.buttons for text, _ in row]


async def _balances(bot: RepayBot, user_id: int) -> list[object]:
    async with bot.db.uow() as uow:
        rows = await uow.session.scalars(
            select(PaymentMethodRow.balance).where(PaymentMethodRow.user_id == user_id)
        )
        return list(rows)


async def test_the_period_paid_in_the_app_yesterday_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    before = await _balances(repaybot, 1001)
    await chat.say("/plans")
    await chat.tap("华为")
    asked = await chat.tap("我已在平台 App 还款")
    assert asked.text.startswith("您在平台 App 为 华为 MatePad Pro 13.2 还了多少？")
    assert _labels(asked)[0].startswith("还了本期：¥")
    when = await chat.tap("还了本期")
    assert when.text.startswith("是哪天还的？")
    done = await chat.tap("昨天")
    assert done.text.startswith(
        "✅ 已记录：2026年11月21日 在平台 App 还款 ¥599.32（自行登记，这里未扣款）"
    )
    assert _labels(done) == ["撤销"]
    assert await _balances(repaybot, 1001) == before  # nothing debited
    history = await chat.say("/history")
    assert "他处还款（自行登记）" in history.text
    undone = await chat.tap("撤销")
    assert undone.text.startswith("↩️ 已撤销 ¥599.32 的还款记录。")
    history = await chat.say("/history")
    assert "↩️ 已撤销" in history.text


async def test_a_typed_amount_and_day_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/plans")
    await chat.tap("MacBook")
    await chat.tap("I paid in the lender's app")
    assert "not an amount" in (await chat.say("some")).text
    await chat.say("100")
    assert (await chat.say("2026-12-25")).text.startswith("That day has not come yet.")
    assert (await chat.say("yesterday-ish")).text == "That is not a date. Type it like 2026-12-05."
    done = await chat.say("2026-11-20")
    assert done.text.startswith("✅ Recorded: ¥100.00 paid in the lender's app on Nov 20, 2026")
    again = await chat.say("2026-11-20")  # no question is waiting any more
    assert "didn't understand" in again.text


async def test_from_status_and_from_a_reminder(repaybot: RepayBot) -> None:
    from tests.e2e.test_e2e_snooze import EN_TITLE, _first_reminder, sweeping

    chat = repaybot.chat(1002, "en")
    await sweeping(repaybot)
    reminder = await _first_reminder(repaybot, 1002, EN_TITLE)
    assert "I paid in the lender's app" in _labels(reminder)
    await chat.say("/status")
    picked = await chat.tap("I paid in the lender's app")
    assert picked.text == "Which plan did you pay in the lender's app?"
    assert _labels(picked) == ["Xiaomi 14 Ultra 16GB+512GB", "MacBook Air 13 M3"]
    asked = await chat.tap("MacBook")
    assert asked.text.startswith("What did you pay on MacBook Air 13 M3 in the lender's app?")
