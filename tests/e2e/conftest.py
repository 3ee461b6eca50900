"""End-to-end fixtures: the real RepayBot Application polling the local Bot API emulator
over real HTTP, on a real SQLite file or PostgreSQL database, with the demo data and a
controllable clock.

The journeys (modules marked ``journey``) also run on a third deployment, ``pg-2-webhooks``:
two RepayBot instances, each with its own engine on one PostgreSQL database and its own
sweep, serving webhooks as ``repaybot webhook`` does, behind the emulator's reverse proxy,
which hands the updates to them in turn."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import tempfile
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from telegram import Update
from telegram.ext import Application

from bot.app import build_application
from bot.emulator import BotApiEmulator
from bot.emulator.model import Message
from bot.run import start_webhook, webhook_problems
from bot.webhook_server import WebhookServer
from core.db.uow import Database
from core.importer.load import import_data
from core.settings import Settings

# tests/ has no __init__.py: make tests/pg.py importable however pytest was started.
_TESTS = str(Path(__file__).resolve().parents[1])
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
try:
    from tests.pg import database_url_for
except ModuleNotFoundError:  # bare `pytest`: the repository root is not on sys.path
    from pg import database_url_for  # type: ignore[no-redef]
from tests.bank.bank_process import SECRET as BANK_SECRET  # noqa: E402 - after sys.path
from tests.bank.bank_process import BankProcess  # noqa: E402

TOKEN = "123456:TEST-token"
DEMO = Path(__file__).resolve().parents[2] / "examples" / "demo.json"
START = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai

# Where the journeys run: one polling instance on SQLite or on PostgreSQL, and (modules
# marked ``journey``) two webhook instances on one PostgreSQL database.
TWO_WEBHOOKS = "pg-2-webhooks"
DEPLOYMENTS = ("sqlite", "postgresql")
JOURNEY_DEPLOYMENTS = (*DEPLOYMENTS, TWO_WEBHOOKS)
# The public webhook URL the instances register and the emulator's proxy forwards.
PUBLIC = "https://bot.example.test"
HOOK = f"{PUBLIC}/tg"
SECRET = "Webhook_secret-42"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"journey: the module's tests also run on {TWO_WEBHOOKS} (two webhook instances "
        "sharing one PostgreSQL database), besides sqlite and postgresql",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "deployment" in metafunc.fixturenames:
        journey = metafunc.definition.get_closest_marker("journey") is not None
        deployments = JOURNEY_DEPLOYMENTS if journey else DEPLOYMENTS
        metafunc.parametrize("deployment", deployments, indirect=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Handled:
    """The updates whose handling has ended, on whichever instance took them.

    An instance replies while it handles an update, and writes the chat's state (the
    persisted conversation and user data) when the handling ends; the next update may go
    to another instance, which reads that state from the database. A person takes longer
    than those few milliseconds to answer; a test waits for the end of the handling."""

    def __init__(self) -> None:
        self.ids: set[int] = set()
        self._changed = asyncio.Event()

    def track(self, app: Application) -> None:  # type: ignore[type-arg]
        """Record each update as ``app`` finishes processing it (the last handler group
        writes the chat state)."""
        process = app.process_update

        async def process_update(update: object) -> None:
            try:
                await process(update)
            finally:
                if isinstance(update, Update):
                    self.ids.add(update.update_id)
                    self._changed.set()
                    self._changed = asyncio.Event()

        app.process_update = process_update  # type: ignore[method-assign]

    async def wait(self, update_ids: Iterable[int], timeout: float = 10) -> None:  # noqa: ASYNC109
        wanted = set(update_ids)
        try:
            async with asyncio.timeout(timeout):
                while not wanted <= self.ids:
                    await self._changed.wait()
        except TimeoutError:
            missing = sorted(wanted - self.ids)
            raise TimeoutError(f"updates {missing} not handled within {timeout}s") from None


@dataclass
class Instance:
    """One running RepayBot."""

    app: Application  # type: ignore[type-arg]
    db: Database | None = None  # its own engine (a webhook instance); None: the test's
    backend: str = ""  # where the proxy forwards its share of the webhook requests
    server: WebhookServer | None = None  # a webhook instance's; None: it polls


@dataclass
class RepayBot:
    """The running bot and the handles a test needs: emulator, database, clock.

    ``instances == 1``: one Application polling (``repaybot run``), on ``db``. More: as many
    webhook instances (``repaybot webhook``), each with its own engine on the database, the
    same clock and sweep interval, behind the emulator's proxy (round-robin)."""

    emulator: BotApiEmulator
    db: Database
    settings: Settings
    clock: Clock
    instances: int = 1
    webhooks: bool = False  # one instance serving webhooks instead of polling
    running: list[Instance] = field(default_factory=list)
    sweep_seconds: float = 0  # the reminder sweep is off unless a test turns it on
    chats: dict[int, Chat] = field(default_factory=dict)
    handled: Handled = field(default_factory=Handled)

    async def bank_faults(self, faults: dict[str, Any]) -> None:
        """Make the payment provider misbehave (docs/provider-api.md "Faults on demand")."""
        url = self.settings.gateway_url + "/control/faults"
        async with aiohttp.ClientSession() as session, session.post(url, json=faults) as answer:
            assert answer.status == 200, await answer.text()

    def provider_secret(self) -> str:
        assert self.app is not None
        secret: str = self.app.bot_data["provider"].secret
        return secret

    def http_url(self) -> str:
        """The first instance's HTTP_PORT (health, calendar, provider notifications)."""
        assert self.app is not None
        return f"http://127.0.0.1:{self.app.bot_data['health'].port}"

    @property
    def apps(self) -> list[Application]:  # type: ignore[type-arg]
        return [instance.app for instance in self.running]

    @property
    def app(self) -> Application | None:  # type: ignore[type-arg]
        """The first instance (the only one, unless there are several webhook instances)."""
        return self.running[0].app if self.running else None

    async def start(self) -> None:
        if self.instances == 1 and not self.webhooks:
            self.running = [await self._poller()]
            return
        self.running = list(
            await asyncio.gather(*(self._webhook_instance() for _ in range(self.instances)))
        )
        self.emulator.set_proxy({PUBLIC: [instance.backend for instance in self.running]})

    async def _poller(self) -> Instance:
        app = build_application(
            self._with_http_port(self.settings),
            self.db,
            clock=self.clock,
            sweep_seconds=self.sweep_seconds,
        )
        self.handled.track(app)
        await app.initialize()
        if app.post_init is not None:  # as run_polling does: migrate, health server, menu
            await app.post_init(app)
        await app.start()
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=1)
        return Instance(app)

    async def _webhook_instance(self) -> Instance:
        """What ``repaybot webhook`` runs, on a port of its own."""
        settings = self._with_http_port(self.settings)
        hook = free_port()
        while hook == settings.http_port:  # a port just freed may be handed out again
            hook = free_port()
        settings = settings.model_copy(update={"webhook_port": hook})
        assert webhook_problems(settings) == []
        db = Database.from_url(
            settings.database_url, busy_timeout_ms=settings.sqlite_busy_timeout_ms
        )
        app = build_application(settings, db, clock=self.clock, sweep_seconds=self.sweep_seconds)
        self.handled.track(app)
        # As bot.run.serve_webhook: initialize, post_init, the webhook server (which sets
        # the webhook, as every instance does), then the Application.
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        server = await start_webhook(app, settings, host="127.0.0.1")
        await app.start()
        return Instance(app, db, f"http://127.0.0.1:{settings.webhook_port}", server)

    @staticmethod
    def _with_http_port(settings: Settings) -> Settings:
        """Each instance serves HTTP_PORT (where the provider's notifications arrive)."""
        if settings.http_port:
            return settings
        return settings.model_copy(update={"http_port": free_port()})

    async def stop(self) -> None:
        running, self.running = self.running, []
        await asyncio.gather(*(self._stop(instance) for instance in running))

    @staticmethod
    async def _stop(instance: Instance) -> None:
        app = instance.app
        if instance.server is not None:
            await instance.server.stop()
        else:
            assert app.updater is not None
            await app.updater.stop()
        await app.stop()
        await app.shutdown()
        if app.post_shutdown is not None:
            await app.post_shutdown(app)
        if instance.db is not None:
            await instance.db.dispose()

    def chat(self, user_id: int, language_code: str | None = "zh-hans") -> Chat:
        if user_id not in self.chats:
            self.emulator.user(user_id, f"User{user_id}", language_code=language_code)
            self.chats[user_id] = Chat(self.emulator, user_id, self.handled)
        return self.chats[user_id]


