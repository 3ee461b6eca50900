"""Hostile input that used to crash a handler (the generic apology and a traceback) now
gets the ordinary refusal: a time zone that is a directory or no file name at all,
callback data with integers beyond the database's range, a language the bot does not
speak, a trailing newline after well-formed data, and a forged method kind."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.db.models import User
from tests.e2e.conftest import RepayBot

APOLOGY = ("参考编号", "Reference")


def _apologies(bot: RepayBot, user_id: int) -> list[str]:
    return [m.text for m in bot.emulator.chat_log(user_id) if any(a in m.text for a in APOLOGY)]


@pytest.mark.parametrize("zone", ["Asia", "A" * 4000, "🌏/上海", "../../etc/passwd", "Asia/"])
async def test_a_zone_that_is_no_zone_is_asked_again(repaybot: RepayBot, zone: str) -> None:
    chat = repaybot.chat(1003)
    await chat.say("/remind")
    await chat.tap("修改时区")
    assert "不认识这个时区" in (await chat.say(zone)).text
    assert "Asia/Tokyo" in (await chat.say("Asia/Tokyo")).text  # still asking, then saved
    assert _apologies(repaybot, 1003) == []
    async with repaybot.db.uow() as uow:
        assert await uow.session.scalar(select(User.timezone).where(User.telegram_id == 1003)) == (
            "Asia/Tokyo"
        )


@pytest.mark.parametrize(
    "data",
    [
        "pv:99999999999999999999999:1",
        "pv:1:99999999999999999999999",
        "hp:1:999999999999999999999999",
        "hp:99999999999999999999:0",
        "cv:9223372036854775808",
        "cv:0",
        "lg:fr",
        "lg:zh\n",
        "pv:1:1\n",
        "ca:crypto",
        "rm:sideways",
        "rd:99-98",
        "sz:never",
    ],
)
async def test_forged_callback_data_is_a_stale_button_answered_once(
    repaybot: RepayBot, data: str
) -> None:
    chat = repaybot.chat(1002, "en")
    await chat.say("/cards")
    answer = await chat.press_data(data)
    assert answer.show_alert is True
    assert "expired" in answer.text or "no longer" in answer.text
    [query] = [q for q in repaybot.emulator.state.queries.values() if q.data == data]
    assert len(repaybot.emulator.callback_answers(query.id)) == 1  # answered exactly once
    assert _apologies(repaybot, 1002) == []
    async with repaybot.db.uow() as uow:
        language = await uow.session.scalar(select(User.language).where(User.telegram_id == 1002))
    assert language == "en"  # lg:zh\n switched nothing
