"""A repayment notice pasted or forwarded into the chat (issue 13): every notice of the
corpus (tests/data/notices.json), in its language, leads to the /add preview with what it
says — the lender, the amount due per period, the periods left, the due date — and Save
adds the plan; text that is no notice is still "not understood"."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from core.db.models import PlanRow
from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py

CORPUS = json.loads((Path(__file__).parents[1] / "data" / "notices.json").read_text())
# The corpus is read as of its day; the bot's clock here is the e2e START (2026-11-22),
# so dates without a year fall in the same year and the periods are the same.
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _language(case: dict[str, Any]) -> str:
    return "zh" if CHINESE.search(case["text"]) else "en"


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_every_notice_of_the_corpus_leads_to_the_preview(
    repaybot: RepayBot, language: str
) -> None:
    cases = [case for case in CORPUS["notices"] if _language(case) == language]
    assert len(cases) >= 6
    chat = repaybot.chat(
        5301 if language == "zh" else 5302, "zh-hans" if language == "zh" else "en"
    )
    await chat.say("/start")
    intro = "这看起来是一条还款通知" if language == "zh" else "That looks like a repayment notice"
    cancel = "取消" if language == "zh" else "Cancel"
    for case in cases:
        shown = await chat.say(case["text"])
        assert intro in shown.text, case["text"]
        amount = f"¥{Decimal(case['amount']):,.2f}"
        assert amount in shown.text, case["text"]
        periods = case["left"] or 1
        said = f"× {periods} 期" if language == "zh" else f"{periods} × {amount}"
        assert said in shown.text, case["text"]
        await chat.tap(cancel)


async def test_a_notice_is_added_as_a_plan_and_other_text_is_not_understood(
    repaybot: RepayBot,
) -> None:
    chat = repaybot.chat(5303)
    await chat.say("/start")
    [case] = [c for c in CORPUS["notices"] if c["text"].startswith("【招联金融】")]
    await chat.say(case["text"])
    await chat.tap("保存")
    async with repaybot.db.uow() as uow:
        rows = (
            await uow.session.execute(
                select(
                    PlanRow.provider, PlanRow.periods, PlanRow.rate_known, PlanRow.first_due
                ).where(PlanRow.user_id == 5303)
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("招联金融", 5, False, datetime(2026, 12, 25, tzinfo=UTC).date())
    ]
    assert "没看懂" in (await chat.say("今天天气不错")).text
