"""/repay and /payoff through to the receipt, and everything that must not pay twice."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db.models import PaymentMethodRow, PaymentRow, PlanRow, QuoteRow
from tests.e2e.conftest import Chat, RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


async def _balance(bot: RepayBot, user_id: int, label: str) -> Decimal:
    async with bot.db.uow() as uow:
        row = await uow.session.scalar(
            select(PaymentMethodRow).where(
                PaymentMethodRow.user_id == user_id, PaymentMethodRow.label == label
            )
        )
        assert row is not None
        return row.balance


async def _payments(bot: RepayBot, user_id: int, status: str = "succeeded") -> list[Any]:
    """Amount, kind and failure reason of the user's payments made in chat."""
    async with bot.db.uow() as uow:
        rows = await uow.session.execute(
            select(PaymentRow.amount, PaymentRow.kind, PaymentRow.failure_reason).where(
                PaymentRow.user_id == user_id,
                PaymentRow.status == status,
                PaymentRow.kind != "imported",
            )
        )
        return list(rows.all())


async def _to_confirmation(chat: Chat, choice: str, *picks: str) -> None:
    await chat.say("/repay")
    await chat.tap(choice)
    for pick in picks:
        await chat.tap(pick)


async def test_current_bill_paid_with_a_chosen_card(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    before = await _balance(repaybot, 1001, "招商银行")
    await _to_confirmation(chat, "本期账单", "招商银行")
    screen = chat.last()
    assert "请确认还款" in screen.text
    assert "罚息" in screen.text
    assert "本金" in screen.text
    receipt = await chat.tap("确认还款")
    assert "还款成功" in receipt.text
    [payment] = await _payments(repaybot, 1001)
    assert payment.amount == Decimal("2473.45")  # the current bill /status showed
    assert await _balance(repaybot, 1001, "招商银行") == before - payment.amount
    assert f"¥{before - payment.amount:,.2f}" in receipt.text


async def test_one_plans_next_period(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await _to_confirmation(chat, "单笔分期下一期", "戴森", "微信支付")
    assert "戴森吹风机 HD15 下一期" in chat.last().text
    receipt = await chat.tap("确认还款")
    assert "还款成功" in receipt.text
    [payment] = await _payments(repaybot, 1001)
    assert payment.kind == "manual"
    # Period 1: principal 2999.00 / 6 → 499.83, fee 2999.00 × 0.5 % = 14.995 → 15.00.
    assert payment.amount == Decimal("514.83")


async def test_early_payoff_closes_the_plan(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/payoff")
    await chat.tap("华为")
    await chat.tap("招商银行")
    assert "提前结清" in chat.last().text
    receipt = await chat.tap("确认还款")
    assert "还款成功" in receipt.text
    async with repaybot.db.uow() as uow:
        plan = await uow.session.scalar(select(PlanRow).where(PlanRow.title.like("华为%")))
        assert plan is not None
        assert plan.closed_at is not None
    [payment] = await _payments(repaybot, 1001)
    assert payment.kind == "payoff"


async def test_custom_amount_bad_input_is_asked_again(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/repay")
    asked = await chat.tap("自定义金额")
    assert "请输入还款金额" in asked.text
    for bad, reason in [
        ("abc", "不是有效金额"),
        ("-5", "负数"),
        ("1.234", "两位小数"),
        ("0", "大于 0"),
    ]:
        reply = await chat.say(bad)
        assert reason in reply.text
        assert "请输入还款金额" in reply.text
    assert await _payments(repaybot, 1001) == []
    await chat.say("¥100")
    await chat.tap("支付宝")
    receipt = await chat.tap("确认还款")
    assert "已还 ¥100.00" in receipt.text
    [payment] = await _payments(repaybot, 1001)
    assert payment.amount == Decimal("100.00")


async def test_double_tapped_confirm_pays_once(repaybot: RepayBot) -> None:
    chat, emulator = repaybot.chat(1001), repaybot.emulator
    before = await _balance(repaybot, 1001, "招商银行")
    await _to_confirmation(chat, "本期账单", "招商银行")
    message_id, data = chat.button("确认还款")
    queries = await asyncio.gather(
        emulator.press(1001, message_id, callback_data=data),
        emulator.press(1001, message_id, callback_data=data),
    )
    answers = [await emulator.wait_for_answer(q, timeout=10) for q in queries]
    assert all(a.accepted for a in answers)  # every press is answered, once
    await emulator.wait_for_bot(1001, after=0, count=1, timeout=10)
    for _ in range(100):
        if "还款成功" in chat.last().text:
            break
        await asyncio.sleep(0.05)
    assert "还款成功" in chat.last().text
    payments = await _payments(repaybot, 1001)
    assert len(payments) == 1
    assert await _balance(repaybot, 1001, "招商银行") == before - payments[0].amount


async def test_forged_buttons_with_someone_elses_ids_change_nothing(repaybot: RepayBot) -> None:
    other = repaybot.chat(1002, "en")
    await _to_confirmation(other, "Current bill", "Alipay")
    _, confirm = other.button("Confirm")
    async with repaybot.db.uow() as uow:
        others_plan = await uow.session.scalar(select(PlanRow.id).where(PlanRow.user_id == 1002))
        quotes_before = await uow.session.scalar(select(func.count()).select_from(QuoteRow))
    chat = repaybot.chat(1001)
    await chat.say("/repay")
    for forged in (
        confirm,
        f"rp:{others_plan}",
        f"ro:{others_plan}",
        f"pv:{others_plan}:1",
        "qc:nope",
        "zz:1",
    ):
        answer = await chat.press_data(forged)
        assert answer.show_alert is True
        assert "按钮已失效" in (answer.text or "")
    assert await _payments(repaybot, 1001) == []
    assert await _payments(repaybot, 1002) == []
    async with repaybot.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(QuoteRow)) == quotes_before


async def test_expired_quote_is_refused_with_a_fresh_one(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await _to_confirmation(chat, "本期账单", "招商银行")
    repaybot.clock.advance(minutes=11)
    await chat.tap("确认还款", count=2)
    log = repaybot.emulator.chat_log(1001)
    assert "已过期" in log[-2].text
    assert "请确认还款" in log[-1].text
    assert await _payments(repaybot, 1001) == []
    receipt = await chat.tap("确认还款")
    assert "还款成功" in receipt.text
    assert len(await _payments(repaybot, 1001)) == 1


async def test_insufficient_balance_fails_cleanly(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await _to_confirmation(chat, "Current bill", "HSBC")
    assert "balance is too low" in chat.last().text
    receipt = await chat.tap("Confirm")
    assert "Payment failed" in receipt.text
    assert "Nothing was debited" in receipt.text
    assert await _balance(repaybot, 1002, "HSBC") == Decimal("320.00")
    [failed] = await _payments(repaybot, 1002, status="failed")
    assert failed.failure_reason == "insufficient_balance"
    history = await chat.say("/history")
    assert "failed (insufficient balance)" in history.text
