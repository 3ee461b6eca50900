"""/healthz and /metrics on HTTP_PORT while the real bot runs against the emulator."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx

from bot.observability import HealthServer, Metrics
from core.db.uow import Database
from tests.e2e.conftest import RepayBot


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sample(metrics_text: str, name: str) -> float:
    """The value of one sample line (name with labels, exactly) of the exposition."""
    for line in metrics_text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"no sample {name!r} in /metrics")


async def test_healthz_and_metrics_count_updates_payments_and_sweeps(repaybot: RepayBot) -> None:
    await repaybot.stop()
    port = free_port()
    repaybot.settings = repaybot.settings.model_copy(
        update={"http_port": port, "http_host": "127.0.0.1"}
    )
    repaybot.sweep_seconds = 0.2
    await repaybot.start()
    chat = repaybot.chat(1001)
    await chat.say("/status")
    await chat.say("/repay")
    await chat.tap("本期账单")
    await chat.tap("招商银行")
    await chat.tap("确认还款")
    # The first sweep (a second after start) may send a reminder meanwhile: look at the
    # confirm screen itself, not at the newest message.
    assert any("还款成功" in (m.text or "") for m in repaybot.emulator.chat_log(1001))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
        for _ in range(50):  # the first sweep runs a second after start
            health = await http.get("/healthz")
            if health.json()["last_sweep_age_seconds"] is not None:
                break
            await asyncio.sleep(0.1)
        metrics = await http.get("/metrics")
    assert health.status_code == 200
    body = health.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["last_sweep_age_seconds"] is not None
    assert body["last_sweep_age_seconds"] < 5
    text = metrics.text
    assert metrics.headers["content-type"].startswith("text/plain")
    assert sample(text, 'repaybot_updates_total{kind="command"}') >= 2
    assert sample(text, 'repaybot_updates_total{kind="callback_query"}') >= 2
    assert sample(text, "repaybot_handler_seconds_count") >= 4
    assert sample(text, 'repaybot_payments_total{kind="manual",status="succeeded"}') == 1
    assert sample(text, "repaybot_sweep_seconds_count") >= 1
    assert sample(text, "repaybot_last_sweep_timestamp_seconds") > time.time() - 60


async def test_health_fails_when_the_database_is_unreachable_or_sweeps_stop() -> None:
    # Nothing listens on port 1 of loopback: the database cannot be reached.
    unreachable = Database.from_url("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    metrics = Metrics()
    server = HealthServer(unreachable, metrics, sweep_seconds=30)
    port = free_port()
    await server.start(port, "127.0.0.1")
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
            down = await http.get("/healthz")
    finally:
        await server.stop()
        await unreachable.dispose()
    assert down.status_code == 503
    assert down.json()["database"] == "unreachable"


async def test_health_reports_a_stale_sweep(tmp_path: object) -> None:
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/health.db")
    metrics = Metrics()
    server = HealthServer(db, metrics, sweep_seconds=1)
    metrics.sweep_done(0.01, lag=2.0)
    ok, body = await server.health()
    assert ok
    assert body["sweeps"] == "ok"
    metrics.last_sweep_monotonic = time.monotonic() - server.stale_after() - 1
    ok, body = await server.health()
    assert not ok
    assert body["sweeps"] == "stale"
    assert body["status"] == "unhealthy"
    await db.dispose()
