"""``repaybot sandbox``: the real bot against the built-in Bot API emulator, with a chat in
the terminal. No token, no network: everything stays on loopback.

Type messages and commands as in Telegram; bot messages print with their buttons
numbered, and ``#2`` presses button 2 of the latest message that has buttons.
``/quit`` (or end of input) leaves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr

from bot.app import build_application
from bot.deps import utc_now
from bot.emulator import BotApiEmulator, Event
from bot.jobs import SWEEP_SECONDS
from core.db.uow import Database
from core.domain.dates import DateError, parse_date
from core.importer.load import import_data
from core.services.errors import NotFound
from core.services.users import get_user
from core.settings import get_settings

SANDBOX_DB = "sqlite+aiosqlite:///./data/sandbox.db"
DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.json"
TOKEN = "1:sandbox"


def render(event: Event, number: int) -> tuple[str, int]:
    """One bot event as terminal text; buttons numbered from ``number``."""
    if event.kind == "answer":
        return (f"  ({event.text})\n" if event.text else ""), number
    if event.kind == "delete":
        return f"  (message {event.message_id} deleted)\n", number
    if event.kind == "document" and event.document is not None:
        doc = event.document
        return f"bot: [document {doc.file_name}, {len(doc.data)} bytes]\n", number
    head = "bot (edited):" if event.kind == "edit" else "bot:"
    lines = [f"{head} {event.text or ''}".rstrip()]
    for row in event.buttons:
        cells = []
        for text, _ in row:
            number += 1
            cells.append(f"[{number}] {text}")
        lines.append("    " + "   ".join(cells))
    return "\n".join(lines) + "\n", number


class TerminalChat:
    """Bridges a terminal and the emulator for one sandbox user."""

    def __init__(self, emulator: BotApiEmulator, user_id: int, out: TextIO) -> None:
        self.emulator, self.user_id, self.out = emulator, user_id, out
        self.seen = emulator.seq
        self.buttons: list[tuple[int, str]] = []  # (message id, callback data), numbered from 1

    async def pump(self, quiet: float = 0.4, limit: float = 10.0) -> None:
        """Print what the bot did: wait for its first reaction (every action gets one),
        then until it has been quiet for ``quiet`` seconds."""
        loop = asyncio.get_running_loop()
        deadline, idle_since = loop.time() + limit, None
        while loop.time() < deadline and (idle_since is None or loop.time() - idle_since < quiet):
            fresh = [e for e in self.emulator.events if e.seq > self.seen]
            if fresh:
                idle_since = loop.time()
            for event in fresh:
                self.seen = event.seq
                if event.chat_id not in (self.user_id, None):
                    continue
                if event.buttons:
                    self.buttons = [
                        (event.message_id or 0, data or "")
                        for row in event.buttons
                        for _, data in row
                    ]
                text, _ = render(event, 0)
                self.out.write(text)
            self.out.flush()
            await asyncio.sleep(0.05)

    async def say(self, line: str) -> None:
        if line.startswith("#") and line[1:].isdigit():
            index = int(line[1:]) - 1
            if not 0 <= index < len(self.buttons):
                self.out.write("  (no such button)\n")
                return
            message_id, data = self.buttons[index]
            await self.emulator.press(self.user_id, message_id, callback_data=data)
        else:
            await self.emulator.send_text(self.user_id, line)
        await self.pump()


async def run_sandbox(
    database_url: str,
    user_id: int,
    language: str,
    source: TextIO,
    out: TextIO,
    sweep_seconds: float = SWEEP_SECONDS,
    clock: Callable[[], datetime] = utc_now,
) -> int:
    settings = get_settings().model_copy(
        # No health/metrics server: the sandbox is a toy and must not need a free port.
        update={"database_url": database_url, "bot_token": SecretStr(TOKEN), "http_port": 0}
    )
    db = Database.from_url(database_url)
    await db.migrate()
    if await _is_new(db, user_id) and DEMO.exists():
        data = json.loads(DEMO.read_text(), parse_float=Decimal)
        await import_data(db, data, clock())
    async with BotApiEmulator() as emulator:
        settings = settings.model_copy(update={"telegram_base_url": emulator.base_url})
        emulator.user(user_id, "Sandbox", language_code=language)
        app = build_application(settings, db, clock=clock, sweep_seconds=sweep_seconds)
        await app.initialize()
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        chat = TerminalChat(emulator, user_id, out)
        out.write(f"RepayBot sandbox — user {user_id}, database {database_url}\n")
        out.write("Type /start, /status, /repay …; #N presses button N; /quit leaves.\n")
        try:
            while True:
                line = await asyncio.to_thread(source.readline)
                if not line or line.strip() == "/quit":
                    break
                if line.strip():
                    await chat.say(line.strip())
        finally:
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
            await db.dispose()
    return 0


async def _is_new(db: Database, user_id: int) -> bool:
    async with db.uow() as uow:
        try:
            await get_user(uow, user_id)
        except NotFound:
            return True
    return False


def shifted_clock(today: date | None) -> Callable[[], datetime]:
    """The bot's clock: real time, or real time moved to ``today`` (a UTC date) with its
    time of day kept, to see the demo as it will look on another day."""
    if today is None:
        return utc_now
    offset = today - utc_now().date()
    return lambda: utc_now() + offset


def _day(text: str) -> date:
    try:
        return parse_date(text)
    except DateError as exc:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from exc


def sandbox(args: argparse.Namespace) -> int:
    return asyncio.run(
        run_sandbox(
            args.database_url,
            args.user,
            args.lang,
            sys.stdin,
            sys.stdout,
            args.sweep_seconds,
            shifted_clock(args.today),
        )
    )


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = commands.add_parser("sandbox", help="try the bot offline in the terminal (no token)")
    sub.add_argument("--database-url", default=SANDBOX_DB, help=f"default {SANDBOX_DB}")
    sub.add_argument(
        "--user", type=int, default=1001, help="the demo user to be (1001 zh, 1002 en)"
    )
    sub.add_argument("--lang", default="zh-hans", help="Telegram language_code of the user")
    sub.add_argument(
        "--sweep-seconds",
        type=float,
        default=SWEEP_SECONDS,
        help="how often reminders are looked for (0: never)",
    )
    sub.add_argument(
        "--today",
        type=_day,
        default=None,
        help="run the bot's clock from this day (YYYY-MM-DD) instead of today",
    )
    sub.set_defaults(handler=sandbox)
