"""What the fuzz walk (test_e2e_fuzz.py) found, each pinned by the shortest story that
shows it."""

from __future__ import annotations

from typing import Any

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
