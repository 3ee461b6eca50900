"""Fixtures for the Bot API emulator tests: an emulator on loopback and a real PTB app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from telegram.ext import Application

from bot.emulator import BotApiEmulator

TOKEN = "123:ABC"
ALICE = 1001  # registered in every emulator; test modules repeat the constant


def build_app(
    emulator: BotApiEmulator, token: str = TOKEN, read_timeout: float = 2.0
) -> Application:
    """A PTB Application wired to the emulator, with short timeouts."""
    return (
        Application.builder()
        .token(token)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .read_timeout(read_timeout)
        .connect_timeout(2)
        .get_updates_read_timeout(3)
        .get_updates_connect_timeout(2)
        .build()
    )


@pytest.fixture
def make_app() -> Callable[..., Application]:
    """``build_app`` for tests that need their own Application (other token or timeouts)."""
    return build_app


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emu:
        emu.user(ALICE, "Alice", language_code="en", username="alice")
        yield emu


@pytest.fixture
async def app(emulator: BotApiEmulator) -> AsyncIterator[Application]:
    """A started, polling Application; tests add their handlers to it."""
    application = build_app(emulator)
    await application.initialize()
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(poll_interval=0, timeout=1)
    yield application
    await application.updater.stop()
    await application.stop()
    await application.shutdown()
