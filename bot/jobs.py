"""The JobQueue ticker: every few seconds a sweep runs the auto-debits that are due (each
queues its receipt in the payment's transaction), then claims the messages due now — one
per user listing every reminder due, and each receipt — and sends them. The database
decides what is due; the job only ticks.

A message counts as sent only after Telegram accepted it. A flood limit (429) pauses all
sending for the time Telegram asks and gives the unsent claims back; a timeout or a lost
connection is retried a bounded number of times; a blocked user (403) is marked inactive
and gets nothing more until they come back; "chat not found" is not retried.
"""

from __future__ import annotations

import asyncio
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from telegram import InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ContextTypes, ExtBot
from telegram.warnings import PTBDeprecationWarning

from bot.deps import SendState, deps
from bot.observability import Metrics
from bot.ratelimit import Priority
from bot.sweep_messages import message_markup, message_text
from core.db.uow import Database
from core.failpoints import SEND_AFTER, SEND_BEFORE, failpoint
from core.services.autopay_sweep import AutopayReceipt
from core.services.chat_state import purge_processed_updates
from core.services.quotes import purge_expired_quotes
from core.services.reconcile import Reconciled, reconcile, run_autopays
from core.services.reminder_rows import purge_settled
from core.services.reminder_sweep import ReminderBatch, claim_chunk
from core.services.send_outcomes import record_outcome, release
from core.services.users import set_active
from core.settings import Settings

log = logging.getLogger(__name__)
SWEEP_SECONDS = 30
MAX_SEND_ATTEMPTS = 3  # a message that timed out this many times is recorded as failed
RETRY_BACKOFF = timedelta(minutes=1)  # × the attempts so far
# Users looked at per claim (about one message each): about 5 s of sending at Telegram's
# 30 messages a second, well within the default two-minute lease. A claim stalls the
# sends for its duration (on SQLite it holds the one write lock); a small chunk keeps the
# stall short enough for the rate limiter's window to make up (bot/ratelimit.py).
CLAIM_CHUNK = 150


class ChatSink(Protocol):
    """Where a sweep's messages go: Telegram, or the simulator's transcript."""

    async def deliver(self, chat_id: int, text: str, markup: InlineKeyboardMarkup) -> int:
        """Send; the message id. Raises Telegram's errors (``telegram.error``)."""
        ...


@dataclass(frozen=True, slots=True)
class BotSink:
    bot: ExtBot[Any]

    async def deliver(self, chat_id: int, text: str, markup: InlineKeyboardMarkup) -> int:
        # Bulk: a person waiting for a reply goes first (bot/ratelimit.py).
        message = await self.bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=markup,
            rate_limit_args=Priority.BULK,
        )
        return message.message_id


@dataclass
class SweepReport:
    """What one sweep did (the simulator prints it; the log and metrics count it)."""

    receipts: list[AutopayReceipt] = field(default_factory=list)  # auto-repays settled at once
    reconciled: Reconciled | None = None  # payments in flight checked with the provider
    delivered: list[tuple[ReminderBatch, int]] = field(default_factory=list)  # and message id
    failed: list[tuple[ReminderBatch, str]] = field(default_factory=list)  # and the reason
    retried: list[ReminderBatch] = field(default_factory=list)  # given back for later
    paused_until: datetime | None = None
    finished_at: datetime | None = None

    def count(self, metrics: Metrics, seconds: float) -> None:
        """Add this sweep to the process's metrics."""
        for receipt in self.receipts:
            status = "succeeded" if receipt.succeeded else "failed"
            metrics.payments.labels(kind="auto", status=status).inc()
        for batch, _ in self.delivered:
            metrics.messages.labels(kind=_kind(batch), outcome="sent").inc()
        for batch, _ in self.failed:
            metrics.messages.labels(kind=_kind(batch), outcome="failed").inc()
        for batch in self.retried:
            metrics.messages.labels(kind=_kind(batch), outcome="retried").inc()
        lags = [
            (self.finished_at - batch.due_at).total_seconds()
            for batch, _ in self.delivered
            if batch.due_at is not None and self.finished_at is not None
        ]
        metrics.sweep_done(seconds, max(lags, default=None))


def _kind(batch: ReminderBatch) -> str:
    return "reminder" if batch.receipt is None else "receipt"


async def sweep(context: ContextTypes.DEFAULT_TYPE) -> None:
    """The JobQueue's callback: one sweep at the clock's now."""
    d = deps(context)
    await run_sweep(
        BotSink(context.bot),
        d.db,
        d.settings,
        d.clock(),
        d.sending,
        clock=d.clock,
        metrics=d.metrics,
    )
    async with d.db.uow() as uow:  # one bounded batch a tick: a backlog drains over ticks
        await purge_expired_quotes(uow, d.clock())
        await purge_processed_updates(uow, d.clock())
        await purge_settled(uow.session, d.clock())
        await uow.commit()


