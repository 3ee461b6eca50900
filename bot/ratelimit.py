"""Pacing sends to Telegram's limit: at most 30 messages in any second, overall.

PTB's ``AIORateLimiter`` paces with a leaky bucket. Set to Telegram's 30 a second it lets
30 go at once and then 30 a second more — 60 in the first second, which Telegram (and
the emulator's sliding one-second window) answers with 429. Set to one message per 1/30 s
it never bursts, but every late wake-up of the event loop (a millisecond or two under
load) is lost for good, so a long send reaches ~0.94 of the limit.

:class:`Pacer` spaces sends evenly at the limit's rate on a fixed schedule (a send may go
up to ``catch_up`` seconds before its slot, so late wake-ups are made up rather than
added up, down to ``spacing`` apart), and never admits more than ``limit`` in any
``period`` (a sliding window, Telegram's own rule). The catch-up stays small: the window
can only take back what the schedule ran ahead, as a long wait once a window.
:class:`TelegramRateLimiter` is PTB's limiter with a pacer in place of its overall
bucket; its per-group limits and paid-broadcast handling are PTB's own.
"""

from __future__ import annotations

import asyncio
from collections import deque
from types import TracebackType

from telegram.ext import AIORateLimiter

# Telegram allows 30 messages a second; the window is made a little longer than a second
# so that request latencies that differ by up to 20 ms cannot put 31 into one second at
# Telegram's end. A send woken late lets the next go up to 20 ms early, never closer
# than 1/45 s to it.
MESSAGES_PER_WINDOW = 30
WINDOW_SECONDS = 1.02
CATCH_UP_SECONDS = 0.02
MIN_SPACING_SECONDS = 1 / 45


class Pacer:
    """An async context manager admitting entries at ``limit`` per ``period`` evenly, at
    most ``catch_up`` seconds ahead of that schedule (so time lost to a stall is made up),
    at least ``spacing`` apart, never more than ``limit`` in any ``period``; first come,
    first served."""

    def __init__(
        self, limit: int, period: float, *, catch_up: float = 0.0, spacing: float = 0.0
    ) -> None:
        if limit < 1 or period <= 0 or catch_up < 0 or spacing < 0:
            raise ValueError("limit must be ≥ 1, period > 0, catch_up and spacing ≥ 0")
        self.limit = limit
        self.period = period
        self.interval = period / limit
        self.catch_up = catch_up
        self.spacing = spacing
        self._admitted: deque[float] = deque(maxlen=limit)
        self._scheduled = float("-inf")  # when the next entry is due on the even schedule
        self._lock = asyncio.Lock()

    def wait_time(self, now: float) -> float:
        """How long an entry arriving at ``now`` must wait (0: it may go at once)."""
        ready = self._scheduled - self.catch_up
        if self._admitted:
            ready = max(ready, self._admitted[-1] + self.spacing)
            if len(self._admitted) == self.limit:
                ready = max(ready, self._admitted[0] + self.period)
        return max(0.0, ready - now)

    def admit(self, at: float) -> None:
        """Record an entry admitted at ``at``."""
        self._admitted.append(at)
        self._scheduled = max(self._scheduled, at) + self.interval

    async def __aenter__(self) -> None:
        async with self._lock:  # FIFO: waiters go in the order they came
            loop = asyncio.get_running_loop()
            wait = self.wait_time(loop.time())
            if wait > 0:  # nobody else can enter meanwhile: the lock is held
                await asyncio.sleep(wait)
            self.admit(loop.time())

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None


class TelegramRateLimiter(AIORateLimiter):
    """PTB's ``AIORateLimiter`` with a :class:`Pacer` as its overall limit.

    ``max_retries`` stays 0: a sweep that slept through a flood limit inside the limiter
    while holding claims could outlive their lease; it pauses and gives them back instead.
    """

    def __init__(
        self,
        limit: int = MESSAGES_PER_WINDOW,
        period: float = WINDOW_SECONDS,
        catch_up: float = CATCH_UP_SECONDS,
        spacing: float = MIN_SPACING_SECONDS,
    ) -> None:
        super().__init__(max_retries=0)
        # PTB enters its overall limiter as an async context manager around each request
        # to a chat (telegram/ext/_aioratelimiter.py, PTB 22; pinned below 23).
        pacer = Pacer(limit, period, catch_up=catch_up, spacing=spacing)
        self._base_limiter = pacer  # type: ignore[assignment]
