"""The bank as a running service: its database, its HTTP site and its background worker.

The worker settles processing debits when their time comes and delivers the queued
notifications; it reads both from the database, so whatever was pending when the bank
stopped is picked up when it starts again.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from core.db.engine import create_engine
from core.gateway.bank.faults import Faults
from core.gateway.bank.notifier import Notifier
from core.gateway.bank.routes import BankContext, bank_app
from core.gateway.bank.signing import MIN_SECRET_CHARS
from core.gateway.bank.store import BankStore
from core.gateway.bank.tables import create_tables

logger = logging.getLogger(__name__)
MAX_IDLE_WAIT = 1.0  # seconds the worker sleeps at most between looks at the database


def loopback_host(host: str) -> str:
    """The address to bind for ``host``; the sandbox bank refuses anything but loopback."""
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"the sandbox bank binds to loopback only, not {host!r}")
    return str(address)


@dataclass
class BankConfig:
    database: Path
    secret: str
    host: str = "127.0.0.1"
    port: int = 0  # 0: any free port (see ``BankServer.url``)
    callback_url: str | None = None
    faults: Faults = field(default_factory=Faults)
    retry_base: float = 1.0
    retry_cap: float = 600.0
    notify_timeout: float = 5.0

    def __post_init__(self) -> None:
        self.host = loopback_host(self.host)
        if len(self.secret) < MIN_SECRET_CHARS:
            raise ValueError(f"the shared secret must be at least {MIN_SECRET_CHARS} characters")


class BankServer:
    def __init__(self, config: BankConfig) -> None:
        self.config = config
        self.engine = create_engine(f"sqlite+aiosqlite:///{config.database}")
        self.store = BankStore(self.engine)
        self.notifier = Notifier(
            self.engine,
            config.secret,
            lambda: self.context.faults,
            retry_base=config.retry_base,
            retry_cap=config.retry_cap,
            timeout=config.notify_timeout,
        )
        self._wake = asyncio.Event()
        self.context = BankContext(
            self.store, self.notifier, config.faults, config.callback_url, self._wake.set
        )
        self._runner: web.AppRunner | None = None
        self._worker: asyncio.Task[None] | None = None
        self.port = config.port

    @property
    def url(self) -> str:
        return f"http://{self.config.host}:{self.port}"

    async def start(self) -> None:
        await create_tables(self.engine)
        await self.notifier.start()
        self._runner = web.AppRunner(bank_app(self.context), access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET6 if ":" in self.config.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host, self.config.port))
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._worker = asyncio.create_task(self._work())

    async def stop(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._worker
        if self._runner is not None:
            await self._runner.cleanup()
        await self.notifier.close()
        await self.engine.dispose()

    async def _work(self) -> None:
        while True:
            self._wake.clear()  # before looking: a wake during the look is not lost
            try:
                while await self.store.settle_due(datetime.now(UTC), self.context.faults):
                    pass
                await self.notifier.deliver_due()
                wait = await self._idle_wait()
            except Exception:  # a database hiccup must not stop settlement for good
                logger.exception("bank worker")
                wait = MAX_IDLE_WAIT
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)

    async def _idle_wait(self) -> float:
        """Seconds until the next settlement or delivery is due, within bounds."""
        times = [await self.store.next_settlement(), await self.notifier.next_due()]
        upcoming = [moment for moment in times if moment is not None]
        if not upcoming:
            return MAX_IDLE_WAIT
        seconds = (min(upcoming) - datetime.now(UTC)).total_seconds()
        return min(MAX_IDLE_WAIT, max(0.01, seconds))
