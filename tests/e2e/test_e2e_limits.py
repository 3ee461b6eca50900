"""Per-user limits in the chat: said before anything is asked (issue 10 §3)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from core.db.models import PaymentMethodRow
from core.limits import MAX_PAYMENT_METHODS
from core.services.methods import MethodKind, add_method
from tests.e2e.conftest import RepayBot

WHEN = datetime(2026, 11, 22, tzinfo=UTC)


async def _methods(bot: RepayBot, user_id: int) -> int:
    async with bot.db.uow() as uow:
        found = await uow.session.scalar(
            select(func.count())
            .select_from(PaymentMethodRow)
            .where(PaymentMethodRow.user_id == user_id, PaymentMethodRow.removed_at.is_(None))
        )
        return int(found or 0)


async def _fill_methods(bot: RepayBot, user_id: int) -> None:
    """Bind methods until the user has the most allowed."""
    held = await _methods(bot, user_id)
    for n in range(MAX_PAYMENT_METHODS - held):
        async with bot.db.uow() as uow:
            await add_method(uow, user_id, MethodKind.ALIPAY, f"Alipay {n}", None, WHEN)


async def test_adding_a_method_past_the_limit_says_so_before_asking(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await _fill_methods(repaybot, 1002)
    await chat.say("/cards")
    refused = await chat.tap("Add a payment method")
    assert "reached the limit of 10 payment methods" in refused.text
    assert not refused.buttons  # no kind to choose: nothing is asked
    assert await _methods(repaybot, 1002) == MAX_PAYMENT_METHODS


async def test_the_limit_in_chinese(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await _fill_methods(repaybot, 1001)
    await chat.say("/cards")
    refused = await chat.tap("添加支付方式")
    assert "支付方式已达上限（10 个）" in refused.text


async def test_a_method_filled_up_meanwhile_is_refused_when_saved(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/cards")
    await chat.tap("Add a payment method")
    await chat.tap("WeChat")
    await _fill_methods(repaybot, 1002)  # e.g. from another device, before the name is typed
    refused = await chat.say("My WeChat")
    assert "reached the limit of 10 payment methods" in refused.text
    assert await _methods(repaybot, 1002) == MAX_PAYMENT_METHODS
    # The question is over: a later line is not taken as a name.
    await chat.say("/cards")
    assert "My WeChat" not in chat.last().text
