"""``repaybot healthcheck``: the container's probe of the running bot's /healthz."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.observability import HealthServer, Metrics
from core.db.uow import Database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Metrics, HealthServer]]:
    """A health server on its own loop in a thread, as in the running bot."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    db = Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/h.db")
    metrics = Metrics()
    server = HealthServer(db, metrics, sweep_seconds=1)
    port = _free_port()
    asyncio.run_coroutine_threadsafe(server.start(port, "127.0.0.1"), loop).result(10)
    try:
        yield f"http://127.0.0.1:{port}/healthz", metrics, server
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(10)
        asyncio.run_coroutine_threadsafe(db.dispose(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def test_healthy_bot_exits_0(
    served: tuple[str, Metrics, HealthServer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, metrics, _ = served
    metrics.sweep_done(0.01, lag=None)
    assert main(["healthcheck", "--url", url]) == 0
    assert '"status": "ok"' in capsys.readouterr().out


def test_stale_sweeps_exit_1(
    served: tuple[str, Metrics, HealthServer], capsys: pytest.CaptureFixture[str]
) -> None:
    url, metrics, server = served
    metrics.sweep_done(0.01, lag=None)
    metrics.last_sweep_monotonic = time.monotonic() - server.stale_after() - 5
    assert main(["healthcheck", "--url", url]) == 1
    assert '"sweeps": "stale"' in capsys.readouterr().out


def test_nothing_listening_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_free_port()}/healthz"
    assert main(["healthcheck", "--url", url, "--timeout", "2"]) == 1
    assert "healthcheck: error" in capsys.readouterr().err
