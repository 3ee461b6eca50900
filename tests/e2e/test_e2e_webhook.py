"""``repaybot webhook`` and ``repaybot run`` as real processes against the emulator.

The emulator plays Telegram and the https reverse proxy in front of the instances
(``proxy=``), spreading webhook requests over them in turn; each instance is a child
process on its own port, all on one database (a SQLite file, or a throwaway PostgreSQL).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.emulator import BotApiEmulator
from bot.run import PROBATION_SECONDS
from core.db.models import BotStateRow, PaymentRow
from core.db.uow import Database
from core.importer.load import import_data
from core.settings import Settings
from tests.bank.bank_process import SECRET as BANK_SECRET
from tests.bank.bank_process import BankProcess
from tests.e2e.conftest import DEMO, HOOK, PUBLIC, SECRET, TOKEN, Chat, free_port

try:
    from tests.pg import get_server
except ModuleNotFoundError:  # bare `pytest`: the repository root is not on sys.path
    from pg import get_server  # type: ignore[no-redef]

REPO = Path(__file__).resolve().parents[2]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@dataclass
class BotProcess:
    """One ``repaybot`` child process; its stderr (the log) is collected line by line."""

    process: asyncio.subprocess.Process
    port: int = 0
    lines: list[str] = field(default_factory=list)
    reader: asyncio.Task[None] | None = None

    @property
    def backend(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    async def collect(self) -> None:
        assert self.process.stderr is not None
        async for line in self.process.stderr:
            self.lines.append(line.decode(errors="replace"))

    async def listening(self, timeout: float = 30) -> None:  # noqa: ASYNC109
        """Wait until the webhook port accepts connections (PTB sets the webhook first)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.process.returncode is not None:
                raise AssertionError(f"instance exited early:\n{self.stderr}")
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                if asyncio.get_running_loop().time() > deadline:
                    raise AssertionError(f"port {self.port} never opened:\n{self.stderr}") from None
                await asyncio.sleep(0.1)
            else:
                writer.close()
                return

    async def exit_code(self, timeout: float = 20) -> int:  # noqa: ASYNC109
        code = await asyncio.wait_for(self.process.wait(), timeout)
        if self.reader is not None:
            await self.reader
        return code

    async def stop(self) -> None:
        if self.process.returncode is None:
            self.process.terminate()  # SIGTERM: PTB's graceful stop
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.reader is not None:
            await self.reader


@dataclass
class Lab:
    """The emulator, the database and the ``repaybot`` processes started against them."""

    emulator: BotApiEmulator
    workdir: Path
    database_url: str = ""
    bank_url: str = ""  # the one payment provider every instance shares
    processes: list[BotProcess] = field(default_factory=list)

    def env(self, **extra: str) -> dict[str, str]:
        """Only our settings: nothing of the developer's environment (cwd has no .env)."""
        ours = {name.upper() for name in Settings.model_fields}
        env = {k: v for k, v in os.environ.items() if k.upper() not in ours}
        return env | {
            "PYTHONPATH": str(REPO),
            "PYTHONUNBUFFERED": "1",
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": self.emulator.base_url,
            "DATABASE_URL": self.database_url,
            "SWEEP_SECONDS": "0",  # no reminder or auto-repay sweep: only what users do
            "HTTP_PORT": "0",
            "GATEWAY_URL": self.bank_url,
            "GATEWAY_SECRET": BANK_SECRET,
            **extra,
        }

    async def start(self, command: str, env: dict[str, str], *args: str) -> BotProcess:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            command,
            *args,
            cwd=self.workdir,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        bot = BotProcess(process)
        bot.reader = asyncio.create_task(bot.collect())
        self.processes.append(bot)
        return bot

    async def webhook_instance(self, **extra: str) -> BotProcess:
        port = free_port()
        env = self.env(WEBHOOK_URL=HOOK, WEBHOOK_PORT=str(port), WEBHOOK_SECRET=SECRET, **extra)
        bot = await self.start("webhook", env)
        bot.port = port
        return bot

    async def instances(self, count: int) -> list[BotProcess]:
        """``count`` webhook instances, listening, behind the emulator's proxy."""
        bots = [await self.webhook_instance() for _ in range(count)]
        await asyncio.gather(*(b.listening() for b in bots))
        self.emulator.set_proxy({PUBLIC: [b.backend for b in bots]})
        return bots

    async def load_demo(self) -> None:
        db = Database.from_url(self.database_url)
        try:
            await db.migrate()
            data = json.loads(DEMO.read_text(encoding="utf-8"), parse_float=Decimal)
            await import_data(db, data, datetime.now(UTC))  # the instances use the real clock
        finally:
            await db.dispose()

    async def query(self, statement: Any) -> list[Any]:
        db = Database.from_url(self.database_url)
        try:
            async with db.uow() as uow:
                return list((await uow.session.execute(statement)).all())
        finally:
            await db.dispose()

    def chat(self, user_id: int, language_code: str = "zh-hans") -> Chat:
        self.emulator.user(user_id, f"User{user_id}", language_code=language_code)
        return Chat(self.emulator, user_id)

    def backends_of(self, user_id: int) -> list[str]:
        """The backend each of the user's updates was accepted by, in order."""
        return [
            d.url.removesuffix("/tg")
            for d in self.emulator.deliveries
            if d.chat_id == user_id and d.ok
        ]


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with BotApiEmulator(webhook_retry_delay=0.2) as emu:
        yield emu


