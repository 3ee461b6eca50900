"""The money rules a user sees (issue 11): what the early-repayment fee is charged on,
and a payment that reaches the payoff is turned into the offer of the payoff."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db.models import PaymentRow
from core.domain.quotes import payoff_amount, total_owed
from core.services.books import load_plans
from tests.e2e.conftest import START, RepayBot


async def test_payoff_screen_says_what_the_early_repayment_fee_is_charged_on(
    repaybot: RepayBot,
) -> None:
    """戴森 HD15: ¥2,999.00 over 6 at a 0.5 % fee, 1 % early-repayment fee, started
    11-10: on 11-22 period 1 is billed (its ¥15.00 fee is owed), nothing is due yet, so
    the fee is 1 % of the ¥2,999.00 not yet due."""
    chat = repaybot.chat(1001)
    await chat.say("/payoff")
    await chat.tap("戴森")
    await chat.tap("招商银行")
    screen = chat.last().text
    assert "提前还款手续费 ¥29.99：按未到期本金 ¥2,999.00 的 1% 收取" in screen
    assert "¥3,043.99" in screen  # 2999.00 + 15.00 + 29.99


async def test_a_custom_amount_reaching_a_payoff_offers_the_payoff(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    on = START.date()  # the demo user's zone is Asia/Shanghai: 10:00, the same day
    async with repaybot.db.uow() as uow:
        books = [p.book for p in await load_plans(uow.session, 1001)]
    # Everything owed: each plan would get all it owes, future interest and fees too.
    owed = total_owed(books, on)
    payoffs = [payoff_amount(book, on) for book in books]
    await chat.say("/repay")
    await chat.tap("自定义金额")
    reply = await chat.say(f"{owed:.2f}")
    assert "提前结清" in reply.text
    assert any(f"¥{amount:,.2f}" in reply.text for amount in payoffs if amount is not None)
    async with repaybot.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(PaymentRow).where(
            PaymentRow.kind != "imported")) == 0  # fmt: skip
    await chat.tap("提前结清")
    assert "请确认还款" in chat.last().text or "选择" in chat.last().text
