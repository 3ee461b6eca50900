"""/calendar from the user's side, in both languages: the coming months' dues per day with
monthly totals, the .ics file sent in chat and the private subscription link served on the
HTTP port — read back with icalendar's own parser — revoked by a button and by /forget.
And the /status and /start changes that go with it: today/tomorrow, paid-off plans, and a
first plan offered to a new user."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar, Event
from sqlalchemy import func, select

from core.db.models import CalendarFeedRow, PlanRow
from core.importer.load import import_data
from core.services.reminders import update_reminder_settings
from tests.e2e.conftest import START, Chat, RepayBot, free_port

pytestmark = pytest.mark.journey  # also run on two webhook instances, see conftest.py

SHANGHAI = ZoneInfo("Asia/Shanghai")
AMOUNT = re.compile(r"¥([\d,]+\.\d\d)")
URL = re.compile(r"http://\S+\.ics")


def _amounts(line: str) -> list[Decimal]:
    return [Decimal(a.replace(",", "")) for a in AMOUNT.findall(line)]


async def _with_public_http(bot: RepayBot) -> None:
    """Restart the bot with its HTTP port reachable at a public URL (here: loopback)."""
    await bot.stop()
    port = free_port()
    bot.settings = bot.settings.model_copy(
        update={"http_port": port, "public_http_url": f"http://127.0.0.1:{port}/"}
    )
    await bot.start()


async def _link(chat: Chat, label: str) -> str:
    reply = await chat.tap(label)
    found = URL.search(reply.text)
    assert found is not None, reply.text
    return found[0]


def _parse(body: bytes) -> dict[str, Event]:
    """The events of an iCalendar document, by UID, read by icalendar's parser."""
    calendar = Calendar.from_ical(body)
    assert str(calendar["version"]) == "2.0"
    events = {str(e["uid"]): e for e in calendar.events}
    assert len(events) == len(calendar.events)  # every UID once
    return events


def _alarm_times(event: Event, zone: str) -> list[datetime]:
    alarms = event.alarms
    alarms.set_local_timezone(zone)
    return sorted(a.trigger for a in alarms.times)


def _event_on(events: dict[str, Event], day: date, title: str) -> Event:
    [found] = [
        e for e in events.values() if day == e.DTSTART and title in str(e.get("summary", ""))
    ]
    return found


async def test_calendar_lists_dues_per_day_with_monthly_totals_zh(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    screen = await chat.say("/calendar")
    text = screen.text
    assert "还款日历" in text
    for month in ("2026年11月", "2026年12月", "2027年1月"):
        assert month in text
    assert "2027年2月" not in text  # three months a page
    lines = text.splitlines()
    # Every month's total is the sum of its days.
    totals = {line.split("合计")[0]: _amounts(line)[0] for line in lines if "合计" in line}
    assert list(totals) == ["2026年11月", "2026年12月", "2027年1月"]
    day_lines = [line for line in lines if line.startswith("• ")]
    for month, prefix in (
        ("2026年11月", "• 11月"),
        ("2026年12月", "• 12月"),
        ("2027年1月", "• 1月"),
    ):
        days = [line for line in day_lines if line.startswith(prefix)]
        assert sum(_amounts(line)[0] for line in days) == totals[month]
    november = [line for line in day_lines if line.startswith("• 11月")]
    assert any("11月25日" in line and "小米备用金 第2/12期" in line for line in november)
    assert any("11月28日" in line and "¥633.00" in line for line in november)
    assert any("12月10日" in line and "戴森吹风机 HD15 第1/6期" in line for line in day_lines)
    later = await chat.tap("后三个月")
    assert "2027年2月" in later.text
    assert "2026年12月" not in later.text
    earlier = await chat.tap("前三个月")
    assert "2026年11月" in earlier.text


async def test_calendar_says_today_and_tomorrow_and_status_too(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    repaybot.clock.now = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)  # the 24th in Shanghai
    assert "• 明天 · " in (await chat.say("/calendar")).text  # the 25th
    assert "下一还款日：明天" in (await chat.say("/status")).text
    repaybot.clock.now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    assert "• 今天 · " in (await chat.say("/calendar")).text
    assert "下一还款日：今天" in (await chat.say("/status")).text
    en = repaybot.chat(1002, "en")
    repaybot.clock.now = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)  # the MacBook is due the 3rd
    assert "• Tomorrow · " in (await en.say("/calendar")).text
    assert "Next due: tomorrow" in (await en.say("/status")).text


