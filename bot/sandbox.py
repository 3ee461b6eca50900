"""``repaybot sandbox``: the real bot against the built-in Bot API emulator, with a chat in
the terminal. No token, no network: everything stays on loopback.

Type messages and commands as in Telegram; bot messages print as they arrive (reminders
and receipts too) with their buttons numbered, and ``#2`` presses button 2 of the latest
message that has buttons. ``/quit`` (or end of input) leaves. The bot's log goes to a
file, not into the chat.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import TextIO

from pydantic import SecretStr
from sqlalchemy import func, select

from bot.app import build_application
from bot.deps import utc_now
from bot.emulator import BotApiEmulator
from bot.jobs import SWEEP_SECONDS
from bot.sandbox_reset import ResetRefused, reset_database
from bot.sandbox_terminal import LineReader, TerminalChat
from core.db.models import ProcessedUpdateRow, User
from core.db.uow import Database
from core.domain.dates import DateError, parse_date
from core.importer.load import import_data
from core.services.errors import NotFound
from core.services.users import get_user
from core.settings import get_settings

SANDBOX_DB = "sqlite+aiosqlite:///./data/sandbox.db"
SANDBOX_LOG = Path("data") / "sandbox.log"
DEMO = Path(__file__).resolve().parents[1] / "examples" / "demo.json"
TOKEN = "1:sandbox"


@dataclass(frozen=True)
class Terminal:
    """Where the chat is typed and printed."""

    source: TextIO
    out: TextIO
    interactive: bool = False  # a person at a terminal: a prompt, redrawn around arrivals


async def run_sandbox(
    database_url: str,
    user_id: int,
    language: str,
    terminal: Terminal,
    sweep_seconds: float = SWEEP_SECONDS,
    clock: Callable[[], datetime] = utc_now,
    reset_command: str = "repaybot sandbox --reset",
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
        # Every user the database knows has a chat, as on Telegram: the sweep reaches the
        # other demo users too (their messages are kept in the emulator, not printed).
        for known_id, known_language in await _known_users(db):
            emulator.user(known_id, f"Demo {known_id}", language_code=known_language)
        emulator.user(user_id, "Sandbox", language_code=language)
        # Telegram's update ids keep rising across restarts, and the bot skips an id it
        # has taken on before: a fresh emulator must go on from the last one.
        emulator.state.next_update_id = await _last_update_id(db) + 1
        app = build_application(settings, db, clock=clock, sweep_seconds=sweep_seconds)
        await app.initialize()
        assert app.post_init is not None  # as run_polling does: the payment provider, the menu
        await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        out = terminal.out
        reader = LineReader(terminal.source, out, interactive=terminal.interactive)
        chat = TerminalChat(emulator, user_id, reader)
        out.write(f"RepayBot sandbox — user {user_id}, database {database_url}\n")
        out.write(
            "Type /start, /status, /repay …; #N presses button N of the latest message "
            "with buttons; /quit leaves.\n"
        )
        out.write(f"The bot's log is in {SANDBOX_LOG}.\n")
        out.flush()
        printer = asyncio.create_task(chat.follow())
        try:
            has_data = not await _is_new(db, user_id)
            while (line := await reader.next_line()) is not None:
                if line.strip() == "/quit":
                    break
                if not line.strip():
                    continue
                await chat.say(line.strip())
                had_data, has_data = has_data, not await _is_new(db, user_id)
                if had_data and not has_data:  # /forget went through
                    chat.write(
                        "  (sandbox: your data is deleted. To get the demo back, leave and "
                        f"run: {reset_command})\n"
                    )
        finally:
            printer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await printer
            chat.print_new()
            reader.close()
            await app.updater.stop()
            await app.stop()
            await app.shutdown()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)
            await db.dispose()
    return 0


async def _is_new(db: Database, user_id: int) -> bool:
    async with db.uow() as uow:
        try:
            await get_user(uow, user_id)
        except NotFound:
            return True
    return False


async def _known_users(db: Database) -> list[tuple[int, str]]:
    async with db.uow() as uow:
        rows = await uow.session.execute(select(User.telegram_id, User.language))
        return [(telegram_id, language) for telegram_id, language in rows]


async def _last_update_id(db: Database) -> int:
    async with db.uow() as uow:
        last = await uow.session.scalar(select(func.max(ProcessedUpdateRow.update_id)))
        return int(last or 0)


def shifted_clock(today: date | None) -> Callable[[], datetime]:
    """The bot's clock: real time, or real time moved to ``today`` — a UTC date with the
    time of day kept, or an instant — to see the demo as it will look then."""
    if today is None:
        return utc_now
    offset = today - utc_now() if isinstance(today, datetime) else today - utc_now().date()
    return lambda: utc_now() + offset


def _day(text: str) -> date:
    if "T" in text:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(
                f"not a date and time: {text!r} (use YYYY-MM-DDTHH:MM, e.g. 2026-11-22T09:05+08:00)"
            ) from exc
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    try:
        return parse_date(text)
    except DateError as exc:
        raise argparse.ArgumentTypeError(f"not a date: {text!r} (use YYYY-MM-DD)") from exc


def _log_to_file(path: Path) -> None:
    """The bot's log into ``path``: printed, it would land in the middle of the chat."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per poll otherwise
    logging.captureWarnings(True)


def sandbox(args: argparse.Namespace) -> int:
    explicit = args.database_url is not None
    url = args.database_url if explicit else SANDBOX_DB
    reset_command = "repaybot sandbox --reset" + (f" --database-url {url}" if explicit else "")
    if args.reset:
        try:
            deleted = reset_database(url, explicit=explicit)
        except ResetRefused as refused:
            print(f"repaybot sandbox: error: {refused}", file=sys.stderr)
            return 2
        print(f"Deleted {deleted}; the demo is loaded afresh.")
    _log_to_file(SANDBOX_LOG)
    terminal = Terminal(sys.stdin, sys.stdout, sys.stdin.isatty() and sys.stdout.isatty())
    return asyncio.run(
        run_sandbox(
            url,
            args.user,
            args.lang,
            terminal,
            args.sweep_seconds,
            shifted_clock(args.today),
            reset_command,
        )
    )


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = commands.add_parser("sandbox", help="try the bot offline in the terminal (no token)")
    sub.add_argument("--database-url", default=None, help=f"default {SANDBOX_DB}")
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
        help="run the bot's clock from this day (YYYY-MM-DD) instead of today, or from an "
        "instant (YYYY-MM-DDTHH:MM, UTC unless an offset such as +08:00 is given)",
    )
    sub.add_argument(
        "--reset",
        action="store_true",
        help="delete the sandbox database first, so the demo loads afresh (a SQLite file "
        "only; never the bot's own database)",
    )
    sub.set_defaults(handler=sandbox)
