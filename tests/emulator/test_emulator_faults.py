"""Injected faults, flood control and getUpdates conflicts, as PTB sees them."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

import pytest
from telegram.error import BadRequest, Conflict, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import Application

from bot.emulator import BotApiEmulator

ALICE = 1001  # registered by the emulator fixture (conftest.py)


def exact(message: str) -> str:
    """A pytest.raises(match=) pattern for exactly ``message``."""
    return f"^{re.escape(message)}$"


# PTB 22 warns about RetryAfter.retry_after becoming a timedelta; not our concern here.
pytestmark = pytest.mark.filterwarnings("ignore::telegram.warnings.PTBDeprecationWarning")


async def test_injected_429_raises_retry_after(emulator: BotApiEmulator, app: Application) -> None:
    emulator.inject("sendMessage", status=429, retry_after=3, times=2)
    for _ in range(2):
        with pytest.raises(RetryAfter) as caught:
            await app.bot.send_message(ALICE, "hi")
        assert caught.value.retry_after == 3
    await app.bot.send_message(ALICE, "hi")
    assert [c.status for c in emulator.calls if c.method == "sendMessage"] == [429, 429, 200]
    assert emulator.calls[-2].response["description"] == "Too Many Requests: retry after 3"
    assert len(emulator.chat_log(ALICE)) == 1


async def test_injected_403_400_and_502(
    emulator: BotApiEmulator, make_app: Callable[..., Application]
) -> None:
    emulator.inject("SENDMESSAGE", status=403)
    emulator.inject("sendMessage", status=400, description="Bad Request: chat not found")
    app = make_app(emulator)
    async with app.bot as bot:  # not polling, so "*" cannot be taken by getUpdates
        emulator.inject("*", status=502)
        with pytest.raises(Forbidden, match="bot was blocked by the user"):
            await bot.send_message(ALICE, "a")
        with pytest.raises(BadRequest, match=exact("Chat not found")):
            await bot.send_message(ALICE, "b")
        with pytest.raises(NetworkError, match="Bad Gateway"):
            await bot.send_chat_action(ALICE, "typing")
        await bot.send_message(ALICE, "c")
    assert [m.text for m in emulator.chat_log(ALICE)] == ["c"]


async def test_delay_injection_times_out_but_still_delivers(
    emulator: BotApiEmulator, make_app: Callable[..., Application]
) -> None:
    emulator.inject("sendMessage", status=None, delay=0.6)
    app = make_app(emulator, read_timeout=0.2)
    async with app.bot as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(ALICE, "maybe sent")
    # Like a real timeout, the request may still have been carried out.
    [event] = await emulator.wait_for_bot(ALICE, timeout=2)
    assert event.text == "maybe sent"


async def test_rate_limit_per_chat(emulator: BotApiEmulator, app: Application) -> None:
    emulator.rate_limit(per_second=30, per_chat_per_second=1)
    await app.bot.send_message(ALICE, "one")
    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(ALICE, "two")
    assert caught.value.retry_after == 1
    emulator.rate_limit(enabled=False)
    await app.bot.send_message(ALICE, "three")
    assert [m.text for m in emulator.chat_log(ALICE)] == ["one", "three"]


async def test_second_get_updates_terminates_the_first(
    emulator: BotApiEmulator, make_app: Callable[..., Application]
) -> None:
    first, second = make_app(emulator), make_app(emulator)
    async with first.bot as one, second.bot as two:
        waiting = asyncio.create_task(one.get_updates(timeout=3))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        assert await two.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await waiting
        assert time.monotonic() - started < 1


async def test_get_updates_offset_confirms_and_long_polls(
    emulator: BotApiEmulator, make_app: Callable[..., Application]
) -> None:
    app = make_app(emulator)
    async with app.bot as bot:
        await emulator.send_text(ALICE, "a")
        await emulator.send_text(ALICE, "b")
        updates = await bot.get_updates(timeout=0)
        assert [u.message.text for u in updates if u.message] == ["a", "b"]
        # Not confirmed yet: delivered again.
        assert len(await bot.get_updates(timeout=0)) == 2
        last = updates[-1].update_id
        assert await bot.get_updates(offset=last + 1, timeout=0) == ()
        later = asyncio.create_task(bot.get_updates(offset=last + 1, timeout=2))
        await asyncio.sleep(0.1)
        await emulator.send_text(ALICE, "c")
        [update] = await later
        assert update.message is not None
        assert update.message.text == "c"
        assert await bot.get_updates(offset=-1, timeout=0) == (update,)


async def test_webhook_blocks_polling(
    emulator: BotApiEmulator, make_app: Callable[..., Application]
) -> None:
    app = make_app(emulator)
    async with app.bot as bot:
        assert await bot.set_webhook("https://bot.example/hook")
        assert (await bot.get_webhook_info()).url == "https://bot.example/hook"
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates(timeout=0)
        assert await bot.delete_webhook()
        assert await bot.get_updates(timeout=0) == ()