async def test_calendar_in_english(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1002, "en")
    text = (await chat.say("/calendar")).text
    assert "Repayment calendar" in text
    assert "December 2026: " in text
    assert "in all" in text
    assert "MacBook Air 13 M3 1/12" in text
    assert "Calendar file (.ics)" in str(chat.last().buttons)


async def test_ics_file_and_subscription_link_follow_the_plans(repaybot: RepayBot) -> None:
    await _with_public_http(repaybot)
    chat = repaybot.chat(1001)
    await chat.say("/calendar")
    document = (await chat.tap("下载日历文件")).document
    assert document is not None
    assert document.file_name.endswith(".ics")
    from_chat = _parse(document.data)

    url = await _link(chat, "订阅到手机日历")
    assert "请勿分享" in chat.last().text
    async with httpx.AsyncClient() as http:
        served = await http.get(url)
        assert served.status_code == 200
        assert served.headers["content-type"].startswith("text/calendar")
        events = _parse(served.content)
        assert set(events) == set(from_chat)
        # Every unpaid installment of every open plan: 8 + 11 + 6 + 6 + 3.
        assert len([e for e in events.values() if "✅" not in str(e["summary"])]) == 34
        dyson = _event_on(events, date(2026, 12, 10), "戴森")
        assert "¥514.83" in str(dyson["summary"])
        assert int(dyson["sequence"]) == 0
        # Alarms at the reminder times: 3, 1 and 0 days before, at 09:00 in Shanghai.
        expected = [datetime(2026, 12, d, 9, 0, tzinfo=SHANGHAI) for d in (7, 9, 10)]
        assert _alarm_times(dyson, "Asia/Shanghai") == expected

        # Pay that period: the same event (same UID) becomes paid, without alarms.
        await chat.say("/repay")
        await chat.tap("单笔分期下一期")
        await chat.tap("戴森")
        await chat.tap("微信支付")
        assert "还款成功" in (await chat.tap("确认还款")).text
        # The reminder settings change: the alarms follow.
        async with repaybot.db.uow() as uow:
            await update_reminder_settings(uow, 1001, days_before=(2,), at=time(20, 30))
        after = _parse((await http.get(url)).content)
        paid = after[str(dyson["uid"])]
        assert "✅ 已还清" in str(paid["summary"])
        assert int(paid["sequence"]) == 1
        assert _alarm_times(paid, "Asia/Shanghai") == []
        macbook_like = _event_on(after, date(2026, 12, 18), "华为")
        assert _alarm_times(macbook_like, "Asia/Shanghai") == [
            datetime(2026, 12, 16, 20, 30, tzinfo=SHANGHAI)
        ]

        # A second tap cannot show the link again (only its hash is kept): a new one is
        # offered, and making it stops the old one.
        again = await chat.tap("订阅到手机日历")
        assert "只在创建时显示一次" in again.text
        new_url = await _link(chat, "生成新链接")
        assert new_url != url
        assert "旧链接已停用" in chat.last().text
        assert (await http.get(url)).status_code == 404
        assert (await http.get(new_url)).status_code == 200
        # The button revokes it.
        assert "已停用" in (await chat.tap("停用订阅链接")).text
        assert (await http.get(new_url)).status_code == 404
        assert (await http.get(url.replace(url[-10:-4], "AAAAAA"))).status_code == 404
        # With no link, the button shows a new one at once; revoked from the /calendar
        # screen, the screen stays and a new message says so.
        third = await _link(chat, "订阅到手机日历")
        assert (await http.get(third)).status_code == 200
        screen = await chat.say("/calendar")
        assert "已停用" in (await chat.tap("停用订阅链接")).text
        shown = [m for m in repaybot.emulator.chat_log(1001) if m.message_id == screen.message_id]
        assert "还款日历" in shown[0].text
        assert (await http.get(third)).status_code == 404


