"""/forget says exactly what it deletes and what it keeps, per FORGET_KEEPS_PAYMENT_RECORDS."""

from __future__ import annotations

from sqlalchemy import func, select

from core.db.models import PaymentRow, PlanRow, User
from tests.e2e.conftest import RepayBot


async def _count(bot: RepayBot, model: type, *where: object) -> int:
    async with bot.db.uow() as uow:
        total = await uow.session.scalar(select(func.count()).select_from(model).where(*where))
        return int(total or 0)


async def test_forget_says_nothing_is_kept_by_default(repaybot: RepayBot) -> None:
    assert "不做任何保留" in (await repaybot.chat(1001).say("/forget")).text
    english = repaybot.chat(1002, "en")
    asked = (await english.say("/forget")).text
    assert "payment records, payment methods, credit lines, reminders and settings" in asked
    assert "Nothing is kept" in asked
    assert "all your data has been deleted" in (await english.tap("Yes, delete")).text.lower()
    assert await _count(repaybot, PaymentRow, PaymentRow.user_id < 0) == 0


async def test_forget_keeps_payment_records_without_the_person(repaybot: RepayBot) -> None:
    await repaybot.stop()
    repaybot.settings = repaybot.settings.model_copy(update={"forget_keeps_payment_records": True})
    await repaybot.start()
    english = repaybot.chat(1002, "en")
    asked = (await english.say("/forget")).text
    assert "deletes your plan names, payment methods, credit lines, reminders and settings" in asked
    assert "The operator must keep payment records" in asked
    assert "under a random number" in asked
    chat = repaybot.chat(1001)
    asked = (await chat.say("/forget")).text
    assert "运营方须保存还款记录" in asked
    assert "以随机编号保留" in asked

    payments = await _count(repaybot, PaymentRow, PaymentRow.user_id == 1001)
    assert payments > 0
    done = (await chat.tap("确定删除")).text
    assert "还款记录已按上一条消息所述去除身份信息后保留" in done
    assert await _count(repaybot, User, User.telegram_id == 1001) == 0
    assert await _count(repaybot, PaymentRow, PaymentRow.user_id == 1001) == 0
    assert await _count(repaybot, PaymentRow, PaymentRow.user_id < 0) == payments
    assert await _count(repaybot, PlanRow, PlanRow.user_id < 0, PlanRow.title != "") == 0
    # The person can start afresh; the kept records are not theirs any more.
    assert "还款助手" in (await chat.say("/start")).text
    assert await _count(repaybot, PaymentRow, PaymentRow.user_id == 1001) == 0
