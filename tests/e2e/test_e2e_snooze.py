"""Snoozing a reminder from its own buttons, through the emulator and the sweep: it comes
back once at the chosen time, marked "⏰", and not at all once it is paid; a second choice,
a too-late "tonight" and forged buttons change nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import select
from telegram.ext import Application

from bot.emulator.model import CallbackAnswer, Message
from core.db.models import ReminderLogRow
from tests.e2e.conftest import RepayBot

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py

SWEEP = 0.1  # seconds between sweeps (real time); the clock they read is the test's
ZH_TITLE, EN_TITLE = "还款提醒", "Repayment reminder"
ZH_LINE = "• 小米备用金：2026年11月25日 应还 ¥458.40（还有 3 天）"
ZH_BUTTONS = ["立即还款", "查看详情", "我已在平台 App 还款", "⏰ 1 小时后", "今晚 8 点", "明天"]
ZH_STALE = "该按钮已失效，请重新开始（如 /repay）。"


# ``sweeping`` and ``sweeps`` are used by test_e2e_sending.py too; conftest.py is their
# natural home.


async def sweeping(bot: RepayBot) -> None:
    """Restart the bot with the reminder sweep on."""
    await bot.stop()
    bot.sweep_seconds = SWEEP
    await bot.start()


async def sweeps(bot: RepayBot, count: int = 3) -> None:
    """Wait until every instance has run ``count`` more sweeps to their end. A sweep already
    running may have read the clock before the caller changed it; the ones after it read it
    as it is."""
    await asyncio.gather(*(_sweeps(app, count) for app in bot.apps))


async def _sweeps(app: Application, count: int) -> None:  # type: ignore[type-arg]
    assert app.job_queue is not None
    [job] = app.job_queue.get_jobs_by_name("sweep")
    scheduler = app.job_queue.scheduler
    finished = asyncio.Event()
    seen = 0

    def count_sweep(event: JobExecutionEvent) -> None:
        nonlocal seen
        if event.job_id == job.job.id:
            seen += 1
            if seen >= count:
                finished.set()

    scheduler.add_listener(count_sweep, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    try:
        await asyncio.wait_for(finished.wait(), timeout=15)
    finally:
        scheduler.remove_listener(count_sweep)


async def _first_reminder(bot: RepayBot, user_id: int, title: str) -> Message:
    await bot.emulator.wait_for_bot(user_id, after=0, timeout=15)
    [reminder] = _reminders(bot, user_id, title)
    return reminder


def _reminders(bot: RepayBot, user_id: int, title: str) -> list[Message]:
    return [m for m in bot.emulator.chat_log(user_id) if title in m.text]


async def _arrive(bot: RepayBot, user_id: int, title: str, count: int) -> list[Message]:
    """Wait until the chat holds ``count`` reminders, then a few sweeps more (for extras)."""
    for _ in range(100):
        if len(_reminders(bot, user_id, title)) >= count:
            break
        await asyncio.sleep(0.1)
    await sweeps(bot)
    return _reminders(bot, user_id, title)


def _labels(message: Message) -> list[str]:
    return [text for row in message.buttons for text, _ in row]


async def _snooze(bot: RepayBot, user_id: int, message_id: int, data: str) -> CallbackAnswer:
    """Press a snooze choice that works: the alert, then the keyboard edit."""
    after = bot.emulator.seq
    answer = await _press(bot, user_id, message_id, data)
    await bot.emulator.wait_for_bot(user_id, after=after, timeout=10)
    return answer


async def _press(bot: RepayBot, user_id: int, message_id: int, data: str) -> CallbackAnswer:
    """Press ``data`` on message ``message_id``, whether or not a button carries it."""
    query = await bot.emulator.press(user_id, message_id, callback_data=data, forge=True)
    return await bot.emulator.wait_for_answer(query, timeout=10)


async def _snoozes(bot: RepayBot, user_id: int) -> list[tuple[str, datetime]]:
    """Status and comeback time of the user's snoozes."""
    async with bot.db.uow() as uow:
        rows = await uow.session.execute(
            select(ReminderLogRow.status, ReminderLogRow.fire_at)
            .where(ReminderLogRow.user_id == user_id, ReminderLogRow.kind == "snoozed")
            .order_by(ReminderLogRow.id)
        )
        return [(status, fire_at.astimezone(UTC)) for status, fire_at in rows]


