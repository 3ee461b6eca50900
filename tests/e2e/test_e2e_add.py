"""/add as awaited questions: Back on every step, a closed credit line said first, every
answer checked where it is typed (an ambiguous rate asked with buttons, the legal maximum,
dates out of bounds), buttons of older steps expired, and one question at a time."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from core.db.models import PlanRow
from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py

APOLOGY = ("参考编号", "Reference")
ZH = {
    "purchase": "消费分期",
    "annuity": "等额本息",
    "free": "免息",
    "purchase_button": "消费分期",
    "annuity_button": "等额本息",
    "free_button": "免息",
    "back": "返回",
    "cancel": "取消",
    "save": "保存",
    "so_far": "当前填写",
    "steps": ("第 1 步", "第 2 步", "第 3 步", "第 4 步", "第 5 步", "第 6 步", "第 7 步"),
    "last": "最后一步",
    "saved": "已添加",
}
EN = {
    "purchase": "purchase",
    "annuity": "equal installments",
    "free": "interest-free",
    "purchase_button": "Purchase",
    "annuity_button": "Equal installments",
    "free_button": "Interest-free",
    "back": "Back",
    "cancel": "Cancel",
    "save": "Save",
    "so_far": "Your answer so far",
    "steps": ("Step 1", "Step 2", "Step 3", "Step 4", "Step 5", "Step 6", "Step 7"),
    "last": "Last step",
    "saved": "Saved",
}


async def _plan(bot: RepayBot, user_id: int, title: str) -> tuple[str, int, str, Decimal] | None:
    """(provider, periods, method, rate) of the user's plan called ``title``."""
    async with bot.db.uow() as uow:
        row = (
            await uow.session.execute(
                select(PlanRow.provider, PlanRow.periods, PlanRow.method, PlanRow.rate).where(
                    PlanRow.user_id == user_id, PlanRow.title == title
                )
            )
        ).first()
        return None if row is None else (row[0], row[1], row[2], row[3])


def _no_apology(bot: RepayBot, user_id: int) -> None:
    texts = [m.text for m in bot.emulator.chat_log(user_id)]
    texts += [v.text for m in bot.emulator.chat_log(user_id) for v in m.history]
    assert not [x for x in texts if any(a in x for a in APOLOGY)]


def _answered_once(bot: RepayBot) -> None:
    presses = [e.query_id for e in bot.emulator.events if e.kind == "answer"]
    assert len(presses) == len(set(presses))


@pytest.mark.parametrize(("user_id", "code"), [(1003, "zh-hans"), (1002, "en")])
async def test_back_on_every_step_keeps_the_answers(
    repaybot: RepayBot, user_id: int, code: str
) -> None:
    w = ZH if code.startswith("zh") else EN
    chat = repaybot.chat(user_id, code)
    step1, step2, step3, step4, step5, step6, step7 = w["steps"]
    assert step1 in (await chat.say("/add")).text
    assert w["back"] not in str(chat.last().buttons)  # the first step has only Cancel
    await chat.say("Lender A")
    await chat.say("Back and forth")
    await chat.tap(w["purchase_button"])
    await chat.say("1200")
    await chat.say("12")
    await chat.tap(w["annuity_button"])
    await chat.say("12%")
    preview = await chat.say("2026-12-20")
    assert "12.00%" in preview.text  # the preview, with its Back
    walk = [
        (w["last"], "2026"),
        (step7, "12%"),
        (step6, w["annuity"]),
        (step5, "12"),
        (step4, "¥1,200.00"),
        (step3, w["purchase"]),
        (step2, "Back and forth"),
        (step1, "Lender A"),
    ]
    for marker, kept in walk:
        screen = await chat.tap(w["back"])
        assert marker in screen.text
        assert w["so_far"] in screen.text
        assert kept in screen.text
    await chat.say("Lender B")  # a new answer for step 1, then on from there
    await chat.say("Back and forth")
    await chat.tap(w["purchase_button"])
    await chat.say("1200")
    await chat.say("6")
    await chat.tap(w["free_button"])
    assert w["last"] in chat.last().text  # interest-free: no rate asked
    back = await chat.tap(w["back"])
    assert step6 in back.text  # and Back skips the rate too
    await chat.tap(w["free_button"])
    await chat.say("2026-12-20")
    assert w["saved"] in (await chat.tap(w["save"])).text
    plan = await _plan(repaybot, user_id, "Back and forth")
    assert plan is not None
    assert plan[:3] == ("Lender B", 6, "interest_free")
    _no_apology(repaybot, user_id)
    _answered_once(repaybot)


