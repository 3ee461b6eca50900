"""What the fuzz walk (test_e2e_fuzz.py) found, each pinned by the shortest story that
shows it."""

from __future__ import annotations

from typing import Any

import pytest

from bot.emulator import BotApiEmulator
from tests.e2e.conftest import RepayBot


def _refused(emulator: BotApiEmulator) -> list[tuple[str, Any]]:
    return [(c.method, c.response.get("description")) for c in emulator.calls if c.status != 200]


async def test_pressing_the_shown_choice_again_edits_nothing(repaybot: RepayBot) -> None:
    """The same reminder preset pressed twice: the screen already says it, and Telegram
    refuses an edit that changes nothing ("message is not modified")."""
    chat = repaybot.chat(1001)
    await chat.say("/remind")
    await chat.tap("提前 7/3/1/0 天")
    screen = chat.last()
    assert "到期前 7 / 3 / 1 / 0 天" in screen.text
    answer = await chat.press_data("rd:7-3-1-0")
    assert answer.accepted
    assert chat.last().text == screen.text
    assert _refused(repaybot.emulator) == []


async def test_the_same_page_of_the_plan_list_pressed_again_edits_nothing(
    repaybot: RepayBot,
) -> None:
    chat = repaybot.chat(1001)
    await chat.say("/repay")
    await chat.tap("单笔分期下一期")
    await chat.press_data("rp")
    assert _refused(repaybot.emulator) == []


@pytest.mark.parametrize(
    "data", ["cv:2147483648", "ap:9223372036854775807", "hp:1:2147483648", "rp:2147483648"]
)
async def test_an_id_beyond_the_id_columns_is_a_stale_button(repaybot: RepayBot, data: str) -> None:
    """Ids are INTEGER columns: on PostgreSQL a forged id past 2**31 - 1 made asyncpg
    refuse the query ("value out of int32 range") and the person got the apology."""
    chat = repaybot.chat(1002, "en")
    await chat.say("/cards")
    answer = await chat.press_data(data)
    assert answer.show_alert is True
    assert "no longer valid" in (answer.text or "")
    assert not any("Reference" in m.text for m in repaybot.emulator.chat_log(1002))
