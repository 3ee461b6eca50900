"""A local Telegram Bot API emulator for end-to-end tests, the sandbox and benchmarks.

A real PTB ``Application`` talks to :class:`BotApiEmulator` over HTTP on loopback
(``ApplicationBuilder().base_url(emulator.base_url).base_file_url(emulator.base_file_url)``);
the emulator rejects what Telegram rejects and lets tests play the user's side.
"""

from bot.emulator.errors import ApiError, EmulatorError
from bot.emulator.model import (
    BOT_ID,
    BOT_USERNAME,
    CallbackAnswer,
    Document,
    Event,
    Message,
    Version,
)
from bot.emulator.server import BotApiEmulator, Call
from bot.emulator.webhook import Delivery

__all__ = [
    "BOT_ID",
    "BOT_USERNAME",
    "ApiError",
    "BotApiEmulator",
    "Call",
    "CallbackAnswer",
    "Delivery",
    "Document",
    "EmulatorError",
    "Event",
    "Message",
    "Version",
]
