"""/add with the plan on one line ("/add 小米分期 2999 12期 0.6% 5号还"): what the line says
is filled in, what it does not is asked, and the same preview and Save end it (issue 13)."""

from __future__ import annotations

from typing import Any

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


async def _plan_page(chat: Any, title: str) -> str:
    await chat.say("/plans")
    return str((await chat.tap(title)).text)


async def test_a_plan_from_its_installments_has_an_unknown_rate_zh(repaybot: RepayBot) -> None:
    """As the lender's app shows it mid-way: so much a period, so many left. Without the
    principal the rate is unknown — said in the preview, the plan and /advice, never 0 %."""
    chat = repaybot.chat(5203)
    await chat.say("/start")
    preview = await chat.say("/add 小米分期 每期267.90 剩8期 5号还")
    assert "每期 ¥267.90 × 8 期 = ¥2,143.20，首期 2026年12月5日" in preview.text
    assert "年化利率：未知" in preview.text
    await chat.tap("保存")
    assert await _plans(repaybot, 5203) == [("小米分期", 8, "interest_free")]
    page = await _plan_page(chat, "小米分期")
    assert "按每期应还记录：8 期，共 ¥2,143.20" in page
    assert "年化利率：未知" in page
    advice = await chat.say("/advice")
    assert "1. 小米分期 · 年化未知 · 剩余待还 ¥2,143.20" in advice.text


async def test_with_the_principal_the_rate_is_known_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(5204)
    await chat.say("/start")
    preview = await chat.say("/add 小米分期 每期267.90 剩8期 本金2000 5号还")
    assert "本金 ¥2,000.00 · 8 期" in preview.text
    assert "首期 2026年12月5日：¥267.90" in preview.text
    assert "未知" not in preview.text
    await chat.tap("保存")
    assert await _plans(repaybot, 5204) == [("小米分期", 8, "fee_per_period")]


async def test_a_plan_from_its_installments_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(5205, "en")
    await chat.say("/start")
    preview = await chat.say("/add Xiaomi 267.90 per month, 8 periods left, first due Dec 5")
    assert "8 × ¥267.90 = ¥2,143.20, the first due Dec 5, 2026" in preview.text
    assert "Annualized rate: unknown" in preview.text
    await chat.tap("Save")
    page = await _plan_page(chat, "Xiaomi")
    assert "Entered by its installments: 8 periods, ¥2,143.20 in all" in page
    with_fee = await chat.say("/add Xiaomi 267.90 per month, 8 periods left, total fee 143.20")
    assert "unknown" not in with_fee.text


@pytest.mark.parametrize(
    ("user_id", "language", "words"),
    [
        (5206, "zh-hans", ("修改某项", "期数", "6 期", "本金 ¥2,999.00 · 6 期", "保存")),
        (5207, "en", ("Change an answer", "Periods", "6 periods", "¥2,999.00 · 6 periods", "Save")),
    ],
)
async def test_change_an_answer_from_the_preview(
    repaybot: RepayBot, user_id: int, language: str, words: tuple[str, ...]
) -> None:
    """The preview's "Change an answer": pick the answer, give it again, and the preview
    comes back with it — nothing asked twice, nothing saved before Save."""
    change, field, pick, changed, save = words
    chat = repaybot.chat(user_id, language)
    await chat.say("/start")
    line = (
        "小米分期 2999 12期 0.6% 5号还" if language != "en" else "Xiaomi 2999 12 periods 0.6% Jan 5"
    )
    await chat.say(f"/add {line}")
    await chat.tap(change)
    await chat.tap(field)
    preview = await chat.tap(pick)
    assert changed in preview.text
    assert await _plans(repaybot, user_id) == []
    await chat.tap(save)
    assert [periods for _, periods, _ in await _plans(repaybot, user_id)] == [6]
