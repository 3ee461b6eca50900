"""/add with the plan on one line ("/add 小米分期 2999 12期 0.6% 5号还"): what the line says
is filled in, what it does not is asked, and the same preview and Save end it (issue 13)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import PlanRow
from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py


async def _plans(bot: RepayBot, user_id: int) -> list[tuple[str, int, str]]:
    async with bot.db.uow() as uow:
        rows = await uow.session.execute(
            select(PlanRow.provider, PlanRow.periods, PlanRow.method).where(
                PlanRow.user_id == user_id
            )
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


async def test_one_line_goes_straight_to_the_preview_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(5201)
    await chat.say("/start")
    preview = await chat.say("/add 小米分期 2999 12期 0.6% 5号还")
    assert "小米分期" in preview.text
    assert "年化利率（IRR）<b>" not in preview.text  # rendered, not raw HTML
    assert "13.03%" in preview.text
    assert "首期 2026年12月5日：¥267.90" in preview.text  # the next 5th after Nov 22
    await chat.tap("保存")
    assert await _plans(repaybot, 5201) == [("小米分期", 12, "fee_per_period")]


async def test_what_the_line_leaves_out_is_asked_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(5202, "en")
    await chat.say("/start")
    asked = await chat.say("/add Huabei 3000 12 periods 0.6%")
    assert "first due" in asked.text.lower()
    unread = await chat.say("/add !!!")
    assert "I could not read a plan from that line" in unread.text