async def test_forget_revokes_the_link_en(repaybot: RepayBot) -> None:
    await _with_public_http(repaybot)
    chat = repaybot.chat(1002, "en")
    await chat.say("/calendar")
    url = await _link(chat, "Subscribe in my phone's calendar")
    assert "do not share it" in chat.last().text
    async with httpx.AsyncClient() as http:
        events = _parse((await http.get(url)).content)
        macbook = _event_on(events, date(2026, 12, 3), "MacBook")
        assert str(macbook["summary"]).startswith("Pay ¥")
        # Singapore's 09:00, as /remind says (the user's zone).
        zone = "Asia/Singapore"
        times = _alarm_times(macbook, zone)
        assert times[-1] == datetime(2026, 12, 3, 9, 0, tzinfo=ZoneInfo(zone))
        await chat.say("/forget")
        await chat.tap("Yes, delete everything")
        assert (await http.get(url)).status_code == 404
    async with repaybot.db.uow() as uow:
        left = await uow.session.scalar(select(func.count()).select_from(CalendarFeedRow))
    assert left == 0


async def test_no_link_without_a_public_url(repaybot: RepayBot) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/calendar")
    answer = await chat.press_data("cu")
    assert "暂未开放日历订阅" in answer.text
    async with repaybot.db.uow() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(CalendarFeedRow)) == 0


@pytest.mark.parametrize(
    ("language", "welcome", "button", "question"),
    [
        ("zh", "还款助手", "添加第一个分期计划", "贷款机构是"),
        ("en", "RepayBot", "Add your first plan", "who is the lender"),
    ],
)
async def test_a_new_user_is_offered_a_first_plan(
    repaybot: RepayBot, language: str, welcome: str, button: str, question: str
) -> None:
    chat = repaybot.chat(4000 + len(language), language)
    start = await chat.say("/start")
    assert welcome in start.text
    assert button in str(start.buttons)
    status = await chat.say("/status")
    assert button in str(status.buttons)
    calendar = await chat.say("/calendar")
    assert button in str(calendar.buttons)
    assert question in (await chat.tap(button)).text  # /add's first question
    # Someone with plans is not offered one.
    assert "添加第一个" not in str((await repaybot.chat(1001).say("/start")).buttons)


@pytest.mark.parametrize(
    ("language", "mark"), [("zh", "Kindle · 已结清"), ("en", "Kindle · paid off")]
)
async def test_status_marks_paid_off_plans(repaybot: RepayBot, language: str, mark: str) -> None:
    user_id = 4100 if language == "zh" else 4101
    plan = {
        "external_id": f"kindle-{user_id}",
        "provider": "Huabei",
        "title": "Kindle",
        "principal": "1068.00",
        "periods": 3,
        "method": "interest_free",
        "start_date": "2026-02-11",
        "first_due": "2026-03-10",
        "paid_periods": 3,
    }
    other = dict(plan, external_id=f"pad-{user_id}", title="Pad", first_due="2026-11-10")
    other["start_date"] = "2026-10-10"
    other["paid_periods"] = 1
    user = {"telegram_id": user_id, "language": language, "timezone": "Asia/Shanghai"}
    user["plans"] = [plan, other]
    await import_data(repaybot.db, {"users": [user]}, START)
    async with repaybot.db.uow() as uow:
        closed = await uow.session.scalar(
            select(PlanRow.closed_at).where(PlanRow.external_id == f"kindle-{user_id}")
        )
    assert closed is not None
    status = await repaybot.chat(user_id, language).say("/status")
    assert mark in status.text
    assert "Pad · " not in status.text