@pytest.fixture
async def lab(
    emulator: BotApiEmulator, tmp_path: Path, bank_process: BankProcess
) -> AsyncIterator[Lab]:
    url = f"sqlite+aiosqlite:///{tmp_path}/repaybot.db"
    lab = Lab(emulator, tmp_path, url, bank_process.url)
    yield lab
    await asyncio.gather(*(p.stop() for p in lab.processes))


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    server = get_server()
    name = f"repaybot_wh_{uuid.uuid4().hex[:10]}"
    await server.acreate_database(name)
    yield server.url_for(name)
    await server.adrop_database(name)


def set_webhooks(emulator: BotApiEmulator) -> list[dict[str, Any]]:
    return [c.params for c in emulator.calls if c.method == "setWebhook" and c.status == 200]


async def succeeded_payments(lab: Lab, user_id: int) -> list[Any]:
    return await lab.query(
        select(PaymentRow.amount).where(
            PaymentRow.user_id == user_id,
            PaymentRow.status == "succeeded",
            PaymentRow.kind != "imported",
        )
    )


# -- one instance ------------------------------------------------------------------------


async def test_webhook_serves_users_and_refuses_requests_without_the_secret(lab: Lab) -> None:
    await lab.load_demo()
    health_port = free_port()
    bot = await lab.webhook_instance(HTTP_PORT=str(health_port), HTTP_HOST="127.0.0.1")
    await bot.listening()
    lab.emulator.set_proxy({PUBLIC: [bot.backend]})
    [registered] = set_webhooks(lab.emulator)
    assert registered["url"] == HOOK
    assert registered["secret_token"] == SECRET
    assert "callback_query" in registered["allowed_updates"]
    assert registered["drop_pending_updates"] == "false"  # what Telegram holds is kept
    assert lab.emulator.state.webhook["url"] == HOOK

    chat = lab.chat(1001)
    assert "还款助手" in (await chat.say("/start")).text
    assert "待还总额" in (await chat.say("/status")).text
    assert [d.status for d in lab.emulator.deliveries] == [200, 200]
    assert all(d.with_secret for d in lab.emulator.deliveries)

    stranger = 4242
    lab.emulator.user(stranger, "Mallory", language_code="en")
    forged = {
        "update_id": 900001,
        "message": {
            "message_id": 1,
            "date": 1_790_000_000,
            "chat": {"id": stranger, "type": "private", "first_name": "Mallory"},
            "from": {"id": stranger, "is_bot": False, "first_name": "Mallory"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: SECRET[:-1]}):
            async with http.post(f"{bot.backend}/tg", json=forged, headers=headers) as answer:
                assert answer.status == 403
        await asyncio.sleep(1.0)
        assert lab.emulator.state.outputs(stranger, 0) == []  # nothing was handled
        async with http.get(f"http://127.0.0.1:{health_port}/healthz") as health:
            assert health.status == 200  # HTTP_PORT still serves health in webhook mode
        # The same request with the secret is handled: the refusals above were about it.
        async with http.post(f"{bot.backend}/tg", json=forged, headers={SECRET_HEADER: SECRET}):
            pass
    await lab.emulator.wait_for_bot(stranger, timeout=10)
    assert "Mallory" in lab.emulator.chat_log(stranger)[-1].text

    await bot.stop()
    assert bot.process.returncode == 0, bot.stderr
    assert lab.emulator.state.webhook["url"] == HOOK  # stopping leaves the webhook set
    assert "deleteWebhook" not in [c.method for c in lab.emulator.calls]


async def _head_only(port: int, path: str, headers: dict[str, str]) -> str:
    """Send a POST's request line and headers but none of its body; the status line the
    server answers with (within 5 s), or "" when it waits for the body."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
        writer.write(f"POST {path} HTTP/1.1\r\nHost: bot\r\n{head}\r\n".encode())
        await writer.drain()
        try:
            line = await asyncio.wait_for(reader.readline(), 5)
        except TimeoutError:
            return ""
        return line.decode().strip()
    finally:
        writer.close()


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


async def _stream(port: int, headers: dict[str, str], megabytes: int) -> str:
    """POST ``megabytes`` of body in 64 KiB writes; the status line, however far it got."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    writer.write(f"POST /tg HTTP/1.1\r\nHost: bot\r\n{head}\r\n".encode())
    chunked = headers.get("Transfer-Encoding") == "chunked"
    block = b"x" * 65536
    try:
        for _ in range(megabytes * 16):
            writer.write(b"10000\r\n" + block + b"\r\n" if chunked else block)
            await writer.drain()
    except (ConnectionError, OSError):
        pass  # the server closed the connection: what a refusal looks like
    try:
        line = await asyncio.wait_for(reader.readline(), 5)
    except (TimeoutError, ConnectionError, OSError):
        line = b""
    writer.close()
    return line.decode().strip()


async def test_webhook_refuses_before_reading_the_body(lab: Lab) -> None:
    """A request without the secret, or announcing more than 1 MiB, is answered from its
    headers alone: the 95 MB body is never sent, let alone buffered (PTB's server read up
    to 100 MB per request before looking at the secret)."""
    bot = await lab.webhook_instance()
    await bot.listening()
    big = {"Content-Type": "application/json", "Content-Length": str(95 * 1024 * 1024)}
    assert await _head_only(bot.port, "/tg", big) == "HTTP/1.1 403 Forbidden"
    wrong = big | {SECRET_HEADER: SECRET + "x"}
    assert await _head_only(bot.port, "/tg", wrong) == "HTTP/1.1 403 Forbidden"
    right = big | {SECRET_HEADER: SECRET}
    assert await _head_only(bot.port, "/tg", right) == "HTTP/1.1 413 Request Entity Too Large"
    assert await _head_only(bot.port, "/elsewhere", right) == "HTTP/1.1 404 Not Found"

    # A body of no announced length is cut off at 1 MiB while it is read.
    chunked = {SECRET_HEADER: SECRET, "Transfer-Encoding": "chunked"}
    assert await _stream(bot.port, chunked, 8) == "HTTP/1.1 413 Request Entity Too Large"

    # Eight concurrent posters without the secret, each pushing 16 MB: the process does
    # not grow by what they send (PTB's server: +1,043 MB for eight 95 MB posts).
    before = _rss_kib(bot.process.pid)
    answers = await asyncio.gather(*(_stream(bot.port, big, 16) for _ in range(8)))
    grown = _rss_kib(bot.process.pid) - before
    assert answers == ["HTTP/1.1 403 Forbidden"] * 8
    assert grown < 8 * 1024, f"RSS grew by {grown} KiB"

    # Still serving: a real update with the secret is handled.
    await lab.load_demo()
    lab.emulator.set_proxy({PUBLIC: [bot.backend]})
    assert "待还总额" in (await lab.chat(1001).say("/status")).text


async def test_webhook_refuses_to_start_without_its_settings(lab: Lab) -> None:
    plain = lab.env(WEBHOOK_URL="http://bot.example.test/tg", WEBHOOK_SECRET="has spaces")
    no_token = lab.env(WEBHOOK_URL=HOOK, WEBHOOK_SECRET=SECRET)
    del no_token["BOT_TOKEN"]
    bots = [await lab.start("webhook", env) for env in (lab.env(), plain, no_token)]
    codes = await asyncio.gather(*(b.exit_code() for b in bots))
    assert codes == [2, 2, 2]
    missing, wrong, tokenless = (b.stderr for b in bots)
    assert "WEBHOOK_URL is not set" in missing
    assert "WEBHOOK_SECRET is not set" in missing
    assert "WEBHOOK_URL must be an https URL" in wrong
    assert "WEBHOOK_SECRET must be 1-256 characters of A-Z a-z 0-9 _ -" in wrong
    assert "has spaces" not in wrong  # the secret is never printed
    assert "repaybot webhook: BOT_TOKEN is not set" in tokenless
    assert lab.emulator.calls == []


# -- polling stays single-instance ---------------------------------------------------------


async def test_a_second_poller_exits_with_a_clear_message(lab: Lab) -> None:
    await lab.load_demo()
    first = await lab.start("run", lab.env())
    polling = await lab.emulator.state.wait_until(
        lambda: lab.emulator.state.poll_generation.get(TOKEN, 0) > 0, 30
    )
    assert polling, first.stderr
    await asyncio.sleep(PROBATION_SECONDS)  # the first poller is now the established one
    second = await lab.start("run", lab.env())
    assert await second.exit_code(timeout=30) == 3
    assert "another process is already polling with this bot token" in second.stderr
    assert "polling is single-instance" in second.stderr
    assert "repaybot webhook" in second.stderr
    assert "Traceback" not in second.stderr
    # The first poller goes on serving.
    assert first.process.returncode is None, first.stderr
    assert "待还总额" in (await lab.chat(1001).say("/status")).text
    assert "another process started polling with this bot token" in first.stderr
    # A webhook set meanwhile: its long poll is refused, and it stops saying why.
    async with aiohttp.ClientSession() as http:
        url = f"{lab.emulator.base_url}{TOKEN}/setWebhook"
        async with http.post(url, json={"url": HOOK}) as answer:
            assert answer.status == 200
    assert await first.exit_code(timeout=30) == 3
    assert "webhook is active" in first.stderr
    assert "or a webhook is set for this bot token" in first.stderr.lower()


async def test_polling_will_not_take_over_a_webhook(lab: Lab) -> None:
    await lab.emulator.send_text(lab.emulator.user(1001)["id"], "/status")
    async with aiohttp.ClientSession() as http:
        url = f"{lab.emulator.base_url}{TOKEN}/setWebhook"
        async with http.post(url, json={"url": HOOK, "secret_token": SECRET}) as answer:
            assert answer.status == 200
    poller = await lab.start("run", lab.env())
    assert await poller.exit_code(timeout=30) == 3
    assert f"a webhook is set for this bot token ({HOOK})" in poller.stderr
    assert "repaybot run --delete-webhook" in poller.stderr
    assert lab.emulator.state.webhook["url"] == HOOK
    assert "deleteWebhook" not in [c.method for c in lab.emulator.calls]
    assert len(lab.emulator.state.updates) == 1  # still waiting for the webhook instances
    # Going back to polling on purpose: the webhook is deleted and the update is served.
    await lab.load_demo()
    switched = await lab.start("run", lab.env(), "--delete-webhook")
    await lab.emulator.wait_for_bot(1001, timeout=30)
    assert "待还总额" in lab.emulator.chat_log(1001)[-1].text
    assert "deleteWebhook" in [c.method for c in lab.emulator.calls]
    assert not lab.emulator.state.webhook.get("url")
    await switched.stop()
    assert switched.process.returncode == 0, switched.stderr


# -- several instances on one database -----------------------------------------------------


async def two_instance_journey(lab: Lab) -> None:
    """/status and a double-tapped /repay across two instances: one payment, both serve."""
    await lab.load_demo()
    first, second = await lab.instances(2)
    assert [p["url"] for p in set_webhooks(lab.emulator)] == [HOOK, HOOK]

    english = lab.chat(1002, "en")
    assert "Total outstanding" in (await english.say("/status")).text
    chat = lab.chat(1001)
    assert "待还总额" in (await chat.say("/status")).text
    await chat.say("/repay")
    await chat.tap("单笔分期下一期")
    await chat.tap("戴森")
    await chat.tap("微信支付")
    assert "请确认还款" in chat.last().text

    message_id, data = chat.button("确认还款")
    before = len(lab.emulator.deliveries)
    queries = [await lab.emulator.press(1001, message_id, callback_data=data) for _ in range(2)]
    answers = [await lab.emulator.wait_for_answer(q, timeout=15) for q in queries]
    assert all(a.accepted for a in answers)  # every press is answered
    for _ in range(100):
        if "还款成功" in chat.last().text:
            break
        await asyncio.sleep(0.1)
    assert "还款成功" in chat.last().text
    taps = [d.url for d in lab.emulator.deliveries[before:] if d.ok and d.chat_id == 1001]
    assert len(set(taps)) == 2, taps  # one press per instance
    assert len(await succeeded_payments(lab, 1001)) == 1
    assert {first.backend, second.backend} <= set(lab.backends_of(1001))

    # One instance stops: the webhook stays set and the other one serves alone.
    await first.stop()
    assert first.process.returncode == 0, first.stderr
    assert lab.emulator.state.webhook["url"] == HOOK
    assert "Total outstanding" in (await english.say("/status")).text
    assert lab.backends_of(1002)[-1] == second.backend


async def test_two_webhook_instances_on_sqlite(lab: Lab) -> None:
    await two_instance_journey(lab)


async def test_two_webhook_instances_on_postgresql(lab: Lab, pg_url: str) -> None:
    lab.database_url = pg_url
    await two_instance_journey(lab)


async def test_a_conversation_spread_over_two_instances_keeps_its_state(lab: Lab) -> None:
    """A conversation's steps landing on different instances: each instance reads the
    chat's state from the database before handling an update and writes it when the
    update is done (a few milliseconds after its reply — the test, unlike a person, waits
    for that write before typing the next step)."""
    await lab.load_demo()
    await lab.instances(2)
    seen: dict[str, Any] = {}

    payer = lab.chat(1002, "en")
    await payer.say("/repay")
    assert "Type the amount" in (await payer.tap("Custom amount")).text
    await asyncio.sleep(0.5)  # the question is in the database
    rows = await lab.query(select(BotStateRow.data).where(BotStateRow.user_id == 1002))
    seen["stored before the answer"] = [row.data for row in rows]
    seen["amount reply"] = (await payer.say("100")).text
    await asyncio.sleep(0.5)
    rows = await lab.query(select(BotStateRow.data).where(BotStateRow.user_id == 1002))
    seen["stored after the answer"] = [row.data for row in rows]
    tap, typed = lab.backends_of(1002)[-2:]
    assert tap != typed  # the precondition: the two steps went to different instances

    adder = lab.chat(3001, "en")
    assert "Step 1" in (await adder.say("/add")).text
    for _ in range(100):  # the state is written right after the reply
        if await lab.query(select(BotStateRow.data).where(BotStateRow.user_id == 3001)):
            break
        await asyncio.sleep(0.05)
    seen["add reply"] = (await adder.say("Xiaomi")).text
    start, answer = lab.backends_of(3001)[-2:]
    assert start != answer

    assert "Choose how to pay" in seen["amount reply"], seen
    assert "Step 2" in seen["add reply"], seen
    [before] = seen["stored before the answer"]
    assert before["awaiting"]["what"] == "custom_amount", seen
    assert all("awaiting" not in data for data in seen["stored after the answer"]), seen
