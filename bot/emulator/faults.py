"""Fault injection and optional flood control, for reliability tests.

``Faults.inject`` makes the next calls of a method fail (or answer late); ``rate_limit``
turns on Telegram-like flood control (429 with ``retry_after``).  Both are consulted by
``server.py`` before a method runs.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from dataclasses import dataclass

from bot.emulator.errors import ApiError, default_description

RATE_LIMITED_PREFIXES = ("send", "edit", "copy", "forward")
EXEMPT = frozenset({"sendchataction"})


@dataclass
class Fault:
    """The answer injected for the next ``remaining`` calls of a method."""

    status: int | None
    description: str | None
    retry_after: int | None
    delay: float | None
    remaining: int


@dataclass
class RateLimits:
    """Flood-control limits: requests per second overall and per chat (sliding 1 s window)."""

    per_second: float | None
    per_chat_per_second: float | None


class Faults:
    """Injected faults per method (lower-case name, ``*`` for any) and flood control."""

    def __init__(self) -> None:
        self._faults: dict[str, deque[Fault]] = {}
        self.limits: RateLimits | None = None
        self._global: deque[float] = deque()
        self._per_chat: dict[str, deque[float]] = {}

    def inject(
        self,
        method: str,
        *,
        status: int | None = 400,
        description: str | None = None,
        retry_after: int | None = None,
        delay: float | None = None,
        times: int = 1,
    ) -> None:
        if status is None and not delay:
            raise ValueError("a fault needs a status, a delay, or both")
        if status == 429 and retry_after is None:
            retry_after = 1
        fault = Fault(status, description, retry_after, delay, times)
        self._faults.setdefault(method.lower(), deque()).append(fault)

    def clear(self) -> None:
        self._faults.clear()

    def take(self, method: str) -> Fault | None:
        """The fault to apply to this call of ``method``, if any (consumes one use)."""
        for key in (method.lower(), "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    async def apply(self, method: str) -> None:
        """Sleep and/or raise the injected answer for this call of ``method``."""
        fault = self.take(method)
        if fault is None:
            return
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status is not None:
            description = fault.description or default_description(fault.status, fault.retry_after)
            raise ApiError(fault.status, description, retry_after=fault.retry_after)

    def check_rate(self, method: str, chat_id: object) -> None:
        """Raise 429 if this sending call exceeds the enabled flood limits."""
        limits = self.limits
        name = method.lower()
        if limits is None or not name.startswith(RATE_LIMITED_PREFIXES) or name in EXEMPT:
            return
        now = time.monotonic()
        windows = [(self._global, limits.per_second)]
        if chat_id is not None:
            chat_window = self._per_chat.setdefault(str(chat_id), deque())
            windows.append((chat_window, limits.per_chat_per_second))
        for window, limit in windows:
            while window and now - window[0] >= 1.0:
                window.popleft()
            if limit is not None and len(window) >= max(limit, 1):
                retry_after = max(1, math.ceil(1.0 - (now - window[0])))
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry_after}", retry_after=retry_after
                )
        for window, _ in windows:
            window.append(now)
