"""RepayBot's rate limiter: Telegram's limits (bot/pacing.py), replies to people first.

Sends share Telegram's 30 messages a second. While a sweep sends thousands of reminders,
a person who taps a button must not wait behind them: a send made while handling an update
(a reply) goes before any waiting bulk send (the sweep's reminders and receipts, marked
``rate_limit_args=Priority.BULK``). Bulk sends take every slot replies leave, and one in
``BULK_AFTER + 1`` slots even when replies never stop, so a flood of replies cannot starve
them.

Built on python-telegram-bot's public ``BaseRateLimiter`` interface: ``process_request``
gets each request's parameters (``data``) and the caller's ``rate_limit_args``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from telegram.ext import BaseRateLimiter

from bot.pacing import Pacer, Rule, chat_rule, is_group, overall_pacer

# Under a steady flood of replies, a waiting bulk send still gets the slot after this many
# replies in a row: bulk keeps ≥ 1/11 of the rate, and a reply waits at most one extra slot.
BULK_AFTER = 10
# Chats' rules are forgotten once idle, looked over when there are more than this many.
CHATS_KEPT = 1024

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Result = bool | dict[str, Any] | list[dict[str, Any]]


class Priority(StrEnum):
    """Whom a send is for: a person waiting for an answer, or nobody in particular (the
    sweep's reminders and receipts), passed as PTB's ``rate_limit_args``."""

    REPLY = "reply"
    BULK = "bulk"


class PriorityGate:
    """Admits callers one at a time through a :class:`Pacer`: the oldest waiting reply
    first, else the oldest bulk send (one bulk after ``bulk_after`` replies in a row while
    bulk waited). ``clock``/``sleep`` default to the event loop's."""

    def __init__(
        self,
        pacer: Pacer,
        *,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        bulk_after: int = BULK_AFTER,
    ) -> None:
        self.pacer = pacer
        self.bulk_after = bulk_after
        self._clock = clock
        self._sleep = sleep
        self._waiting: dict[Priority, deque[asyncio.Future[None]]] = {
            Priority.REPLY: deque(),
            Priority.BULK: deque(),
        }
        self._replies_in_a_row = 0
        self._task: asyncio.Task[None] | None = None

    def now(self) -> float:
        return self._clock() if self._clock is not None else asyncio.get_running_loop().time()

    async def enter(self, priority: Priority) -> None:
        """Return when this caller's turn has come."""
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        self._waiting[priority].append(turn)
        if self._task is None:
            self._task = loop.create_task(self._admit_in_turn())
        await turn

    async def close(self) -> None:
        """Stop admitting; whoever waits is cancelled."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for queue in self._waiting.values():
            while queue:
                queue.popleft().cancel()

    async def _admit_in_turn(self) -> None:
        # One task admits everyone, so that who goes next is decided when a slot comes
        # free, not when the caller arrived: a reply arriving during a wait goes next.
        try:
            while self._someone_waits():
                now = self.now()
                wait = self.pacer.wait_time(now)
                if wait > 0:
                    await self._sleep(wait)
                    continue
                self.pacer.admit(now)
                self._next().set_result(None)
        finally:
            self._task = None

    def _someone_waits(self) -> bool:
        for queue in self._waiting.values():
            while queue and queue[0].done():  # given up (cancelled) while waiting
                queue.popleft()
        return any(self._waiting.values())

    def _next(self) -> asyncio.Future[None]:
        replies, bulk = self._waiting[Priority.REPLY], self._waiting[Priority.BULK]
        if replies and (not bulk or self._replies_in_a_row < self.bulk_after):
            self._replies_in_a_row = self._replies_in_a_row + 1 if bulk else 0
            return replies.popleft()
        self._replies_in_a_row = 0
        return bulk.popleft()


@dataclass
class _Chat:
    """One chat's limit; the lock keeps its sends in order and its rule consistent."""

    rule: Rule
    holds_replies: bool  # a group's limit holds every send; a private chat's, bulk only
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class TelegramRateLimiter(BaseRateLimiter[Priority]):
    """Each request to a chat waits for its chat's limit (in a private chat, bulk sends
    only: bot/pacing.py), then for its turn in the overall pace (replies first); requests
    to no chat (getUpdates, answerCallbackQuery, ...) are not paced, as in PTB's own
    limiter.

    A flood limit (429) is raised, not retried: a sweep that slept through it while
    holding claims could outlive their lease, so it gives them back instead and pauses the
    sweeps for the ``retry_after`` Telegram asked (bot/jobs.py); a reply's 429 pauses them
    too (bot/handlers/common.py). The pause is kept on the application's clock
    (``SendState``), which the tests set, not here.
    """

    def __init__(
        self,
        pacer: Pacer | None = None,
        *,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
        bulk_after: int = BULK_AFTER,
    ) -> None:
        self.gate = PriorityGate(
            pacer or overall_pacer(), clock=clock, sleep=sleep, bulk_after=bulk_after
        )
        self._sleep = sleep
        self._chats: dict[object, _Chat] = {}
        self._chats_checked_at = CHATS_KEPT

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        await self.gate.close()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Priority | None,
    ) -> Result:
        chat_id = data.get("chat_id")
        if chat_id is None:
            return await callback(*args, **kwargs)
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # "123" and 123 are one chat
        chat = self._chat(chat_id)
        priority = rate_limit_args or Priority.REPLY
        if priority is Priority.REPLY and not chat.holds_replies:
            # Not behind the chat's lock either: a bulk send waiting there for the chat's
            # second must not hold up an answer to the person (it waits again after it).
            await self.gate.enter(priority)
            chat.rule.admit(self.gate.now())
            return await callback(*args, **kwargs)
        async with chat.lock:
            while True:
                while (wait := chat.rule.wait_time(self.gate.now())) > 0:
                    await self._sleep(wait)
                await self.gate.enter(priority)
                if chat.rule.wait_time(self.gate.now()) == 0:
                    break
                # An answer went into the chat while this waited for its turn: the turn is
                # let go (a slot lost, rarely), and the chat's second waited for again.
            chat.rule.admit(self.gate.now())
        return await callback(*args, **kwargs)

    def _chat(self, chat_id: object) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            if len(self._chats) >= self._chats_checked_at:
                self._forget_idle_chats()
            chat = self._chats[chat_id] = _Chat(chat_rule(chat_id), is_group(chat_id))
        return chat

    def _forget_idle_chats(self) -> None:
        now = self.gate.now()
        for key, chat in list(self._chats.items()):
            if not chat.lock.locked() and chat.rule.idle(now):
                del self._chats[key]
        # Looked over again only after as many new chats as are kept: linear time overall.
        self._chats_checked_at = max(CHATS_KEPT, 2 * len(self._chats))
