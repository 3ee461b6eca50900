"""Delivering notifications: signed POSTs, retried with exponential backoff until a 2xx.

Each attempt reads the notification from the database and records its result there, so
a restart resumes where it stopped: a notification is delivered at least once (and may
be delivered again: receivers deduplicate by ``notification_id`` or by the debit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db.engine import session_factory
from core.gateway.bank import outbox
from core.gateway.bank.faults import Faults
from core.gateway.bank.ledger import retry_delay
from core.gateway.bank.signing import signed_headers
from core.gateway.bank.tables import NotificationRow

logger = logging.getLogger(__name__)
DUE_BATCH = 50


class Notifier:
    """Sends the queued notifications of one bank; ``faults`` gives the faults in force."""

    def __init__(
        self,
        engine: AsyncEngine,
        secret: str,
        faults: Callable[[], Faults],
        *,
        retry_base: float = 1.0,
        retry_cap: float = 600.0,
        timeout: float = 5.0,
    ) -> None:
        self._sessions = session_factory(engine)
        self._secret = secret
        self._faults = faults
        self._retry_base = retry_base
        self._retry_cap = retry_cap
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._client: aiohttp.ClientSession | None = None
        self._in_flight: dict[int, asyncio.Task[None]] = {}

    async def start(self) -> None:
        self._client = aiohttp.ClientSession(timeout=self._timeout)

    async def close(self) -> None:
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.close()

    async def deliver_due(self) -> None:
        """Start an attempt for every notification that is due and not already under way."""
        async with self._sessions() as session, session.begin():
            ids = await outbox.due(session, datetime.now(UTC), limit=DUE_BATCH)
        for notification_id in ids:
            self._attempt(notification_id)

    async def deliver_now(self, notification_id: int) -> None:
        """Make the first attempt now and wait for it (a notification ahead of an answer)."""
        await asyncio.shield(self._attempt(notification_id))

    async def next_due(self) -> datetime | None:
        async with self._sessions() as session, session.begin():
            return await outbox.next_due(session)

    def _attempt(self, notification_id: int) -> asyncio.Task[None]:
        task = self._in_flight.get(notification_id)
        if task is None:
            task = asyncio.create_task(self._deliver(notification_id))
            self._in_flight[notification_id] = task
            task.add_done_callback(lambda _: self._in_flight.pop(notification_id, None))
        return task

    async def _deliver(self, notification_id: int) -> None:
        async with self._sessions() as session, session.begin():
            row = await session.get(NotificationRow, notification_id)
            if row is None or row.next_attempt_at is None:
                return  # delivered or lost meanwhile
            if row.attempts == 0 and self._faults().take_notify_lost():
                row.lost, row.next_attempt_at = True, None
                logger.info("notification %s for %s lost (fault)", row.id, row.reference)
                return
            url, body = row.url, row.body.encode("utf-8")
            # A lease: not due again while this attempt runs, due again if the bank dies.
            lease = self._timeout.total or 0
            row.next_attempt_at = datetime.now(UTC) + timedelta(seconds=2 * lease + 1)
        error = await self._post(url, body)
        if error is None and self._faults().take_notify_duplicated():
            await self._post(url, body)
        async with self._sessions() as session, session.begin():
            row = await session.get(NotificationRow, notification_id)
            assert row is not None
            now = datetime.now(UTC)
            row.attempts += 1
            row.last_error = error
            if error is None:
                row.delivered_at, row.next_attempt_at = now, None
            else:
                wait = retry_delay(row.attempts, base=self._retry_base, cap=self._retry_cap)
                row.next_attempt_at = now + timedelta(seconds=wait)
                logger.info("notification %s: %s; retry in %.1f s", row.id, error, wait)

    async def _post(self, url: str, body: bytes) -> str | None:
        """POST ``body`` signed; None if answered 2xx, otherwise what went wrong."""
        assert self._client is not None, "start() first"
        headers = signed_headers(self._secret, int(time.time()), body)
        try:
            async with self._client.post(url, data=body, headers=headers) as response:
                if 200 <= response.status < 300:
                    return None
                return f"answered {response.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            return f"{type(exc).__name__}: {exc}"[:200]
