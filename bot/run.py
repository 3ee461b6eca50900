"""``repaybot run`` (long polling, one instance per bot token) and ``repaybot webhook``
(behind an https reverse proxy, any number of instances on one database): the bot against
Telegram, or against ``TELEGRAM_BASE_URL``."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import re
import signal
import sys
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from sqlalchemy.exc import (
    ArgumentError,
    DBAPIError,
    InvalidRequestError,
    NoSuchModuleError,
    SQLAlchemyError,
)
from telegram import Update
from telegram.error import Conflict, InvalidToken
from telegram.ext import Application, ApplicationHandlerStop, ContextTypes

from bot.app import build_application
from bot.provider import ProviderSettingsError, provider_secret
from bot.redaction import Redactor, install, settings_secrets
from bot.webhook_server import WebhookServer
from core.db.uow import Database
from core.importer.command import BadDatabaseUrl, database_url
from core.settings import Settings, get_settings

log = logging.getLogger(__name__)

# What Telegram accepts as setWebhook's secret_token.
SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
# Exit codes (README "The command line"): 1 the database cannot be reached, or the port
# is taken; 2 a setting is missing or refused; 3 Telegram serves another poller.
DATABASE_EXIT = 1
SETTINGS_EXIT = 2
CONFLICT_EXIT = 3
# Telegram answers Conflict to the *older* of two pollers first (the newer getUpdates ends
# it); the older one retries a second later and ends the newer one's. So a Conflict in the
# first seconds of polling means "I am the second poller" (stop), and a Conflict later means
# "a second poller just started" (keep going: it is the one that stops).
PROBATION_SECONDS = 5.0

NO_TOKEN = """\
repaybot {command}: BOT_TOKEN is not set.
Get a token from @BotFather in Telegram (/newbot), then put BOT_TOKEN=<token> in .env
or the environment. To try RepayBot without a token or network, run: make sandbox
"""

CONFLICT = """\
repaybot run: Telegram refused getUpdates: {reason}
Either another process is already polling with this bot token: polling is single-instance,
so stop the other one, or run several instances with `repaybot webhook`.
Or a webhook is set for this bot token: updates go to the `repaybot webhook` instances;
keep using those, or stop them and poll with `repaybot run --delete-webhook`.
"""

DRIVERS = "RepayBot takes sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER:PASS@HOST/DB"
BAD_TOKEN = (
    "Telegram refused BOT_TOKEN (revoked, or mistyped): copy it again from @BotFather "
    "(/mybots, API Token)"
)

WEBHOOK_IS_SET = """\
repaybot run: a webhook is set for this bot token ({url}), so Telegram sends the updates
there (`repaybot webhook` instances may be serving it); polling would delete it.
Keep using `repaybot webhook`, or stop those instances and run `repaybot run --delete-webhook`.
"""


def configure_logging(redact: Redactor | None = None) -> None:
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if redact is not None:
        install(redact)


class StartupError(Exception):
    """Why the bot cannot start, in one line, and the exit code that says so."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


async def _migrate(db: Database) -> None:
    try:
        await db.migrate()
    finally:
        await db.dispose()  # its connections belong to this loop, not to PTB's


