"""The receipt of a confirm that the sweep sends when the confirm's reply did not show it:
when it was confirmed, then what the reply says — in both languages, success and failure."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.sweep_messages import message_text
from core.services.payment_receipts import PaymentReceipt
from core.services.reminder_sweep import ReminderBatch

CONFIRMED = datetime(2026, 11, 22, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai
PAID = PaymentReceipt(
    payment_id=7,
    succeeded=True,
    amount=Decimal("2473.45"),
    failure_reason=None,
    method_kind="bank_card",
    method_label="招商银行",
    method_last4="1234",
    balance=Decimal("1526.55"),
    outstanding=Decimal("9000.00"),
    confirmed_at=CONFIRMED,
)
REFUSED = PaymentReceipt(
    payment_id=8,
    succeeded=False,
    amount=Decimal("2473.45"),
    failure_reason="insufficient_balance",
    method_kind="bank_card",
    method_label="招商银行",
    method_last4="1234",
    balance=Decimal("100.00"),
    outstanding=Decimal("11473.45"),
    confirmed_at=CONFIRMED,
)


def _text(lang: str, receipt: PaymentReceipt) -> str:
    return message_text(ReminderBatch(1001, lang, "Asia/Shanghai", (), receipt, 1))


@pytest.mark.parametrize(
    ("lang", "intro", "paid", "refused"),
    [
        ("zh", "确认的还款结果如下", "还款成功", "余额不足"),
        ("en", "The payment you confirmed at", "Payment succeeded", "too little money"),
    ],
)
def test_a_later_receipt_says_when_and_what(lang: str, intro: str, paid: str, refused: str) -> None:
    text = _text(lang, PAID)
    first, rest = text.split("\n", 1)
    assert intro in first
    assert "10:30" in first  # the reader's local time of the confirm
    assert paid in rest
    for figure in ("¥2,473.45", "¥1,526.55", "¥9,000.00", "1234"):
        assert figure in rest
    failed = _text(lang, REFUSED)
    assert intro in failed
    assert refused in failed
    assert paid not in failed
    assert "¥100.00" in failed


def test_the_payload_keeps_every_figure() -> None:
    assert PaymentReceipt.from_payload(PAID.to_payload()) == PAID
    assert PaymentReceipt.is_payload(PAID.to_payload())
    assert not PaymentReceipt.is_payload({"plan_title": "an auto-repay receipt"})
