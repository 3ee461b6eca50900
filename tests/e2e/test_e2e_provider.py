"""Payments through a provider outside our database, from the user's side (issue 12): a
debit the bank settles later is "processing" — on the confirmation, in /status, counted
as paid — until the bank's signed notification settles it and the receipt comes; a forged
or unsigned notification changes nothing."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal

import aiohttp
from sqlalchemy import select

from core.db.models import PaymentRow
from core.gateway.bank.signing import signed_headers
from tests.e2e.conftest import RepayBot
from tests.e2e.test_e2e_repay import _balance, _to_confirmation
from tests.e2e.test_e2e_snooze import sweeping, sweeps

BILL = Decimal("2473.45")  # user 1001's current bill in the demo
NOTIFY = "/provider/notifications"


async def _payments(bot: RepayBot) -> list[tuple[str, str | None]]:
    async with bot.db.uow() as uow:
        rows = await uow.session.execute(
            select(PaymentRow.status, PaymentRow.reference)
            .where(PaymentRow.user_id == 1001, PaymentRow.kind == "manual")
            .order_by(PaymentRow.id)
        )
        return [(status, reference) for status, reference in rows.all()]


async def _until(check: object, what: str) -> None:
    for _ in range(200):
        if await check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never: {what}")


async def test_a_payment_the_bank_settles_later_is_processing_until_its_notification(
    repaybot: RepayBot,
) -> None:
    await sweeping(repaybot)
    await repaybot.bank_faults({"settlement_delay": 1.0})
    chat = repaybot.chat(1001)
    before = await _balance(repaybot, 1001, "招商银行")
    await _to_confirmation(chat, "本期账单", "招商银行")

    shown = await chat.tap("确认还款")

    assert "还款处理中" in shown.text
    assert f"¥{BILL:,.2f}" in shown.text
    status = await chat.say("/status")
    assert f"处理中：¥{BILL:,.2f}" in status.text
    assert "本期应还：¥0.00" in status.text  # counted as paid: nothing asks for it again

    async def settled() -> bool:
        return [s for s, _ in await _payments(repaybot)] == ["succeeded"]

    await _until(settled, "the bank's notification settles the payment")
    await sweeps(repaybot)
    receipt = chat.last()
    assert "还款成功" in receipt.text
    assert receipt.message_id != shown.message_id  # a message of its own
    assert await _balance(repaybot, 1001, "招商银行") == before - BILL
    status = await chat.say("/status")
    assert "处理中" not in status.text


async def test_forged_and_unsigned_notifications_change_nothing(repaybot: RepayBot) -> None:
    await repaybot.bank_faults({"settlement_delay": 3600})  # it stays processing
    chat = repaybot.chat(1001)
    await _to_confirmation(chat, "本期账单", "招商银行")
    assert "还款处理中" in (await chat.tap("确认还款")).text
    [(status, reference)] = await _payments(repaybot)
    assert status == "processing"
    body = json.dumps(
        {
            "debit": {
                "reference": reference,
                "account": "anything",
                "amount": f"{BILL:.2f}",
                "status": "succeeded",
                "failure_reason": None,
                "balance_after": "0.00",
                "created_at": "2026-12-05T01:00:00+00:00",
                "settled_at": "2026-12-05T01:00:00+00:00",
            },
            "event": "debit.settled",
            "notification_id": 1,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    now = int(time.time())
    forged = {
        "unsigned": {"Content-Type": "application/json"},
        "another secret": signed_headers("not-the-shared-secret-0123", now, body),
        "replayed later": signed_headers(repaybot.provider_secret(), now - 3600, body),
    }
    async with aiohttp.ClientSession() as session:
        for why, headers in forged.items():
            url = repaybot.http_url() + NOTIFY
            async with session.post(url, data=body, headers=headers) as answer:
                assert answer.status == 401, why
        tampered = signed_headers(repaybot.provider_secret(), now, body)
        async with session.post(
            repaybot.http_url() + NOTIFY,
            data=body.replace(b"succeeded", b"failed"),
            headers=tampered,
        ) as answer:
            assert answer.status == 401
    assert await _payments(repaybot) == [("processing", reference)]
    status = await chat.say("/status")
    assert f"处理中：¥{BILL:,.2f}" in status.text
