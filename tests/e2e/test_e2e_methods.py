"""Removing a payment method asks first and says which auto-repay it changes; /autopay and
/status say what each plan's auto-repay will really debit (the default method when the
plan has none of its own), never "on" with nothing to debit; the fallback to the default
method is a choice in /autopay (issue 13)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import PaymentMethodRow, PlanRow
from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


async def _removed(bot: RepayBot, user_id: int) -> set[str]:
    async with bot.db.uow() as uow:
        rows = await uow.session.scalars(
            select(PaymentMethodRow.label).where(
                PaymentMethodRow.user_id == user_id, PaymentMethodRow.removed_at.is_not(None)
            )
        )
        return set(rows)


def _labels(message: object) -> list[str]:
    return [text for row in message.buttons for text, _ in row]  # type: ignore[attr-defined]


async def test_removing_the_default_card_says_where_auto_repay_goes_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    listed = await chat.say("/autopay")
    assert "✅ Redmi K70 Pro 16GB+512GB · 招商银行（尾号 1234）" in _labels(listed)
    await chat.say("/cards")
    await chat.tap("招商银行")
    asked = await chat.tap("解绑")
    assert "确定解绑 招商银行" in asked.text
    assert "使用它自动还款的分期：" in asked.text
    assert "• Redmi K70 Pro 16GB+512GB：改为从 默认支付方式 微信支付 扣款" in asked.text
    assert "• 小米备用金：改为从 默认支付方式 微信支付 扣款" in asked.text
    assert "戴森" not in asked.text  # it debits 微信支付, its own
    back = await chat.tap("取消")
    assert "余额" in back.text
    assert await _removed(repaybot, 1001) == set()

    await chat.tap("解绑")
    done = await chat.tap("确认解绑")
    assert "已解绑 招商银行" in done.text
    assert "改为从 默认支付方式 微信支付 扣款" in done.text
    assert _labels(done) == ["支付方式", "自动还款"]
    assert await _removed(repaybot, 1001) == {"招商银行"}
    # Their card gone, Redmi and 小米备用金 debit the new default, and /autopay says so.
    listed = await chat.tap("自动还款")
    assert "✅ Redmi K70 Pro 16GB+512GB · 默认：微信支付" in _labels(listed)
    assert "✅ 小米备用金 · 默认：微信支付" in _labels(listed)
    status = await chat.say("/status")
    assert "自动还款：Redmi K70 Pro 16GB+512GB → 默认支付方式 微信支付" in status.text


async def test_the_last_method_removed_pauses_auto_repay_visibly_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/cards")
    await chat.tap("Alipay")
    asked = await chat.tap("Remove")
    assert asked.text == "Remove Alipay? It will never be debited again."  # used by none
    await chat.tap("Yes, remove it")
    await chat.say("/cards")
    await chat.tap("HSBC")
    asked = await chat.tap("Remove")
    assert "Auto-repay that uses it:" in asked.text
    assert "• Xiaomi 14 Ultra 16GB+512GB: auto-repay will pause (no other payment method)" in (
        asked.text
    )
    await chat.tap("Yes, remove it")
    listed = await chat.say("/autopay")
    rows = [b for b in _labels(listed) if "Xiaomi" in b or "MacBook" in b]
    assert rows
    assert all(b.startswith("⚠️") and "no payment method to debit" in b for b in rows)
    detail = await chat.tap("Xiaomi 14")
    assert "there is no payment method to debit, so nothing will be paid" in detail.text
    status = await chat.say("/status")
    assert "no payment method to debit: it will not run (/cards)" in status.text
    assert "→ HSBC" not in status.text


async def test_the_fallback_to_the_default_card_is_a_choice_in_autopay(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/autopay")
    detail = await chat.tap("戴森")
    assert "扣款方式：微信支付" in detail.text
    assert "如扣款失败" not in detail.text
    on = await chat.tap("扣款失败时改用 招商银行")
    assert "如扣款失败，将改用默认支付方式 招商银行（尾号 1234）。" in on.text
    assert any("扣款失败时不改用 招商银行" in b for b in _labels(on))
    async with repaybot.db.uow() as uow:
        fallback = await uow.session.scalar(
            select(PlanRow.autopay_fallback).where(PlanRow.title.startswith("戴森"))
        )
    assert fallback is True
    off = await chat.tap("扣款失败时不改用 招商银行")
    assert "如扣款失败" not in off.text
    # A plan debiting the default method itself has nothing to fall back to.
    await chat.say("/autopay")
    redmi = await chat.tap("Redmi")
    assert not any("扣款失败时" in b for b in _labels(redmi))


async def test_full_width_digits_are_read_and_a_method_is_not_added_twice(
    repaybot: RepayBot,
) -> None:
    chat = repaybot.chat(1002, "en")  # holds HSBC …5678
    await chat.say("/cards")
    await chat.tap("Add a payment method")
    await chat.tap("Bank card")
    await chat.say("hsbc")
    again = await chat.say("５６７８")
    assert again.text == "hsbc is already one of your payment methods: nothing was added."
    await chat.say("/cards")
    await chat.tap("Add a payment method")
    await chat.tap("Bank card")
    await chat.say("Citi")
    added = await chat.say("１２３４")
    assert "Added Citi" in added.text
    async with repaybot.db.uow() as uow:
        last4 = await uow.session.scalar(
            select(PaymentMethodRow.last4).where(PaymentMethodRow.label == "Citi")
        )
    assert last4 == "1234"
    chat_zh = repaybot.chat(1001)
    await chat_zh.say("/cards")
    await chat_zh.tap("添加支付方式")
    await chat_zh.tap("微信支付")
    twice = await chat_zh.say("微信支付")
    assert twice.text == "您已绑定 微信支付，未重复添加。"