async def test_a_frozen_credit_line_is_said_before_the_first_question(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    first = await chat.say("/add")
    assert "花呗（额度已冻结）" in first.text
    assert first.text.index("花呗") < first.text.index("第 1 步")
    refused = await chat.say("花呗")
    assert "额度已冻结" in refused.text
    assert "第 1 步" in refused.text  # asked again, not after eight steps
    assert "第 2 步" in (await chat.say("小米")).text


async def test_an_exhausted_line_and_a_cash_advance_without_a_line_are_said_at_once(
    repaybot: RepayBot,
) -> None:
    chat = repaybot.chat(1002, "en")
    first = await chat.say("/add")
    assert "Huabei (nothing available)" in first.text
    assert "nothing available" in (await chat.say("Huabei")).text
    await chat.say("Some bank")
    await chat.say("Cash")
    refused = await chat.tap("Cash advance")
    assert "needs a Some bank credit line" in refused.text
    assert "Step 3" in refused.text
    await chat.tap("Purchase")
    assert "Step 4" in chat.last().text


@pytest.mark.parametrize(("user_id", "code"), [(1003, "zh-hans"), (1002, "en")])
async def test_a_rate_without_percent_is_asked_with_buttons(
    repaybot: RepayBot, user_id: int, code: str
) -> None:
    zh = code.startswith("zh")
    w = ZH if zh else EN
    chat = repaybot.chat(user_id, code)
    await chat.say("/add")
    await chat.say("Bank")
    await chat.say("Rates")
    await chat.tap(w["purchase_button"])
    await chat.say("6000")
    await chat.say("12")
    await chat.tap(w["annuity_button"])
    asked = await chat.say("0.18")
    labels = [text for row in asked.buttons for text, _ in row]
    if zh:
        assert labels[:3] == ["年利率 0.18%", "年利率 18%", "月利率 0.18%（年化 2.16%）"]
    else:
        assert labels[:3] == ["0.18% a year", "18% a year", "0.18% a month (2.16% a year)"]
    back = await chat.tap(w["back"])  # Back from the choice is the rate asked again
    assert w["steps"][6] in back.text
    await chat.say("18")
    one = await chat.tap("18%")
    assert w["last"] in one.text
    await chat.say("2026-12-15")
    await chat.tap(w["save"])
    plan = await _plan(repaybot, user_id, "Rates")
    assert plan is not None
    assert plan[3] == Decimal("0.18")
    _answered_once(repaybot)


async def test_a_fee_typed_without_percent_is_per_period(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1003)
    await chat.say("/add")
    await chat.say("小米")
    await chat.say("Fee")
    await chat.tap("消费分期")
    await chat.say("3000")
    await chat.say("6")
    await chat.tap("每期手续费")
    asked = await chat.say("0.6")
    assert [text for text, _ in asked.buttons[0]] == ["每期手续费率 0.6%"]
    await chat.tap("每期手续费率 0.6%")
    await chat.say("2026-12-15")
    await chat.tap("保存")
    plan = await _plan(repaybot, 1003, "Fee")
    assert plan is not None
    assert plan[3] == Decimal("0.006")


@pytest.mark.parametrize(("user_id", "code"), [(1003, "zh-hans"), (1002, "en")])
async def test_the_legal_maximum_and_bad_dates_are_refused_at_their_step(
    repaybot: RepayBot, user_id: int, code: str
) -> None:
    zh = code.startswith("zh")
    w = ZH if zh else EN
    chat = repaybot.chat(user_id, code)
    await chat.say("/add")
    await chat.say("Bank")
    await chat.say("Limits")
    await chat.tap(w["purchase_button"])
    await chat.say("6000")
    too_many = await chat.say("61")
    assert ("1 到 60" if zh else "1 to 60") in too_many.text
    await chat.say("12")
    await chat.tap(w["annuity_button"])
    for rate in ("40%", "40", "36.5"):
        refused = await chat.say(rate)
        assert ("年利率不能超过 36%" if zh else "cannot be above 36%") in refused.text
        assert w["steps"][6] in refused.text  # the rate asked again
        assert "0.36" not in refused.text  # no English inside Chinese, no raw fraction
    await chat.say("36%")
    for date, reason in (
        ("0001-01-01", "不能早于" if zh else "cannot be before"),
        ("1900-01-01", "不能早于" if zh else "cannot be before"),
        ("9999-12-31", "不能晚于" if zh else "cannot be after"),
        ("2026-02-30", "没有这一天" if zh else "does not exist"),
    ):
        again = await chat.say(date)
        assert reason in again.text
        assert w["last"] in again.text
    assert w["save"] in str((await chat.say("2026-12-15")).buttons)
    _no_apology(repaybot, user_id)


async def test_a_small_principal_limits_the_periods(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1003)
    await chat.say("/add")
    await chat.say("小米")
    await chat.say("Tiny")
    await chat.tap("消费分期")
    await chat.say("10")
    assert "最多只能分 10 期" in (await chat.say("12")).text
    assert "第 6 步" in (await chat.say("10")).text


async def test_an_older_steps_button_has_expired(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1003)
    await chat.say("/add")
    await chat.say("小米")
    await chat.say("Old buttons")
    message_id, kind = chat.button("备用金")
    await chat.tap("消费分期")
    # The kind's message now asks the principal; a second device still shows the kinds.
    query = await repaybot.emulator.press(1003, message_id, callback_data=kind, forge=True)
    answer = await repaybot.emulator.wait_for_answer(query, timeout=10)
    assert answer.show_alert is True
    assert "已过期" in answer.text
    assert len(repaybot.emulator.callback_answers(query)) == 1
    assert "第 4 步" in chat.last().text  # still asking the principal
    assert "第 5 步" in (await chat.say("1000")).text


async def test_another_command_ends_the_add_and_says_so(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1003)
    await chat.say("/add")
    await chat.say("小米")
    await chat.say("/status", count=2)
    assert "未完成的添加分期已取消" in chat.last().text
    assert "/help" in (await chat.say("Redmi")).text  # no longer taken as the title


async def test_an_amount_typed_after_an_abandoned_add_goes_to_repay(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/add")
    await chat.say("小米")  # /add now waits for the title …
    await chat.say("/repay", count=2)  # … and /repay ends it
    await chat.tap("自定义金额")
    quoted = await chat.say("100")
    assert "请选择支付方式" in quoted.text or "请确认还款" in quoted.text
    assert await _plan(repaybot, 1001, "100") is None


async def test_a_question_started_by_a_button_ends_the_add(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1003)
    await chat.say("/repay")
    await chat.say("/add")
    await chat.say("小米")
    await chat.tap("自定义金额", count=2)
    assert "未完成的添加分期已取消" in chat.last().text
    quoted = await chat.say("100")
    assert "请选择支付方式" in quoted.text or "请确认还款" in quoted.text


async def test_buttons_answer_the_typed_steps_and_a_daily_rate_is_read_zh(
    repaybot: RepayBot,
) -> None:
    """The common lenders, period counts and due days are buttons; a cash loan's daily
    rate (日利率) is taken as the yearly rate it makes (issue 13)."""
    chat = repaybot.chat(5401)
    await chat.say("/start")
    await chat.say("/add")
    await chat.tap("小米分期")
    await chat.say("Redmi Pad")
    await chat.tap("消费分期")
    await chat.say("3000")
    await chat.tap("12 期")
    await chat.tap("等额本息")
    asked = await chat.say("日利率0.05%")
    assert "首期还款日" in asked.text
    assert "2026年12月10日" in [label for row in asked.buttons for label, _ in row]
    preview = await chat.tap("2026年12月10日")
    assert "本金 ¥3,000.00 · 12 期 · 等额本息" in preview.text
    assert "首期 2026年12月10日" in preview.text
    await chat.tap("保存")
    async with repaybot.db.uow() as uow:
        found = await uow.session.execute(
            select(PlanRow.provider, PlanRow.periods, PlanRow.method, PlanRow.rate).where(
                PlanRow.user_id == 5401
            )
        )
        rows = [tuple(row) for row in found.all()]
    assert rows == [("小米分期", 12, "annuity", Decimal("0.1825"))]


async def test_buttons_and_a_daily_rate_en(repaybot: RepayBot) -> None:
    chat = repaybot.chat(5402, "en")
    await chat.say("/start")
    await chat.say("/add")
    await chat.tap("Xiaomi")
    await chat.say("Redmi Pad")
    await chat.tap("Purchase")
    await chat.say("3000")
    await chat.tap("6 periods")
    await chat.tap("Equal installments")
    asked = await chat.say("0.05% a day")
    assert "first due" in asked.text.lower()
    preview = await chat.tap("Dec 15, 2026")
    assert "6 periods" in preview.text
    assert "Annualized rate (IRR)" in preview.text