@dataclass
class Chat:
    """A person in a private chat with the bot: types, taps, and reads the screen."""

    emulator: BotApiEmulator
    user_id: int
    handled: Handled | None = None  # given: each step also waits for its handling to end

    def _sent(self) -> int:
        """The id of the update the user's action just queued."""
        return self.emulator.state.next_update_id - 1

    async def _handled(self, update_id: int) -> None:
        if self.handled is not None:
            await self.handled.wait([update_id])

    async def say(self, text: str, *, count: int = 1, timeout: float = 10) -> Message:  # noqa: ASYNC109
        after = self.emulator.seq
        await self.emulator.send_text(self.user_id, text)
        sent = self._sent()
        await self.emulator.wait_for_bot(self.user_id, after=after, count=count, timeout=timeout)
        if self.handled is not None:
            await self.handled.wait([sent], timeout=timeout)
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
        sent = self._sent()
        await self.emulator.wait_for_answer(query, timeout=10)
        await self.emulator.wait_for_bot(self.user_id, after=after, count=count, timeout=10)
        await self._handled(sent)
        return self.last()

    async def press_data(self, data: str) -> Any:
        """Press forged or stale callback data; returns the callback answer."""
        message_id = self.with_buttons().message_id
        query = await self.emulator.press(self.user_id, message_id, callback_data=data, forge=True)
        sent = self._sent()
        answer = await self.emulator.wait_for_answer(query, timeout=10)
        await self._handled(sent)
        return answer


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator() as emu:
        yield emu


