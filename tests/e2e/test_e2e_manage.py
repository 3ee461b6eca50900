"""/add (validated, previewed, surviving a restart), /plans, /history, /cards, /export, /forget."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from core.db.models import PaymentMethodRow, PlanRow, User
from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


async def _plans(bot: RepayBot, user_id: int) -> list[str]:
    async with bot.db.uow() as uow:
        titles = await uow.session.scalars(select(PlanRow.title).where(PlanRow.user_id == user_id))
        return list(titles)


async def test_add_reprompts_bad_input_and_saves_after_the_preview(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1003)
    assert "贷款机构" in (await chat.say("/add")).text
    await chat.say("京东白条")
    await chat.say("iPhone 16")
    await chat.tap("消费分期")
    for bad in ("abc", "-100", "12.345", "99999999"):
        reply = await chat.say(bad)
        assert "借款本金" in reply.text  # asked again, with the reason before it
    await chat.say("6,000")
    assert "1 到 60" in (await chat.say("100")).text
    await chat.say("12")
    await chat.tap("等额本息")
    assert "没看懂这个利率" in (await chat.say("lots")).text
    await chat.say("18%")
    assert "格式不对" in (await chat.say("next month")).text
    assert "没有这一天" in (await chat.say("2026-02-30")).text
    preview = await chat.say("2026-12-15")
    assert "年化利率（IRR）18.00%" in preview.text
    assert "¥550.08" in preview.text  # the equal installment of 6000 at 18 % over 12
    assert "京东白条 额度" not in preview.text
    saved = await chat.tap("保存")
    assert "已添加" in saved.text
    assert "iPhone 16" in await _plans(repaybot, 1003)


async def test_add_continues_after_a_restart(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1003)
    await chat.say("/add")
    await chat.say("小米")
    await chat.say("Xiaomi Pad 7")
    await repaybot.stop()
    await repaybot.start()
    await chat.tap("消费分期")
    await chat.say("1999")
    await chat.say("6")
    await chat.tap("免息")
    await chat.say("2026-12-20")
    saved = await chat.tap("保存")
    assert "已添加" in saved.text
    assert "Xiaomi Pad 7" in await _plans(repaybot, 1003)


async def test_add_refused_on_a_frozen_credit_line(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/add")
    refused = await chat.say("花呗")  # said at once, not after the eight steps
    assert "额度已冻结" in refused.text
    assert "第 1 步" in refused.text
    assert "第 2 步" not in (await chat.say("/cancel")).text
    assert "Switch 2" not in await _plans(repaybot, 1001)


async def test_cancel_leaves_the_conversation(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1003)
    await chat.say("/add")
    await chat.say("小米")
    assert "已取消" in (await chat.say("/cancel")).text
    assert "不认识" in (await chat.say("/nonsense")).text or "/help" in chat.last().text
    assert "小米" not in await _plans(repaybot, 1003)


async def test_plans_schedule_and_history_pages(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/plans")
    schedule = await chat.tap("Xiaomi 14 Ultra")
    assert "overdue 71 days" in schedule.text
    assert "Page 1/4" in schedule.text
    second = await chat.tap("Next")
    assert "Page 2/4" in second.text
    filtered = await chat.tap("This plan's payments")
    assert ": Xiaomi 14 Ultra" in filtered.text
    assert "3 in all" in filtered.text
    await chat.say("/plans")
    await chat.tap("MacBook")
    assert "(0 in all)" in (await chat.tap("This plan's payments")).text
    history = await chat.say("/history")
    assert "imported" in history.text
    assert "3 in all" in history.text


async def test_cards_add_top_up_default_remove(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/cards")
    await chat.tap("Add a payment method")
    await chat.tap("Bank card")
    await chat.say("Bank of China")
    assert "4 digits" in (await chat.say("12a4")).text
    added = await chat.say("8888")
    assert "Added Bank of China" in added.text
    await chat.say("/cards")
    await chat.tap("Bank of China")
    await chat.tap("Top up")
    assert "not an amount" in (await chat.say("lots")).text
    assert "At most" in (await chat.say("60000")).text
    topped = await chat.say("1000")
    assert "¥1,000.00" in topped.text
    await chat.say("/cards")
    await chat.tap("Bank of China")
    assert "default" in (await chat.tap("Make default")).text
    await chat.say("/cards")
    await chat.tap("HSBC")
    assert "never be debited" in (await chat.tap("Remove")).text  # asked first
    assert "removed" in (await chat.tap("Yes, remove it")).text
    async with repaybot.db.uow() as uow:
        rows = list(
            await uow.session.execute(
                select(
                    PaymentMethodRow.label, PaymentMethodRow.is_default, PaymentMethodRow.removed_at
                ).where(PaymentMethodRow.user_id == 1002)
            )
        )
    state = {label: (default, removed is not None) for label, default, removed in rows}
    assert state["Bank of China"] == (True, False)
    assert state["HSBC"] == (False, True)


async def test_export_sends_a_csv_document(repaybot: RepayBot) -> None:
    """In the reader's language — headers, statuses, kinds — and named with the reader's
    date: 01:00 on Nov 23 in Shanghai is still Nov 22 in UTC."""
    repaybot.clock.now = datetime(2026, 11, 22, 17, 0, tzinfo=UTC)
    chat = repaybot.chat(1001)
    await chat.say("/export")
    document = chat.last().document
    assert document is not None
    assert document.file_name == "repaybot-2026-11-23.csv"
    body = document.data.decode("utf-8-sig")
    assert body.startswith("分期编号,分期,期数,还款日,本金,利息,手续费,罚息,已还,待还,状态\n")
    assert "Redmi K70 Pro" in body
    assert ",已还清\n" in body
    assert "还款编号,记录时间（UTC）,还款日期,金额,类型,状态" in body
    assert ",导入,成功," in body
    english = repaybot.chat(1002, "en")
    await english.say("/export")
    document = english.last().document
    assert document is not None
    body = document.data.decode("utf-8-sig")
    assert body.startswith("Plan ID,Plan,Period,Due date,Principal,")
    assert ",Overdue\n" in body
    assert "succeeded" not in body


async def test_forget_deletes_everything_after_confirmation(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/forget")
    assert "已取消" in (await chat.tap("取消")).text
    assert await _plans(repaybot, 1001)
    await chat.say("/forget")
    done = await chat.tap("确定删除")
    assert "已全部删除" in done.text
    assert await _plans(repaybot, 1001) == []
    async with repaybot.db.uow() as uow:
        assert await uow.session.get(User, 1001) is None
        others = await uow.session.scalar(
            select(func.count()).select_from(PlanRow).where(PlanRow.user_id == 1002)
        )
    assert others == 2
