"""Health and metrics over HTTP on ``HTTP_PORT``, in polling and webhook modes alike.

``/calendar/{token}.ics`` serves a user's calendar feed (bot/calendar_feed.py) to whoever
holds the secret token; an unknown token gets 404, as does any other path.

``/healthz`` answers 200 when the database answers, the last sweep is recent and updates
are being handled (none stuck in hand, none left waiting in the queue), 503 otherwise,
with the details as JSON. ``/metrics`` is the Prometheus text format: updates handled and
their latency, scheduled messages by outcome, payments by kind and status, sweep duration
and how late the due work was when it went out, database retries.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest
from sqlalchemy import text
from telegram import Update

from core.db.uow import Database

log = logging.getLogger(__name__)
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DATABASE_TIMEOUT = 2.0  # seconds for the health check's SELECT 1


class Metrics:
    """One process's counters, in a registry of its own (several apps may share a process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.updates = Counter("repaybot_updates", "Updates handled, by kind", ["kind"], registry=r)
        self.handler_seconds = Histogram(
            "repaybot_handler_seconds",
            "Time to handle one update",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.messages = Counter(
            "repaybot_messages",
            "Scheduled messages (reminders, receipts) by outcome",
            ["kind", "outcome"],
            registry=r,
        )
        self.payments = Counter(
            "repaybot_payments", "Payments by kind and status", ["kind", "status"], registry=r
        )
        self.sweep_seconds = Histogram(
            "repaybot_sweep_seconds", "Duration of one sweep", buckets=LATENCY_BUCKETS, registry=r
        )
        self.due_lag = Gauge(
            "repaybot_due_work_lag_seconds",
            "How long after its due time the oldest message of the last sweep went out",
            registry=r,
        )
        self.last_sweep = Gauge(
            "repaybot_last_sweep_timestamp_seconds",
            "When the last sweep ended (Unix time)",
            registry=r,
        )
        self.database_retries = Counter(
            "repaybot_database_retries",
            "Handlers tried again after a passing database fault",
            registry=r,
        )
        self.last_sweep_monotonic: float | None = None

    def update_handled(self, update: object, seconds: float) -> None:
        self.updates.labels(kind=update_kind(update)).inc()
        self.handler_seconds.observe(seconds)

    def sweep_done(self, seconds: float, lag: float | None) -> None:
        self.sweep_seconds.observe(seconds)
        if lag is not None:
            self.due_lag.set(max(lag, 0.0))
        self.last_sweep.set(time.time())
        self.last_sweep_monotonic = time.monotonic()

    def last_sweep_age(self) -> float | None:
        if self.last_sweep_monotonic is None:
            return None
        return time.monotonic() - self.last_sweep_monotonic

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def update_kind(update: object) -> str:
    if not isinstance(update, Update):
        return "other"
    if update.callback_query is not None:
        return "callback_query"
    if update.message is not None:
        text_ = update.message.text or ""
        return "command" if text_.startswith("/") else "message"
    if update.my_chat_member is not None:
        return "my_chat_member"
    return "other"


async def database_ok(db: Database) -> bool:
    try:
        async with asyncio.timeout(DATABASE_TIMEOUT):
            async with db.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure means "not reachable" to a health check
        log.warning("health check: database unreachable: %s", exc)
        return False
    return True


NOTIFY_PATH = "/provider/notifications"  # where the payment provider's notifications arrive


def _provider_state(db: Database) -> str:
    if db.provider is None:
        return "not started"
    return "ok" if db.provider.reachable() else "not answering"


class HealthServer:
    """``/healthz`` and ``/metrics`` on an aiohttp server of their own."""

    def __init__(
        self,
        db: Database,
        metrics: Metrics,
        *,
        sweep_seconds: float,
        updates_stuck: Callable[[], str | None] = lambda: None,
        calendar_feed: Callable[[str], Awaitable[bytes | None]] | None = None,
        provider_notifications: Callable[[web.Request], Awaitable[web.Response]] | None = None,
    ) -> None:
        self.db, self.metrics, self.sweep_seconds = db, metrics, sweep_seconds
        self.updates_stuck = updates_stuck
        self.calendar_feed = calendar_feed
        self.provider_notifications = provider_notifications
        self.started = time.monotonic()
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    def stale_after(self) -> float:
        """A sweep older than this means the scheduler is stuck (or never ran)."""
        return 3 * self.sweep_seconds + 60

    async def health(self) -> tuple[bool, dict[str, Any]]:
        database = await database_ok(self.db)
        age = self.metrics.last_sweep_age()
        sweeping = self.sweep_seconds > 0
        if not sweeping:
            sweep_ok = True
        elif age is None:  # no sweep yet: fine while the process is young
            sweep_ok = time.monotonic() - self.started < self.stale_after()
        else:
            sweep_ok = age < self.stale_after()
        stuck = self.updates_stuck()
        healthy = database and sweep_ok and stuck is None
        body = {
            "status": "ok" if healthy else "unhealthy",
            "database": "ok" if database else "unreachable",
            "last_sweep_age_seconds": None if age is None else round(age, 3),
            "sweeps": "off" if not sweeping else ("ok" if sweep_ok else "stale"),
            "updates": "ok" if stuck is None else f"not handled: {stuck}",
            # Reported, not held against the bot: payments wait in flight and settle once
            # the provider answers again (core/services/reconcile.py).
            "payment_provider": _provider_state(self.db),
        }
        if stuck is not None:
            log.error("health check: updates are not being handled: %s", stuck)
        return healthy, body

    async def _healthz(self, request: web.Request) -> web.Response:
        ok, body = await self.health()
        return web.json_response(body, status=200 if ok else 503)

    async def _metrics(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.metrics.exposition())
        response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
        return response

    async def _calendar(self, request: web.Request) -> web.Response:
        assert self.calendar_feed is not None
        body = await self.calendar_feed(request.match_info["token"])
        if body is None:
            return web.Response(status=404, text="not found")
        response = web.Response(body=body, content_type="text/calendar", charset="utf-8")
        # Private to its owner: no shared cache may keep it, no page may leak the link.
        response.headers["Cache-Control"] = "private, no-cache"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    async def start(self, port: int, host: str = "127.0.0.1") -> None:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        if self.calendar_feed is not None:
            app.router.add_get("/calendar/{token}.ics", self._calendar)
        if self.provider_notifications is not None:
            app.router.add_post(NOTIFY_PATH, self.provider_notifications)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1] if sockets else port
        log.info("health and metrics on http://%s:%s/healthz and /metrics", host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
