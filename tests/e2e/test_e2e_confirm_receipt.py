"""A confirm whose reply never showed the receipt still tells the user: the receipt queued
with the payment goes out through the sweep once the send lease has passed — once; and a
receipt the reply did show is not sent again (issue 10 §5)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from sqlalchemy import select

from bot.emulator.model import Message
from core.db.models import PaymentRow, ReminderLogRow
from tests.e2e.conftest import RepayBot
from tests.e2e.test_e2e_repay import _balance, _to_confirmation
from tests.e2e.test_e2e_snooze import sweeping, sweeps

PAID = "还款成功"
LATER = "确认的还款结果如下"  # the first line of a receipt the sweep sends
BILL = Decimal("2473.45")  # user 1001's current bill in the demo
GONE = "Bad Request: message to edit not found"  # the user deleted the confirmation


def _receipts(bot: RepayBot) -> list[Message]:
    return [m for m in bot.emulator.chat_log(1001) if PAID in m.text and not m.deleted]


async def _receipt_rows(bot: RepayBot) -> list[tuple[str, int, int | None]]:
    async with bot.db.uow() as uow:
        rows = await uow.session.execute(
            select(ReminderLogRow.status, ReminderLogRow.offset, ReminderLogRow.message_id)
            .where(ReminderLogRow.user_id == 1001, ReminderLogRow.kind == "receipt")
            .order_by(ReminderLogRow.id)
        )
        return [tuple(row) for row in rows.all()]


async def _payment_ids(bot: RepayBot) -> list[int]:
    async with bot.db.uow() as uow:
        found = await uow.session.scalars(
            select(PaymentRow.id).where(PaymentRow.user_id == 1001, PaymentRow.kind == "manual")
        )
        return list(found)


async def _lease_passes(bot: RepayBot) -> None:
    bot.clock.advance(seconds=bot.settings.send_lease_seconds)
    await sweeps(bot)


async def test_a_receipt_the_edit_could_not_show_is_sent_once_after_the_lease(
    repaybot: RepayBot,
) -> None:
    await sweeping(repaybot)
    chat = repaybot.chat(1001)
    before = await _balance(repaybot, 1001, "招商银行")
    await _to_confirmation(chat, "本期账单", "招商银行")
    repaybot.emulator.inject("editMessageText", status=400, description=GONE)

    await chat.tap("确认还款")  # the apology: the receipt could not be shown

    [payment_id] = await _payment_ids(repaybot)
    assert _receipts(repaybot) == []
    await sweeps(repaybot)  # within the lease: the reply might still have shown it
    assert _receipts(repaybot) == []
    assert await _receipt_rows(repaybot) == [("pending", payment_id, None)]

    await _lease_passes(repaybot)
    for _ in range(100):
        if _receipts(repaybot):
            break
        await asyncio.sleep(0.05)
    await sweeps(repaybot)
    [receipt] = _receipts(repaybot)
    assert LATER in receipt.text
    assert f"已还 ¥{BILL:,.2f}" in receipt.text
    assert f"¥{before - BILL:,.2f}" in receipt.text  # the card's balance after it
    assert "剩余待还" in receipt.text
    assert await _receipt_rows(repaybot) == [("sent", payment_id, receipt.message_id)]
    assert await _payment_ids(repaybot) == [payment_id]
    assert await _balance(repaybot, 1001, "招商银行") == before - BILL


async def test_a_receipt_the_reply_showed_is_not_sent_again(repaybot: RepayBot) -> None:
    await sweeping(repaybot)
    chat = repaybot.chat(1001)
    await _to_confirmation(chat, "本期账单", "招商银行")

    shown = await chat.tap("确认还款")

    assert PAID in shown.text
    [payment_id] = await _payment_ids(repaybot)
    assert await _receipt_rows(repaybot) == [("superseded", payment_id, None)]
    await _lease_passes(repaybot)
    await _lease_passes(repaybot)
    assert [m.message_id for m in _receipts(repaybot)] == [shown.message_id]
    assert LATER not in shown.text


async def test_a_second_tap_shows_the_receipt_and_the_sweep_sends_nothing(
    repaybot: RepayBot,
) -> None:
    await sweeping(repaybot)
    chat = repaybot.chat(1001)
    await _to_confirmation(chat, "本期账单", "招商银行")
    repaybot.emulator.inject("editMessageText", status=400, description=GONE)
    await chat.tap("确认还款")  # the apology; the confirmation is still there
    confirmation, _ = chat.button("确认还款")

    await chat.tap("确认还款")  # the same outcome, shown this time

    [shown] = [m for m in repaybot.emulator.chat_log(1001) if m.message_id == confirmation]
    assert PAID in shown.text
    [payment_id] = await _payment_ids(repaybot)
    assert await _receipt_rows(repaybot) == [("superseded", payment_id, None)]
    await _lease_passes(repaybot)
    await _lease_passes(repaybot)
    assert [m.message_id for m in _receipts(repaybot)] == [shown.message_id]
