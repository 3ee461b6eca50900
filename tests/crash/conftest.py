"""Crash-test fixtures: the real bot as its own OS process (``python -m bot.cli run``), killed
with SIGKILL by a failpoint (``REPAYBOT_FAILPOINTS``) and started again, against the Bot API
emulator served from the test's event loop, on a SQLite file under ``tmp_path`` and on a
throwaway PostgreSQL database (tests/pg.py).

The bot process reads the real clock, so the data is built around the real now, in a
fixed-offset zone where it is about noon: no local date changes during a test.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import select

from bot.emulator import BotApiEmulator
from bot.emulator.model import Message
from core.db.models import PaymentMethodRow, PaymentRow, ReminderLogRow
from core.db.uow import Database
from core.failpoints import ENV as FAILPOINTS_ENV
from core.gateway.port import ProviderRefused
from core.gateway.provider_client import ProviderClient
from core.importer.load import import_data
from core.services.reminders import update_reminder_settings
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
from tests.e2e.conftest import free_port  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST-token"
USER_ID = 7001
CARD = "Crash Bank"
BALANCE = Decimal("5000.00")
SWEEP_SECONDS = 0.5
LEASE_SECONDS = 2
PAYMENT_LEASE_SECONDS = 2  # a payment's check is due this long after its intent
WAIT = 20.0  # seconds: the longest a test waits for the bot to do something
STOP_WAIT = 10.0  # seconds: for a process or the emulator to stop; a hang fails, never blocks
# APScheduler's line after each run of the repeating job: counts the sweeps a process made.
SWEEP_DONE = 'Job "sweep (trigger'
SWEEP_OK = "executed successfully"
RECLAIM_WARNING = "may go out twice"


@dataclass(frozen=True)
class Noon:
    """The real now, read once, and a fixed-offset zone where it is between 12:00 and 13:00."""

    utc: datetime
    zone: str

    @classmethod
    def around(cls, utc: datetime) -> Noon:
        hours = 12 - utc.hour  # -11 … +12: every Etc/GMT zone exists for it
        # POSIX sign: Etc/GMT-8 is UTC+8.
        zone = "Etc/GMT" if hours == 0 else f"Etc/GMT{'-' if hours > 0 else '+'}{abs(hours)}"
        return cls(utc, zone)

    @property
    def local(self) -> datetime:
        return self.utc.astimezone(ZoneInfo(self.zone))

    @property
    def today(self) -> date:
        return self.local.date()

    def minutes_ago(self, minutes: int) -> time:
        """A local time of day ``minutes`` before now, on the minute."""
        return (self.local - timedelta(minutes=minutes)).time().replace(second=0, microsecond=0)


class BotProcess:
    """One run of ``repaybot run`` as a child process; its stderr (the log) kept by line."""

    def __init__(self, process: asyncio.subprocess.Process, failpoints: str) -> None:
        self.process = process
        self.failpoints = failpoints
        self.lines: list[str] = []
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode("utf-8", "replace").rstrip())

    @property
    def log(self) -> str:
        return "\n".join(self.lines)

    def count(self, *texts: str) -> int:
        """Log lines that contain every one of ``texts``."""
        return sum(all(text in line for text in texts) for line in self.lines)

    def sweeps(self) -> int:
        return self.count(SWEEP_DONE, SWEEP_OK)

    async def wait_for_log(self, text: str) -> None:
        await eventually(lambda: text in self.log, repr(text), self)

    def assert_no_errors(self) -> None:
        """Nothing went wrong that the process only logged (PTB catches a job's exceptions)."""
        assert " ERROR " not in self.log, self.log
        assert "Traceback" not in self.log, self.log

    async def wait_for_sweeps(self, count: int, *, after: int = 0) -> None:
        """Wait until ``count`` more sweeps than ``after`` have completed."""
        await eventually(lambda: self.sweeps() >= after + count, f"{count} more sweeps", self)

    async def killed(self) -> None:
        """Wait for the process to die of the failpoint's SIGKILL (and for nothing else)."""
        try:
            code = await asyncio.wait_for(self.process.wait(), WAIT)
        except TimeoutError:
            raise AssertionError(
                f"failpoint {self.failpoints} did not fire within {WAIT}s; log:\n{self.log}"
            ) from None
        await self._reader
        assert code == -signal.SIGKILL, f"exit code {code}, not SIGKILL; log:\n{self.log}"
        assert f"failpoint {self.failpoints}: killing the process" in self.log

    async def stop(self) -> int:
        """SIGTERM (PTB's graceful stop), SIGKILL if it hangs; the exit code."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.process.wait(), STOP_WAIT)
            except TimeoutError:
                self.process.kill()
                await asyncio.wait_for(self.process.wait(), STOP_WAIT)
        await asyncio.wait_for(self._reader, STOP_WAIT)
        assert self.process.returncode is not None
        return self.process.returncode


async def eventually(
    check: Callable[[], bool | Awaitable[bool]], what: str, run: BotProcess | None = None
) -> None:
    """Poll ``check`` until it holds; fail after ``WAIT`` seconds, with the bot's log."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not await _value(check()):
        if loop.time() > deadline:
            log = f"; bot log:\n{run.log}" if run is not None else ""
            raise AssertionError(f"not within {WAIT}s: {what}{log}")
        await asyncio.sleep(0.1)


async def _value(result: bool | Awaitable[bool]) -> bool:
    return await result if inspect.isawaitable(result) else result


@dataclass(frozen=True)
class Paid:
    """A payment row as read after the fact (plain values: the session is gone)."""

    id: int
    kind: str
    status: str
    amount: Decimal
    idempotency_key: str


@dataclass(frozen=True)
class Logged:
    """A reminder_log row: a reminder or a receipt, and how its sending went."""

    id: int
    kind: str
    offset: int
    status: str
    message_id: int | None
    attempts: int


@dataclass
class CrashLab:
    """The emulator, the database file, and the bot processes started against them."""

    emulator: BotApiEmulator
    db: Database
    workdir: Path
    database_url: str
    noon: Noon
    autopay_time: time
    bank: BankProcess
    http_port: int  # the same for every run: the bank's notifications go there
    runs: list[BotProcess] = field(default_factory=list)

    def env(self, failpoints: str) -> dict[str, str]:
        """A clean environment: nothing of the developer's settings, only ours."""
        ours = {name.upper() for name in Settings.model_fields} | {FAILPOINTS_ENV}
        env = {k: v for k, v in os.environ.items() if k.upper() not in ours}
        env |= {
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": self.emulator.base_url,
            "DATABASE_URL": self.database_url,
            "SWEEP_SECONDS": str(SWEEP_SECONDS),
            "SEND_LEASE_SECONDS": str(LEASE_SECONDS),
            "AUTOPAY_TIME": self.autopay_time.strftime("%H:%M"),
            "HTTP_PORT": str(self.http_port),
            "GATEWAY_URL": self.bank.url,  # a real `repaybot bank` process of the test's own
            "GATEWAY_SECRET": BANK_SECRET,
            "PAYMENT_LEASE_SECONDS": str(PAYMENT_LEASE_SECONDS),
            FAILPOINTS_ENV: failpoints,
        }
        return env

    async def start(self, failpoints: str = "") -> BotProcess:
        """Start the bot; cwd is the scratch folder, so no developer ``.env`` is read."""
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=self.workdir,
            env=self.env(failpoints),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        run = BotProcess(process, failpoints)
        self.runs.append(run)
        return run

    async def add_user(
        self, *, first_due: date, autopay: bool, reminders: bool, remind_at: time | None = None
    ) -> None:
        """One English-speaking user with one card and one 3-period interest-free plan."""
        data: dict[str, Any] = {
            "users": [
                {
                    "telegram_id": USER_ID,
                    "language": "en",
                    "timezone": self.noon.zone,
                    "credit_lines": [{"provider": "Crashco", "limit": "20000.00"}],
                    "payment_methods": [
                        {
                            "kind": "bank_card",
                            "label": CARD,
                            "last4": "4242",
                            "balance": str(BALANCE),
                            "default": True,
                        }
                    ],
                    "plans": [
                        {
                            "external_id": "crash-1",
                            "provider": "Crashco",
                            "title": "Kettle",
                            "principal": "300.00",
                            "periods": 3,
                            "method": "interest_free",
                            "first_due": first_due.isoformat(),
                            "autopay": autopay,
                        }
                    ],
                }
            ]
        }
        await import_data(self.db, data, self.noon.utc)
        async with self.db.uow() as uow:
            await update_reminder_settings(uow, USER_ID, enabled=reminders, at=remind_at)
        self.emulator.user(USER_ID, "Crash", language_code="en")

    # -- what the database and the chat say ---------------------------------------------------
    async def balance(self) -> Decimal:
        """The card's balance as the bank holds it (its opening balance until the bot first
        used it and so opened its account there)."""
        async with self.db.uow() as uow:
            found = (
                await uow.session.execute(
                    select(PaymentMethodRow.provider_account, PaymentMethodRow.balance).where(
                        PaymentMethodRow.label == CARD
                    )
                )
            ).one()
        account, opening = found
        assert account is not None
        async with ProviderClient(self.bank.url) as client:
            try:
                return await client.balance(account)
            except ProviderRefused as exc:
                if exc.reason != "account_not_found":
                    raise
                return Decimal(opening)

    async def bank_fault(self, faults: dict[str, Any]) -> None:
        url = self.bank.url + "/control/faults"
        async with aiohttp.ClientSession() as session, session.post(url, json=faults) as answer:
            assert answer.status == 200, await answer.text()

    async def payments(self) -> list[Paid]:
        """Every payment but the imported ones, in id order."""
        async with self.db.uow() as uow:
            rows = await uow.session.scalars(
                select(PaymentRow).where(PaymentRow.kind != "imported").order_by(PaymentRow.id)
            )
            return [Paid(r.id, r.kind, r.status, r.amount, r.idempotency_key) for r in rows]

    async def log_rows(self) -> list[Logged]:
        """The user's reminder_log rows (reminders and receipts), in id order."""
        async with self.db.uow() as uow:
            rows = await uow.session.scalars(
                select(ReminderLogRow)
                .where(ReminderLogRow.user_id == USER_ID)
                .order_by(ReminderLogRow.id)
            )
            return [
                Logged(r.id, r.kind, r.offset, r.status, r.message_id, r.attempts) for r in rows
            ]

    def messages(self, text: str = "") -> list[Message]:
        """The bot's messages in the user's chat (containing ``text``)."""
        return [m for m in self.emulator.chat_log(USER_ID) if text in m.text]


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Every crash runs on a real SQLite file and on a real PostgreSQL database."""
    async with database_url_for(request.param, tmp_path, "crash") as url:
        yield url


@pytest.fixture
async def lab(tmp_path: Path, database_url: str) -> AsyncIterator[CrashLab]:
    noon = Noon.around(datetime.now(UTC))
    url = database_url
    db = Database.from_url(url)
    emulator = BotApiEmulator()
    bank = BankProcess(tmp_path / "bank.db", "--retry-base", "0.2", "--retry-cap", "1").start()
    crash_lab = CrashLab(emulator, db, tmp_path, url, noon, noon.minutes_ago(3), bank, free_port())
    try:
        await db.migrate()
        await emulator.start()
        yield crash_lab
    finally:
        try:
            await _stop_all(crash_lab.runs)
        finally:
            try:
                await asyncio.wait_for(emulator.stop(), STOP_WAIT)
            finally:
                bank.stop()
                await db.dispose()


async def _stop_all(runs: list[BotProcess]) -> None:
    """Stop every run, so none is left running whatever the test did; then raise any error."""
    results = await asyncio.gather(*(run.stop() for run in runs), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException):
            raise result