@pytest.fixture
def deployment(request: pytest.FixtureRequest) -> str:
    """sqlite, postgresql or pg-2-webhooks (see ``pytest_generate_tests``)."""
    value: str = request.param
    return value


@pytest.fixture
async def database_url(deployment: str, tmp_path: Path) -> AsyncIterator[str]:
    """Every journey runs on a real SQLite file and on a real PostgreSQL database."""
    async with database_url_for(deployment, tmp_path, "e2e") as url:
        yield url


def bot_settings(
    emulator: BotApiEmulator, url: str, *, webhooks: bool, bank: BankProcess | None = None
) -> Settings:
    """The settings of the bot under test: the emulator, ``url``, webhooks or polling; the
    payment provider ``bank`` (a ``repaybot bank`` process), else the sandbox bank each
    instance starts in its own process space (its database in a scratch folder)."""
    provider: dict[str, Any] = {"bank_database": str(Path(tempfile.mkdtemp()) / "bank.db")}
    if bank is not None:
        provider = {"gateway_url": bank.url, "gateway_secret": BANK_SECRET}
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=TOKEN,  # type: ignore[arg-type]
        telegram_base_url=emulator.base_url,
        database_url=url,
        support_contact="@repay_support",
        http_port=0,  # no health server unless a test asks for one
        webhook_url=HOOK if webhooks else "",
        webhook_secret=SECRET if webhooks else None,  # type: ignore[arg-type]
        **provider,
    )


async def demo_database(url: str) -> Database:
    """A migrated database at ``url`` with the demo data, loaded on the day of START."""
    db = Database.from_url(url)
    await db.migrate()
    await import_data(db, json.loads(DEMO.read_text(), parse_float=Decimal), START)
    return db


@pytest.fixture(scope="session")
def bank_process(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BankProcess]:
    """One real ``repaybot bank`` process for the journeys (each test's accounts and
    references are its own; its faults are cleared after each test)."""
    folder = Path(tmp_path_factory.mktemp("bank"))
    process = BankProcess(folder / "bank.db", "--retry-base", "0.2", "--retry-cap", "2").start()
    yield process
    assert process.stop() == 0


@pytest.fixture
async def repaybot(
    emulator: BotApiEmulator, deployment: str, database_url: str, bank_process: BankProcess
) -> AsyncIterator[RepayBot]:
    """The journeys' bot: one polling instance, or two webhook instances (two bots, one
    bank, one PostgreSQL), paying through the ``repaybot bank`` process."""
    webhooks = deployment == TWO_WEBHOOKS
    settings = bot_settings(emulator, database_url, webhooks=webhooks, bank=bank_process)
    db = await demo_database(database_url)
    bot = RepayBot(emulator, db, settings, Clock(), instances=2 if webhooks else 1)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()
        await db.dispose()
        await bot.bank_faults({})