def _database(settings: Settings) -> Database:
    """The database of DATABASE_URL, migrated; a ``StartupError`` when it cannot be used."""
    try:
        url, shown = database_url(settings.database_url)
        db = Database.from_url(url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
    except (
        BadDatabaseUrl,
        ArgumentError,
        NoSuchModuleError,
        InvalidRequestError,
        ImportError,
    ) as e:
        message = f"DATABASE_URL cannot be used: {_first_line(e)} ({DRIVERS})"
        raise StartupError(message, SETTINGS_EXIT) from e
    except OSError as e:  # a SQLite file's folder that cannot be made
        raise StartupError(f"database {shown} cannot be opened: {e}", DATABASE_EXIT) from e
    try:
        # PTB reads the persisted conversations (our bot_state table) in initialize(),
        # before post_init gets to migrate: a fresh database needs its tables first.
        asyncio.run(_migrate(db))
    except (SQLAlchemyError, OSError) as exc:
        cause = exc.orig if isinstance(exc, DBAPIError) and exc.orig is not None else exc
        reason = _first_line(cause)
        raise StartupError(f"database {shown} cannot be reached: {reason}", DATABASE_EXIT) from exc
    return db


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def _application(settings: Settings) -> Application:  # type: ignore[type-arg]
    configure_logging(Redactor(settings_secrets(settings)))
    return build_application(settings, _database(settings))


def _serve(command: str, settings: Settings, serve: Callable[[], int]) -> int:
    """Run ``serve``; whatever stops it is said in one line (or a log entry), secrets
    replaced, with the exit code documented in the README."""
    redact = Redactor(settings_secrets(settings))
    try:
        provider_secret(settings)  # GATEWAY_URL without its secret: said before anything starts
    except ProviderSettingsError as exc:
        print(f"repaybot {command}: {exc}", file=sys.stderr)
        return SETTINGS_EXIT
    try:
        return serve()
    except StartupError as exc:
        message, code = str(exc), exc.code
    except InvalidToken:
        message, code = BAD_TOKEN, SETTINGS_EXIT
    except Exception:  # logged through the redacting filter, never printed raw
        log.critical("repaybot %s stopped by an unexpected error", command, exc_info=True)
        return 1
    print(f"repaybot {command}: {redact(message)}", file=sys.stderr)
    return code


class PollingGuard:
    """Stops a poller Telegram will not serve (another poller, or a webhook) and says why."""

    def __init__(self, app: Application, *, delete_webhook: bool) -> None:  # type: ignore[type-arg]
        self.app = app
        self.delete_webhook = delete_webhook
        self.problem: str | None = None
        self._polling_since: float | None = None
        self._post_init = app.post_init
        app.post_init = self._check_webhook
        # First in line, so that a Conflict is explained once instead of logged as a crash.
        others = dict(app.error_handlers)
        app.error_handlers.clear()
        app.add_error_handler(self._on_error)
        app.error_handlers.update(others)

    async def _check_webhook(self, app: Application) -> None:  # type: ignore[type-arg]
        """Before polling: PTB would silently delete a webhook that other instances serve."""
        if not self.delete_webhook:
            url = (await app.bot.get_webhook_info()).url
            if url:
                self._stop(WEBHOOK_IS_SET.format(url=url))
                return
        if self._post_init is not None:
            await self._post_init(app)
        self._polling_since = time.monotonic()

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        """A Conflict while polling: another poller, or a webhook set meanwhile."""
        if update is not None or not isinstance(context.error, Conflict):
            return
        reason = context.error.message
        since = self._polling_since
        newcomer = since is None or time.monotonic() - since < PROBATION_SECONDS
        if newcomer or "webhook" in reason.lower():
            self._stop(CONFLICT.format(reason=reason))
        else:
            log.warning(
                "Telegram answered Conflict (%s): another process started polling with this "
                "bot token; a repaybot stops by itself within seconds (polling is single-instance)",
                reason,
            )
        raise ApplicationHandlerStop

    def _stop(self, problem: str) -> None:
        if self.problem is None:
            log.error("stopping: %s", problem.splitlines()[0])
            self.problem = problem
            self.app.stop_running()


def run(args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.bot_token is None:
        print(NO_TOKEN.format(command="run"), file=sys.stderr, end="")
        return SETTINGS_EXIT

    def poll() -> int:
        app = _application(settings)
        guard = PollingGuard(app, delete_webhook=getattr(args, "delete_webhook", False))
        app.run_polling(allowed_updates=Update.ALL_TYPES)
        if guard.problem is not None:
            print(guard.problem, file=sys.stderr, end="")
            return CONFLICT_EXIT
        return 0

    return _serve("run", settings, poll)


def _is_https(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" and bool(parts.hostname)


def webhook_problems(settings: Settings) -> list[str]:
    """Why ``repaybot webhook`` cannot start with these settings (empty when it can)."""
    problems = []
    if not settings.webhook_url:
        problems.append(
            "WEBHOOK_URL is not set: the public https URL Telegram calls, e.g. "
            "https://bot.example.com/telegram (the reverse proxy forwards it to WEBHOOK_PORT)"
        )
    elif not _is_https(settings.webhook_url):
        problems.append(
            f"WEBHOOK_URL must be an https URL (Telegram calls no other): {settings.webhook_url!r}"
        )
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if not secret:
        problems.append(
            "WEBHOOK_SECRET is not set: Telegram sends it with every update and requests "
            'without it are refused; make one with: python -c "import secrets; '
            'print(secrets.token_urlsafe(32))"'
        )
    elif not SECRET_RE.fullmatch(secret):
        problems.append(
            f"WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ - "
            f"(Telegram refuses others); it has {len(secret)} characters"
        )
    if settings.http_port == settings.webhook_port:
        problems.append(f"HTTP_PORT and WEBHOOK_PORT are both {settings.webhook_port}")
    return problems


async def start_webhook(
    app: Application,  # type: ignore[type-arg]
    settings: Settings,
    host: str | None = None,
) -> WebhookServer:
    """Listen on WEBHOOK_HOST:WEBHOOK_PORT, then register the webhook (valid settings only).

    Listening comes first, so a port in use stops the instance before it tells Telegram
    anything. Every instance sets the same webhook at start (harmless); none deletes it
    on stop, and pending updates are kept for the instances still running."""
    assert settings.webhook_secret is not None
    secret = settings.webhook_secret.get_secret_value()
    path = urlsplit(settings.webhook_url).path
    server = WebhookServer(app, path=path, secret=secret)
    await server.start(settings.webhook_host if host is None else host, settings.webhook_port)
    try:
        await app.bot.set_webhook(
            url=settings.webhook_url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
            drop_pending_updates=False,
        )
    except BaseException:
        await server.stop()
        raise
    return server


async def serve_webhook(app: Application, settings: Settings) -> None:  # type: ignore[type-arg]
    """What ``Application.run_webhook`` does, with our webhook server in place of PTB's:
    initialize, post_init, listen and register, start; on SIGINT or SIGTERM the reverse."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopping.set)
    await app.initialize()
    try:
        if app.post_init is not None:
            await app.post_init(app)
        server = await start_webhook(app, settings)
        try:
            await app.start()
            await stopping.wait()
            await app.stop()
            if app.post_stop is not None:
                await app.post_stop(app)
        finally:
            await server.stop()
    finally:
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)


def webhook(args: argparse.Namespace) -> int:
    settings = get_settings()
    if settings.bot_token is None:
        print(NO_TOKEN.format(command="webhook"), file=sys.stderr, end="")
        return SETTINGS_EXIT
    problems = webhook_problems(settings)
    if problems:
        for problem in problems:
            print(f"repaybot webhook: {problem}", file=sys.stderr)
        return SETTINGS_EXIT

    def serve() -> int:
        app = _application(settings)
        try:
            asyncio.run(serve_webhook(app, settings))
        except OSError as exc:
            if exc.errno not in (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL):
                raise
            where = f"{settings.webhook_host}:{settings.webhook_port}"
            message = f"cannot listen on WEBHOOK_HOST:WEBHOOK_PORT {where}: {exc}"
            raise StartupError(message, 1) from exc
        return 0

    return _serve("webhook", settings, serve)


def add_commands(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = commands.add_parser("run", help="run the bot (long polling, one instance)")
    sub.add_argument(
        "--delete-webhook",
        action="store_true",
        help="poll even if a webhook is set, deleting it (stop the webhook instances first)",
    )
    sub.set_defaults(handler=run)
    sub = commands.add_parser(
        "webhook",
        help="run the bot on a webhook (behind an https reverse proxy; several instances may run)",
        description="Listens on WEBHOOK_HOST:WEBHOOK_PORT for the updates Telegram posts to "
        "WEBHOOK_URL, checking WEBHOOK_SECRET; registers the webhook at start and leaves it "
        "set on stop.",
    )
    sub.set_defaults(handler=webhook)