async def test_snoozed_an_hour_comes_back_once_marked(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await sweeping(repaybot)
    reminder = await _first_reminder(repaybot, 1001, ZH_TITLE)
    assert _labels(reminder) == ZH_BUTTONS

    alert = await _snooze(repaybot, 1001, reminder.message_id, "sz:hour")
    assert alert.show_alert is True
    assert alert.text == "⏰ 好的，2026年11月22日 11:00 再提醒您一次。"
    assert _labels(repaybot.emulator.chat_log(1001)[0]) == [
        "立即还款",
        "查看详情",
        "我已在平台 App 还款",
    ]
    assert await _snoozes(repaybot, 1001) == [("pending", datetime(2026, 11, 22, 3, tzinfo=UTC))]

    repaybot.clock.advance(minutes=59)
    await sweeps(repaybot)
    assert len(_reminders(repaybot, 1001, ZH_TITLE)) == 1

    repaybot.clock.advance(minutes=2)
    first, back = await _arrive(repaybot, 1001, ZH_TITLE, 2)
    assert first.message_id == reminder.message_id
    assert back.text == f"🔔 {ZH_TITLE}\n⏰ {ZH_LINE}"
    assert _labels(back) == ZH_BUTTONS  # the comeback can be snoozed in turn
    assert chat.last().message_id == back.message_id

    repaybot.clock.advance(hours=3)
    await sweeps(repaybot)
    assert len(_reminders(repaybot, 1001, ZH_TITLE)) == 2
    assert [s for s, _ in await _snoozes(repaybot, 1001)] == ["sent"]


async def test_a_second_choice_on_a_snoozed_reminder_is_refused(repaybot: RepayBot) -> None:
    repaybot.chat(1001)
    await sweeping(repaybot)
    reminder = await _first_reminder(repaybot, 1001, ZH_TITLE)
    await _snooze(repaybot, 1001, reminder.message_id, "sz:hour")
    snoozed = await _snoozes(repaybot, 1001)
    for data in ("sz:tomorrow", "sz:tonight", "sz:hour"):  # the buttons are gone: forged
        again = await _press(repaybot, 1001, reminder.message_id, data)
        assert again.show_alert is True
        assert again.text == "这条提醒已经推迟过了，会在 2026年11月22日 11:00 再提醒一次。"
    assert await _snoozes(repaybot, 1001) == snoozed
    assert len(snoozed) == 1

    repaybot.clock.advance(hours=1, minutes=1)
    assert len(await _arrive(repaybot, 1001, ZH_TITLE, 2)) == 2
    repaybot.clock.advance(hours=20)  # 07:01 the next day: before any scheduled reminder
    await sweeps(repaybot)
    assert len(_reminders(repaybot, 1001, ZH_TITLE)) == 2


async def test_tonight_after_eight_is_too_late_and_tomorrow_comes_at_nine(
    repaybot: RepayBot,
) -> None:
    repaybot.chat(1001)
    await sweeping(repaybot)
    reminder = await _first_reminder(repaybot, 1001, ZH_TITLE)
    repaybot.clock.now = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)  # 21:00 in Shanghai

    late = await _press(repaybot, 1001, reminder.message_id, "sz:tonight")
    assert late.show_alert is True
    assert late.text == "已经过了晚上 8 点，请选择「1 小时后」或「明天」。"
    assert await _snoozes(repaybot, 1001) == []
    assert _labels(repaybot.emulator.chat_log(1001)[0]) == ZH_BUTTONS  # still offered

    tomorrow = await _snooze(repaybot, 1001, reminder.message_id, "sz:tomorrow")
    assert tomorrow.text == "⏰ 好的，2026年11月23日 09:00 再提醒您一次。"
    nine = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, the remind time
    assert await _snoozes(repaybot, 1001) == [("pending", nine)]

    repaybot.clock.now = datetime(2026, 11, 23, 0, 59, tzinfo=UTC)
    await sweeps(repaybot)
    assert len(_reminders(repaybot, 1001, ZH_TITLE)) == 1
    repaybot.clock.now = datetime(2026, 11, 23, 1, 0, 30, tzinfo=UTC)
    _, back = await _arrive(repaybot, 1001, ZH_TITLE, 2)
    assert back.text == f"🔔 {ZH_TITLE}\n⏰ • 小米备用金：2026年11月25日 应还 ¥458.40（还有 2 天）"
    repaybot.clock.advance(hours=4)
    await sweeps(repaybot)
    assert len(_reminders(repaybot, 1001, ZH_TITLE)) == 2


