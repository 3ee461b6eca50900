"""The largest account the per-user limits allow (core/limits.py), in both languages:
every screen and every reminder goes through the emulator, which refuses what Telegram
refuses (over 4096 UTF-16 units after entity parsing, over 100 buttons), and not one Bot
API call is refused."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from telegram.ext import ExtBot

from bot.emulator import BotApiEmulator
from bot.emulator.model import Message
from bot.fit import BUDGET, visible_length
from bot.jobs import BotSink
from bot.ratelimit import TelegramRateLimiter
from bot.sweep_messages import reminder_keyboard, reminder_text
from core.db.models import ReminderLogRow
from core.domain.reminders import ReminderKind
from core.importer.load import import_data
from core.limits import (
    MAX_METHOD_LABEL_CHARS,
    MAX_OPEN_PLANS,
    MAX_PAYMENT_METHODS,
    MAX_PLAN_PERIODS,
    MAX_PROVIDER_CHARS,
    MAX_TITLE_CHARS,
)
from core.services.methods import MethodKind, new_method_row
from core.services.reminder_items import ReminderItem
from core.services.reminder_sweep import ReminderBatch
from tests.e2e.conftest import START, TOKEN, Chat, RepayBot

USERS = {"zh": 5001, "en": 5002}
TODAY = START.date()  # 2026-11-22 in Shanghai
RICH = 5  # the first methods can pay anything; the others hold ¥1 (a short auto-repay)


def _wide(prefix: str, size: int) -> str:
    """``size`` characters, most of them wide: Chinese, emoji (2 UTF-16 units), & and <."""
    return (prefix + "还款&<计划>😀🎉" * size)[:size]


def _months_before(day: date, months: int) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, day.day)


def _big_user(user_id: int, language: str) -> dict[str, Any]:
    """MAX_OPEN_PLANS plans of MAX_PLAN_PERIODS periods with the longest titles, each from
    its own provider, and MAX_PAYMENT_METHODS methods with the longest labels. Half the
    plans have a period due tomorrow (auto-repay from a ¥1 card), half are overdue for
    months; every plan has periods paid (many payments)."""
    methods = [
        {
            "kind": "bank_card",
            "label": _wide(f"{j}号", MAX_METHOD_LABEL_CHARS),
            "last4": f"{1000 + j}",
            "balance": "9999999.00" if j < RICH else "1.00",
            "default": j == 0,
        }
        for j in range(MAX_PAYMENT_METHODS)
    ]
    plans, lines = [], []
    for i in range(MAX_OPEN_PLANS):
        provider = _wide(f"{i:02d}", MAX_PROVIDER_CHARS)
        lines.append({"provider": provider, "limit": "9999999.00"})
        due_tomorrow = i < MAX_OPEN_PLANS // 2
        paid = 12 if due_tomorrow else 3
        first_due = (
            _months_before(TODAY + timedelta(days=1), paid)
            if due_tomorrow
            else _months_before(TODAY, 17).replace(day=10)
        )
        plans.append(
            {
                "external_id": f"big-{user_id}-{i}",
                "provider": provider,
                "title": _wide(f"{i:02d}", MAX_TITLE_CHARS),
                "principal": "60000.00",
                "periods": MAX_PLAN_PERIODS,
                "method": "fee_per_period",
                "rate": "0.006",
                "first_due": first_due.isoformat(),
                "autopay": True,
                "autopay_method": methods[RICH + i % (MAX_PAYMENT_METHODS - RICH)]["label"],
                "paid_periods": paid,
            }
        )
    return {
        "telegram_id": user_id,
        "language": language,
        "timezone": "Asia/Shanghai",
        "credit_lines": lines,
        "payment_methods": methods,
        "plans": plans,
    }


def _refused(emulator: BotApiEmulator) -> list[tuple[str, int, Any]]:
    return [(c.method, c.status, c.body) for c in emulator.calls if c.status != 200]


async def _tap(chat: Chat, prefix: str, index: int = 0) -> Message:
    """Press the ``index``-th button whose data starts with ``prefix`` on the newest message
    that has one, and wait for the answer and the screen."""
    emulator = chat.emulator
    for message in reversed(emulator.chat_log(chat.user_id)):
        found = [d for row in message.buttons for _, d in row if d and d.startswith(prefix)]
        if found:
            break
    else:
        raise AssertionError(f"no button {prefix!r}")
    after = emulator.seq
    query = await emulator.press(chat.user_id, message.message_id, callback_data=found[index])
    await emulator.wait_for_answer(query, timeout=10)
    await emulator.wait_for_bot(chat.user_id, after=after, timeout=10)
    await asyncio.sleep(0.05)  # the handling ends after its last send
    return chat.last()


def _fits(message: Message) -> Message:
    assert visible_length(message.text) <= BUDGET
    assert sum(len(row) for row in message.buttons) <= 100
    return message


@pytest.mark.parametrize("language", ["zh", "en"])
async def test_every_screen_of_the_largest_account_is_accepted(
    repaybot: RepayBot, language: str
) -> None:
    user_id = USERS[language]
    await import_data(repaybot.db, {"users": [_big_user(user_id, language)]}, START)
    chat = repaybot.chat(user_id, language)
    more = "……还有" if language == "zh" else "…and"

    # Reminders first, while everything is owed: one batch for this user, a line per plan
    # (each overdue plan's notice, each auto-repay notice from a ¥1 card), summarised in a
    # last line if it would not fit.
    repaybot.chat(1001)
    repaybot.chat(1002, "en")  # the demo users get theirs too
    await repaybot.stop()
    repaybot.sweep_seconds = 0.5
    after = repaybot.emulator.seq
    await repaybot.start()
    await repaybot.emulator.wait_for_bot(user_id, after=after, timeout=20)
    await asyncio.sleep(1.5)  # further sweeps
    reminder = _fits(chat.last())
    assert "🔔" in reminder.text
    listed = [i for i in range(MAX_OPEN_PLANS) if f"{i:02d}还款" in reminder.text]
    assert listed == list(range(MAX_OPEN_PLANS)) or more in reminder.text.splitlines()[-1]
    overdue = "期已逾期" if language == "zh" else "periods overdue"
    assert reminder.text.count(overdue) == MAX_OPEN_PLANS // 2  # one line per overdue plan
    async with repaybot.db.uow() as uow:
        rows = await uow.session.scalars(
            select(ReminderLogRow.status).where(ReminderLogRow.user_id == user_id)
        )
        statuses = set(rows)
    assert "sent" in statuses
    assert "failed" not in statuses
    await repaybot.stop()
    repaybot.sweep_seconds = 0
    await repaybot.start()

    status = _fits(await chat.say("/status"))
    assert more in status.text  # 20 credit lines and 20 auto-repay plans do not all fit
    _fits(await chat.say("/plans"))
    _fits(await _tap(chat, "pv:"))
    _fits(await _tap(chat, "pv:"))  # the next page of the schedule
    _fits(await _tap(chat, "hp:"))  # that plan's payments
    _fits(await chat.say("/history"))
    _fits(await _tap(chat, "hp:"))  # the next page

    # The current bill of ten plans overdue for months: one payment over 150 installments.
    _fits(await chat.say("/repay"))
    _fits(await _tap(chat, "rb"))
    _fits(await _tap(chat, "qm:"))  # a rich card
    _fits(await _tap(chat, "qc:"))  # the receipt
    # An early payoff of a 60-period plan: allocated to every installment left.
    _fits(await chat.say("/payoff"))
    _fits(await _tap(chat, "ro:"))
    _fits(await _tap(chat, "qm:"))
    _fits(await _tap(chat, "qs:"))  # change the method: the pay-with list again
    _fits(await _tap(chat, "qm:"))
    receipt = _fits(await _tap(chat, "qc:"))
    assert "¥" in receipt.text
    history = _fits(await chat.say("/history"))
    assert "↳" in history.text  # the allocations, summarised per run of periods
    _fits(await chat.say("/repay"))
    _fits(await _tap(chat, "rp"))
    _fits(await _tap(chat, "rp:"))
    _fits(await _tap(chat, "qx:"))

    _fits(await chat.say("/cards"))
    _fits(await _tap(chat, "cv:"))
    _fits(await chat.say("/autopay"))
    _fits(await _tap(chat, "ap:"))
    for command in ("/remind", "/help", "/faq", "/start", "/support"):
        _fits(await chat.say(command))
    # The calendar: 20 plans due on the same days, summarised; later pages; the .ics file.
    _fits(await chat.say("/credit"))  # the most credit lines: one per plan's lender
    _fits(await chat.say("/advice"))
    calendar = _fits(await chat.say("/calendar"))
    assert ("另有" if language == "zh" else "more") in calendar.text
    _fits(await _tap(chat, "cd:"))
    _fits(await _tap(chat, "cd:", -1))
    document = (await _tap(chat, "ci")).document
    assert document is not None
    assert document.data.count(b"BEGIN:VEVENT") >= MAX_OPEN_PLANS * (MAX_PLAN_PERIODS - 12)
    assert _refused(repaybot.emulator) == []

    assert _refused(repaybot.emulator) == []


def _item(i: int, kind: ReminderKind, offset: int, **extra: Any) -> ReminderItem:
    return ReminderItem(
        log_id=i,
        installment_id=i,
        kind=kind,
        offset=offset,
        plan_title=_wide(f"{i:02d}", MAX_TITLE_CHARS),
        due_date=TODAY,
        amount=Decimal("1234567.89"),
        penalty=Decimal("1234.56"),
        days_overdue=400,
        **extra,
    )


def _every_kind(count: int) -> tuple[ReminderItem, ...]:
    label = _wide("卡", MAX_METHOD_LABEL_CHARS)
    shapes: list[tuple[ReminderKind, int, dict[str, Any]]] = [
        (ReminderKind.BEFORE_DUE, 3, {}),
        (ReminderKind.BEFORE_DUE, 0, {"snoozed": True}),
        (ReminderKind.BEFORE_DUE, -2, {}),
        (ReminderKind.AUTOPAY_NOTICE, 1, {"method_label": label, "balance_short": True}),
        (ReminderKind.AUTOPAY_NOTICE, 1, {}),
        (ReminderKind.OVERDUE, 0, {}),
        (ReminderKind.OVERDUE, 1800, {"count": MAX_PLAN_PERIODS}),
    ]
    return tuple(
        _item(i, *shapes[i % len(shapes)][:2], **shapes[i % len(shapes)][2]) for i in range(count)
    )


@pytest.mark.parametrize("language", ["zh", "en"])
@pytest.mark.parametrize("count", [1, 23, MAX_OPEN_PLANS * MAX_PLAN_PERIODS])
async def test_a_reminder_batch_of_any_size_is_one_accepted_message(
    emulator: BotApiEmulator, language: str, count: int
) -> None:
    """Every reminder kind, from one item to one per installment the limits allow: one
    message, accepted; what does not fit is counted and totalled."""
    items = _every_kind(count)
    text = reminder_text(ReminderBatch(7, language, "Asia/Shanghai", items))
    emulator.user(7, "Big", language_code=language)
    limiter = TelegramRateLimiter()
    async with ExtBot(TOKEN, base_url=emulator.base_url, rate_limiter=limiter) as bot:
        await BotSink(bot).deliver(7, text, reminder_keyboard(language))
    assert _refused(emulator) == []
    [message] = emulator.chat_log(7)
    shown = message.text.count("•")
    more = "……还有" if language == "zh" else "…and"
    if shown < count:
        hidden = count - shown
        total = Decimal("1234567.89") * hidden
        assert f"{hidden}" in message.text.splitlines()[-1]
        assert f"¥{total:,.2f}" in message.text.splitlines()[-1]
        assert more in message.text
    else:
        assert more not in message.text


async def test_an_account_over_the_limits_pages_its_button_lists(repaybot: RepayBot) -> None:
    """An account made before the limits (100 payment methods) can still pay: /cards, the
    pay-with list and an auto-repay plan's methods come a page at a time."""
    async with repaybot.db.uow() as uow:
        for j in range(100):
            label = _wide(f"{j:03d}", MAX_METHOD_LABEL_CHARS)
            row = new_method_row(1002, MethodKind.BANK_CARD, label, "4321", START, Decimal(9999))
            uow.session.add(row)
        await uow.commit()
    chat = repaybot.chat(1002, "en")
    first = _fits(await chat.say("/cards")).buttons
    second = _fits(await _tap(chat, "cl:")).buttons  # the same message, edited
    assert second != first
    _fits(await chat.say("/repay"))
    _fits(await _tap(chat, "rb"))
    _fits(await _tap(chat, "qs:"))  # the next page of methods
    _fits(await _tap(chat, "qm:"))
    assert "¥" in _fits(await _tap(chat, "qc:")).text
    _fits(await chat.say("/autopay"))
    _fits(await _tap(chat, "ap:"))
    _fits(await _tap(chat, "ap:"))  # the next page of that plan's methods
    assert _refused(repaybot.emulator) == []
