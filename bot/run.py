"""``repaybot run``: the bot on long polling against Telegram (or ``TELEGRAM_BASE_URL``)."""

from __future__ import annotations

import argparse
import logging
import sys

from telegram import Update

from bot.app import build_application
from core.db.uow import Database
from core.settings import get_settings

NO_TOKEN = """\
repaybot run: BOT_TOKEN is not set.
Get a token from @BotFather in Telegram (/newbot), then put BOT_TOKEN=<token> in .env
or the environment. To try RepayBot without a token or network, run: make sandbox
"""


def configure_logging() -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.bot_token is None:
        print(NO_TOKEN, file=sys.stderr, end="")
        return 2
    configure_logging()
    db = Database.from_url(settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    app = build_application(settings, db)
    app.run_polling(allowed_updates=Update.ALL_TYPES)
    return 0


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = commands.add_parser("run", help="run the bot (long polling)")
    sub.set_defaults(handler=run)
