"""End-to-end fixtures: the real RepayBot Application polling the local Bot API emulator
over real HTTP, on a real SQLite file, with the demo data and a controllable clock."""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from telegram.ext import Application

from bot.app import build_application
from bot.emulator import BotApiEmulator
from bot.emulator.model import Message
from core.db.uow import Database
from core.importer.load import import_data
from core.settings import Settings

# tests/ has no __init__.py: make tests/pg.py importable however pytest was started.
_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
try:
    from tests.pg import get_server
except ModuleNotFoundError:  # bare `pytest`: the repository root is not on sys.path
    from pg import get_server  # type: ignore[no-redef]

TOKEN = "123456:TEST-token"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.json"
START = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class RepayBot:
    """The running bot and the handles a test needs: emulator, database, clock."""

    emulator: BotApiEmulator
    db: Database
    settings: Settings
    clock: Clock
    app: Application | None = None  # type: ignore[type-arg]
    sweep_seconds: float = 0  # the reminder sweep is off unless a test turns it on
    chats: dict[int, Chat] = field(default_factory=dict)

    async def start(self) -> None:
        self.app = build_application(
            self.settings, self.db, clock=self.clock, sweep_seconds=self.sweep_seconds
        )
        await self.app.initialize()
        if self.app.post_init is not None:  # as run_polling does: migrate, health server, menu
            await self.app.post_init(self.app)
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(poll_interval=0, timeout=1)

    async def stop(self) -> None:
        if self.app is None:
            return
        assert self.app.updater is not None
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()
        if self.app.post_shutdown is not None:
            await self.app.post_shutdown(self.app)
        self.app = None

    def chat(self, user_id: int, language_code: str | None = "zh-hans") -> Chat:
        if user_id not in self.chats:
            self.emulator.user(user_id, f"User{user_id}", language_code=language_code)
            self.chats[user_id] = Chat(self.emulator, user_id)
        return self.chats[user_id]


@dataclass
class Chat:
    """A person in a private chat with the bot: types, taps, and reads the screen."""

    emulator: BotApiEmulator
    user_id: int

    async def say(self, text: str, *, count: int = 1) -> Message:
        after = self.emulator.seq
        await self.emulator.send_text(self.user_id, text)
        await self.emulator.wait_for_bot(self.user_id, after=after, count=count, timeout=10)
        return self.last()

    def last(self) -> Message:
        live = [m for m in self.emulator.chat_log(self.user_id) if not m.deleted]
        return live[-1]

    def with_buttons(self) -> Message:
        return next(m for m in reversed(self.emulator.chat_log(self.user_id)) if m.buttons)

    def button(self, label: str) -> tuple[int, str]:
        """The message id and callback data of the newest button whose text has ``label``."""
        for message in reversed(self.emulator.chat_log(self.user_id)):
            for row in message.buttons:
                for text, data in row:
                    if label in text and data is not None:
                        return message.message_id, data
        raise AssertionError(f"no button with {label!r}")

    async def tap(self, label: str, *, count: int = 1) -> Message:
        """Press a button and wait for the bot's answer and its new or edited screen."""
        message_id, data = self.button(label)
        after = self.emulator.seq
        query = await self.emulator.press(self.user_id, message_id, callback_data=data)
        await self.emulator.wait_for_answer(query, timeout=10)
        await self.emulator.wait_for_bot(self.user_id, after=after, count=count, timeout=10)
        return self.last()

    async def press_data(self, data: str) -> Any:
        """Press forged or stale callback data; returns the callback answer."""
        message_id = self.with_buttons().message_id
        query = await self.emulator.press(self.user_id, message_id, callback_data=data, forge=True)
        return await self.emulator.wait_for_answer(query, timeout=10)


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emu:
        yield emu


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every journey runs on a real SQLite file and on a real PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/repaybot.db"
        return
    server = get_server()
    name = f"e2e_{uuid.uuid4().hex[:12]}"
    await server.acreate_database(name)
    yield server.url_for(name)
    await server.adrop_database(name)


@pytest.fixture
async def repaybot(emulator: BotApiEmulator, database_url: str) -> AsyncIterator[RepayBot]:
    url = database_url
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,  # type: ignore[arg-type]
        telegram_base_url=emulator.base_url,
        database_url=url,
        support_contact="@repay_support",
        http_port=0,  # no health server unless a test asks for one
    )
    db = Database.from_url(url)
    await db.migrate()
    await import_data(db, json.loads(DEMO.read_text(), parse_float=Decimal), START)
    bot = RepayBot(emulator, db, settings, Clock())
    await bot.start()
    yield bot
    await bot.stop()
    await db.dispose()
