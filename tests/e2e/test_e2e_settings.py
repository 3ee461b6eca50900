"""/autopay per plan with its card, and /remind settings (buttons and typed answers)."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from core.db.models import PaymentMethodRow, PlanRow, User
from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


async def test_autopay_turned_on_with_a_chosen_card(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    listing = await chat.say("/autopay")
    assert "10:00" in listing.text
    detail = await chat.tap("MacBook")
    assert "Auto-repay: on" in detail.text  # the demo imports it on, paid from HSBC
    off = await chat.tap("Turn auto-repay off")
    assert "Auto-repay: off" in off.text
    on = await chat.tap("Pay from Alipay")
    assert "Auto-repay: on, paid from Alipay" in on.text
    async with repaybot.db.uow() as uow:
        plan = await uow.session.scalar(select(PlanRow).where(PlanRow.title.like("MacBook%")))
        alipay = await uow.session.scalar(
            select(PaymentMethodRow.id).where(
                PaymentMethodRow.user_id == 1002, PaymentMethodRow.label == "Alipay"
            )
        )
        assert plan is not None
        assert (plan.autopay, plan.autopay_method_id) == (True, alipay)


async def test_autopay_refuses_someone_elses_plan(repaybot: RepayBot) -> None:
    async with repaybot.db.uow() as uow:
        plan = await uow.session.scalar(select(PlanRow.id).where(PlanRow.user_id == 1001))
    chat = repaybot.chat(1002, "en")
    await chat.say("/autopay")
    answer = await chat.press_data(f"at:{plan}")
    assert answer.show_alert is True
    async with repaybot.db.uow() as uow:
        row = await uow.session.get(PlanRow, plan)
        assert row is not None
        assert row.autopay is True  # unchanged


async def test_reminder_settings(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1003)
    shown = await chat.say("/remind")
    assert "到期前 3 / 1 / 0 天" in shown.text
    assert "09:00" in shown.text
    assert "到期前 7 / 3 / 1 / 0 天" in (await chat.tap("提前 7/3/1/0 天")).text
    assert "状态：关闭" in (await chat.tap("开 / 关提醒")).text
    await chat.tap("修改时间")
    assert "时间格式不对" in (await chat.say("25:00")).text
    assert "21:30" in (await chat.say("21:30")).text
    await chat.tap("修改时区")
    assert "不认识这个时区" in (await chat.say("Mars/Olympus")).text
    assert "America/New_York" in (await chat.say("America/New_York")).text
    async with repaybot.db.uow() as uow:
        user = await uow.session.get(User, 1003)
        assert user is not None
        assert user.remind_days == "7,3,1,0"
        assert user.remind_time == time(21, 30)
        assert user.timezone == "America/New_York"
        assert user.reminders_enabled is False
