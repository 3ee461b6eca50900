"""The sandbox bank started inside the caller's process — still behind its HTTP API and
with its own database file — and the link to it: what the simulator, the tests and the
benchmarks use where ``repaybot run`` would use the bank it starts (bot/provider.py)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from core.gateway.bank.faults import Faults
from core.gateway.bank.server import BankConfig, BankServer
from core.gateway.link import ProviderLink
from core.gateway.provider_client import ProviderClient


@dataclass
class RunningBank:
    server: BankServer
    link: ProviderLink
    secret: str


@asynccontextmanager
async def running_bank(
    database: Path,
    *,
    secret: str | None = None,
    callback_url: str | None = None,
    faults: Faults | None = None,
    call_timeout: float = 10.0,
) -> AsyncIterator[RunningBank]:
    """A bank on a free loopback port with its database at ``database``, and a link to it
    whose debits name ``callback_url`` for their notifications."""
    secret = secret or secrets.token_urlsafe(24)
    config = BankConfig(database=database, secret=secret, faults=faults or Faults())
    server = BankServer(config)
    await server.start()
    try:
        async with ProviderClient(server.url, timeout=call_timeout) as client:
            yield RunningBank(server, ProviderLink(client, callback_url), secret)
    finally:
        await server.stop()
