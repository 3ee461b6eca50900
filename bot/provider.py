"""The bot's payment provider at run time: the sandbox one started in this process when
no ``GATEWAY_URL`` is set (still behind its HTTP API, with its own database file, never
inside our transaction), the client of whichever it is, and the endpoint where its
signed notifications arrive (``POST /provider/notifications`` on HTTP_PORT).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot.observability import NOTIFY_PATH
from core.db.models import PaymentRow
from core.db.uow import Database
from core.gateway.bank.server import BankConfig, BankServer
from core.gateway.bank.signing import BadSignature, verify
from core.gateway.link import ProviderLink
from core.gateway.port import DebitState
from core.gateway.provider_client import DEFAULT_TIMEOUT, ProviderClient, debit_state
from core.services.reconcile import drive_intents
from core.services.settlement import settle
from core.settings import Settings

log = logging.getLogger(__name__)

MAX_NOTIFICATION = 16 * 1024  # bytes; the provider's are well under 1 KiB


class ProviderSettingsError(ValueError):
    """GATEWAY_URL without a usable GATEWAY_SECRET."""


def bank_database(settings: Settings) -> Path:
    """Where the embedded provider keeps its database: BANK_DATABASE, else beside a
    SQLite DATABASE_URL (``x.db`` → ``x.bank.db``), else ``data/bank.db``."""
    if settings.bank_database:
        return Path(settings.bank_database)
    url = settings.database_url
    if url.startswith("sqlite") and ":///" in url:
        path = Path(url.split(":///", 1)[1].split("?", 1)[0])
        if path.name and path.name != ":memory:":
            return path.with_name(path.stem + ".bank.db")
    return Path("data/bank.db")


def provider_secret(settings: Settings) -> str:
    secret = settings.gateway_secret.get_secret_value() if settings.gateway_secret else ""
    if settings.gateway_url and len(secret) < 16:
        raise ProviderSettingsError(
            "GATEWAY_URL is set, so GATEWAY_SECRET (16+ characters, shared with the "
            "provider) is needed to verify its notifications"
        )
    return secret or secrets.token_urlsafe(24)


@dataclass
class Provider:
    """The running link to the provider, and the embedded one when it is ours to run."""

    settings: Settings
    secret: str
    link: ProviderLink | None = None
    bank: BankServer | None = None
    _client: ProviderClient | None = None
    _tasks: set[asyncio.Task[object]] = field(default_factory=set)

    @classmethod
    def from_settings(cls, settings: Settings) -> Provider:
        return cls(settings, provider_secret(settings))

    def callback_url(self, health_port: int | None) -> str | None:
        """Where the provider is to send notifications: PUBLIC_HTTP_URL's path for a
        provider elsewhere, HTTP_PORT on loopback for one on this machine; None
        without an HTTP port (then the sweep's queries settle every payment)."""
        if health_port is None:
            return None
        if self.settings.gateway_url and self.settings.public_http_url:
            return self.settings.public_http_url.rstrip("/") + NOTIFY_PATH
        return f"http://127.0.0.1:{health_port}{NOTIFY_PATH}"

    async def start(self, callback_url: str | None) -> ProviderLink:
        url = self.settings.gateway_url
        if not url:
            database = bank_database(self.settings)
            database.parent.mkdir(parents=True, exist_ok=True)
            self.bank = BankServer(BankConfig(database=database, secret=self.secret))
            await self.bank.start()
            url = self.bank.url
            log.info("payment provider: the sandbox bank on %s (database %s)", url, database)
            if self.settings.webhook_url:
                log.warning(
                    "GATEWAY_URL is empty: this instance runs a sandbox bank of its own; "
                    "several instances must share one provider (repaybot bank, GATEWAY_URL)"
                )
        lease = self.settings.payment_lease_seconds
        self._client = ProviderClient(url, timeout=min(DEFAULT_TIMEOUT, lease / 2))
        await self._client.__aenter__()
        self.link = ProviderLink(self._client, callback_url, timedelta(seconds=lease))
        return self.link

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._client is not None:
            await self._client.__aexit__(None, None, None)
        if self.bank is not None:
            await self.bank.stop()

    def notifications(
        self, db: Database, clock: Callable[[], datetime]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        """The handler of ``POST /provider/notifications``."""

        async def handle(request: web.Request) -> web.Response:
            return await self._notified(request, db, clock)

        return handle

    async def _notified(
        self, request: web.Request, db: Database, clock: Callable[[], datetime]
    ) -> web.Response:
        if (request.content_length or 0) > MAX_NOTIFICATION:
            return web.json_response({"error": "too large"}, status=413)
        body = await request.content.read(MAX_NOTIFICATION + 1)
        try:
            verify(self.secret, request.headers, body, now=int(time.time()))
        except BadSignature as exc:
            log.warning("provider notification refused: %s", exc)
            return web.json_response({"error": "bad signature"}, status=401)
        try:
            state = debit_state(json.loads(body)["debit"])
        except (ValueError, KeyError, TypeError):
            log.error("provider notification signed but not understood")
            return web.json_response({"error": "not understood"}, status=400)
        try:
            created = await self._settle(db, state, clock())
        except SQLAlchemyError:
            log.exception("provider notification for %s not recorded", state.reference)
            return web.json_response({"error": "try again"}, status=503)
        if created:  # an auto-repay's fallback: sent after this answer, not during it
            task = asyncio.create_task(drive_intents(db, created, clock()))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return web.json_response({"ok": True})

    @staticmethod
    async def _settle(db: Database, state: DebitState, now: datetime) -> list[int]:
        async with db.uow() as uow:
            payment_id = await uow.session.scalar(
                select(PaymentRow.id).where(PaymentRow.reference == state.reference)
            )
            if payment_id is None:
                log.warning("provider notification of an unknown debit %s", state.reference)
                return []
            return (await settle(uow, payment_id, state, now)).created
