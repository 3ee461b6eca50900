"""The bot under test, in its own process: RepayBot as ``build_application`` makes it, or a
bare python-telegram-bot echo bot (the framework's own floor), long polling the emulator.

    python bench/_bot_host.py --mode MODE --database-url URL
        --base-url URL [--clock-start ISO] [--sweep-seconds S] [--record PATH]
        [--profile PATH]

Every update handled is timed around ``Application.process_update`` (the same wrapper for
every mode) and written to ``--record`` as JSON when the process gets SIGTERM.
``--clock-start`` starts RepayBot's clock at that instant and lets it run at real speed.
``--profile`` writes cProfile statistics of the whole run. MODE is ``repaybot`` (as built
by ``build_application``), ``echo`` or ``echo-limited`` (with RepayBot's rate limiter,
bot/ratelimit.py), or a diagnostic only, never the product: ``repaybot-nolimit`` (its rate
limiter taken out, to see what the limiter costs).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import signal
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._harness import TOKEN
from bot.app import build_application
from bot.deps import utc_now
from bot.ratelimit import TelegramRateLimiter
from bot.run import configure_logging
from core.db.uow import Database
from core.settings import Settings

ECHO_KEYBOARD = InlineKeyboardMarkup([[InlineKeyboardButton("echo", callback_data="echo")]])


async def echo_message(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Say the text back, with one button to press."""
    assert update.effective_message is not None
    text = update.effective_message.text or "?"
    await update.effective_message.reply_text(text, reply_markup=ECHO_KEYBOARD)


async def echo_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the press and edit the message, keeping its button."""
    query = update.callback_query
    assert query is not None
    await query.answer()
    await query.edit_message_text(f"pressed {query.id}", reply_markup=ECHO_KEYBOARD)


def echo_application(base_url: str, *, limited: bool) -> Application:  # type: ignore[type-arg]
    builder = ApplicationBuilder().token(TOKEN).base_url(base_url)
    if limited:
        builder = builder.rate_limiter(TelegramRateLimiter())
    app = builder.build()
    app.add_handler(MessageHandler(filters.ALL, echo_message))
    app.add_handler(CallbackQueryHandler(echo_press))
    return app


def make_clock(start: str) -> Any:
    if not start:
        return utc_now
    origin, began = datetime.fromisoformat(start), time.monotonic()
    return lambda: origin + timedelta(seconds=time.monotonic() - began)


async def serve(args: argparse.Namespace) -> list[list[Any]]:
    db = None
    if args.mode.startswith("repaybot"):
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=TOKEN,  # type: ignore[arg-type]
            telegram_base_url=args.base_url,
            database_url=args.database_url,
            http_port=0,
        )
        db = Database.from_url(args.database_url)
        app = build_application(
            settings, db, clock=make_clock(args.clock_start), sweep_seconds=args.sweep_seconds
        )
        if args.mode == "repaybot-nolimit":
            app.bot._rate_limiter = None  # type: ignore[attr-defined]
    else:
        app = echo_application(args.base_url, limited=args.mode == "echo-limited")
    handled: list[list[Any]] = []
    # Application has __slots__: wrap the method on the (outermost) class instead.
    cls = type(app)
    inner = cls.process_update

    async def timed(self: Application, update: object) -> None:  # type: ignore[type-arg]
        started = time.perf_counter()
        try:
            await inner(self, update)
        finally:
            kind = "callback" if getattr(update, "callback_query", None) else "message"
            handled.append([started, time.perf_counter() - started, kind])

    cls.process_update = timed  # type: ignore[method-assign]
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await app.initialize()
    if app.post_init is not None:  # as run_polling does: migrate, menu
        await app.post_init(app)
    await app.start()
    assert app.updater is not None
    # A short long poll (the e2e tests use 1 s too) only makes stopping quicker: under load
    # getUpdates returns as soon as there are updates.
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=Update.ALL_TYPES)
    print("ready", flush=True)
    await stop.wait()
    await app.updater.stop()
    await app.stop()
    await app.shutdown()
    if app.post_shutdown is not None:
        await app.post_shutdown(app)
    if db is not None:
        await db.dispose()
    return handled


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--mode",
        choices=("repaybot", "repaybot-nolimit", "echo", "echo-limited"),
        required=True,
    )
    parser.add_argument("--database-url", default="")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--clock-start", default="")
    parser.add_argument("--sweep-seconds", type=float, default=0)
    parser.add_argument("--record", type=Path)
    parser.add_argument("--profile", type=Path)
    args = parser.parse_args()
    configure_logging()  # as `repaybot run`: INFO lines on stderr
    profiler = cProfile.Profile() if args.profile else None
    if profiler is not None:
        profiler.enable()
    handled = asyncio.run(serve(args))
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    if args.record is not None:
        args.record.write_text(json.dumps({"handled": handled}))


if __name__ == "__main__":
    main()