async def test_paid_before_the_comeback_nothing_comes_back(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await sweeping(repaybot)
    reminder = await _first_reminder(repaybot, 1001, ZH_TITLE)
    await _snooze(repaybot, 1001, reminder.message_id, "sz:hour")

    await chat.say("/repay")
    await chat.tap("本期账单")
    await chat.tap("招商银行")
    receipt = await chat.tap("确认还款")
    assert "还款成功" in receipt.text

    repaybot.clock.advance(hours=1, minutes=1)
    await sweeps(repaybot)
    assert len(_reminders(repaybot, 1001, ZH_TITLE)) == 1
    assert chat.last().message_id == receipt.message_id
    assert [s for s, _ in await _snoozes(repaybot, 1001)] == ["superseded"]


async def test_forged_snooze_data_is_a_stale_button(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await sweeping(repaybot)
    reminder = await _first_reminder(repaybot, 1001, ZH_TITLE)
    status = await chat.say("/status")
    for message_id, data in (
        (reminder.message_id, "sz:bogus"),
        (reminder.message_id, "sz:hour:1"),
        (status.message_id, "sz:hour"),
        (status.message_id, "sz:tomorrow"),
    ):
        answer = await _press(repaybot, 1001, message_id, data)
        assert answer.show_alert is True
        assert answer.text == ZH_STALE, data
    assert await _snoozes(repaybot, 1001) == []
    log = repaybot.emulator.chat_log(1001)
    assert _labels(log[0]) == ZH_BUTTONS
    assert log[0].edit_date is None
    assert log[-1].message_id == status.message_id
    assert log[-1].edit_date is None
    edits = [c for c in repaybot.emulator.calls if c.method.startswith("edit")]
    assert edits == []


async def test_english_user_snoozes_in_english(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    await sweeping(repaybot)
    reminder = await _first_reminder(repaybot, 1002, EN_TITLE)
    assert _labels(reminder) == [
        "Repay now",
        "Details",
        "I paid in the lender's app",
        "⏰ In 1 hour",
        "Tonight 8 pm",
        "Tomorrow",
    ]
    status = await chat.say("/status")
    stale = await _press(repaybot, 1002, status.message_id, "sz:hour")
    assert stale.text == "This button is no longer valid. Please start again (e.g. /repay)."

    done = await _snooze(repaybot, 1002, reminder.message_id, "sz:hour")
    assert done.show_alert is True
    assert done.text == "⏰ OK, I'll remind you once more Nov 22, 2026, 11:00\u202fAM."
    again = await _press(repaybot, 1002, reminder.message_id, "sz:tonight")
    assert again.text == (
        "This reminder is already snoozed: it comes back once, Nov 22, 2026, 11:00\u202fAM."
    )
    repaybot.clock.advance(hours=1, minutes=1)
    back = await _arrive(repaybot, 1002, EN_TITLE, 2)
    assert len(back) == 2
    assert back[1].text.startswith(f"🔔 {EN_TITLE}\n⏰ • ⚠️ ")
    assert "3 periods overdue, the oldest by 71 days" in back[1].text
    repaybot.clock.now = datetime(2026, 11, 22, 13, 0, tzinfo=UTC)  # 21:00 in Singapore
    late = await _press(repaybot, 1002, back[1].message_id, "sz:tonight")
    assert late.text == 'It\'s past 8 pm already: choose "In 1 hour" or "Tomorrow".'