async def run_sweep(
    sink: ChatSink,
    db: Database,
    settings: Settings,
    now: datetime,
    state: SendState,
    *,
    clock: Callable[[], datetime] | None = None,
    metrics: Metrics | None = None,
) -> SweepReport:
    """Run the auto-debits that are due, then claim and send the messages that are due.

    Messages are claimed in chunks small enough to send well within their lease at
    Telegram's rate; the sweep goes on claiming until nothing is left (reading ``clock``
    again for each chunk when given), a flood limit pauses it, or a chunk comes back short.
    """
    started = time.perf_counter()
    report = SweepReport()
    report.receipts = await run_autopays(db, now, settings.autopay_time)
    # Read again: the auto-debits may have taken a while, and a claim is a lease from now.
    report.reconciled = await reconcile(db, clock() if clock is not None else now)
    while not state.paused(now):
        async with db.uow() as uow:
            lease = timedelta(seconds=settings.send_lease_seconds)
            claimed = await claim_chunk(
                uow, now, users=CLAIM_CHUNK, lease=lease, autopay_at=settings.autopay_time
            )
        await _send_all(sink, db, claimed.batches, now, state, report)
        if claimed.looked < CLAIM_CHUNK:  # nobody else is due
            break
        now = clock() if clock is not None else now
    if state.paused(now):
        report.paused_until = state.paused_until
    report.finished_at = clock() if clock is not None else now
    if metrics is not None:
        report.count(metrics, time.perf_counter() - started)
    return report


async def _send_all(
    sink: ChatSink,
    db: Database,
    batches: list[ReminderBatch],
    now: datetime,
    state: SendState,
    report: SweepReport,
) -> None:
    for index, batch in enumerate(batches):
        failpoint(SEND_BEFORE)
        try:
            text = await _rendered(batch)
            message_id = await sink.deliver(batch.user_id, text, message_markup(batch))
        except RetryAfter as exc:
            # Telegram wants a pause from everyone using this token: stop, and give back
            # what is unsent without using up its attempts.
            state.paused_until = now + retry_after(exc)
            report.paused_until = state.paused_until
            unsent = batches[index:]
            async with db.uow() as uow:
                await release(
                    uow,
                    [i for b in unsent for i in b.log_ids],
                    state.paused_until,
                    count_attempt=False,
                )
            report.retried += unsent
            log.warning("flood limit: sending paused until %s", state.paused_until)
            return
        except (Forbidden, BadRequest, NetworkError) as exc:
            await _failed(db, batch, exc, now, report)
            continue
        failpoint(SEND_AFTER)
        report.delivered.append((batch, message_id))
        async with db.uow() as uow:
            await record_outcome(uow, batch.log_ids, now, message_id=message_id)


async def _failed(
    db: Database, batch: ReminderBatch, exc: Exception, now: datetime, report: SweepReport
) -> None:
    if isinstance(exc, Forbidden):
        reason = "blocked"
        async with db.uow() as uow:
            await set_active(uow, batch.user_id, False)
    elif isinstance(exc, BadRequest):
        reason = "chat_not_found" if "chat not found" in str(exc).lower() else "bad_request"
        if reason == "chat_not_found":  # no chat to write to until they write to us
            async with db.uow() as uow:
                await set_active(uow, batch.user_id, False)
    elif batch.attempts < MAX_SEND_ATTEMPTS:
        if isinstance(exc, TimedOut):  # the lost-answer case: it may have arrived
            log.warning(
                "message %s to %s timed out: may arrive twice", batch.log_ids, batch.user_id
            )
        async with db.uow() as uow:
            await release(uow, batch.log_ids, now + RETRY_BACKOFF * batch.attempts)
        report.retried.append(batch)
        return
    else:
        reason = "timeout" if isinstance(exc, TimedOut) else "network_error"
    log.warning("message to %s not sent: %s (%s)", batch.user_id, reason, exc)
    report.failed.append((batch, reason))
    async with db.uow() as uow:
        await record_outcome(uow, batch.log_ids, now, failure=reason)


# A batch this long is formatted off the event loop: at the limits a batch lists 1,200
# installments, ~100 ms of formatting that no update should wait behind (issue 10 §3).
RENDER_OFF_LOOP_ITEMS = 100


async def _rendered(batch: ReminderBatch) -> str:
    if len(batch.items) > RENDER_OFF_LOOP_ITEMS:
        return await asyncio.to_thread(message_text, batch)
    return message_text(batch)


def retry_after(exc: RetryAfter) -> timedelta:
    """How long Telegram asked us to wait (PTB 22 warns on this property while it moves
    from seconds to timedelta; either answer is read the same)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value if isinstance(value, timedelta) else timedelta(seconds=value)
