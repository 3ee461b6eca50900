"""How one update goes through the bot, on public python-telegram-bot APIs only.

- ``PerUserProcessor`` handles different users' updates at once and one user's updates
  one at a time, in order, so a slow or failing update holds up only its own user.
- ``admit`` (first handler group) skips edited messages and updates already taken on
  (by this or another instance), and loads the user's chat state into
  ``context.user_data``; ``keep_state`` (last group) writes it back if it changed.
- ``resilient`` wraps every handler callback: a passing database fault (a lock, a
  restarting server) is retried with backoff for a bounded time, as long as nothing was
  shown to the user yet; then the error handler apologises.
- ``TrackedRequest`` sees every Bot API call of an update: it counts what the user saw,
  and answers a callback query at most once, whichever handler tries again.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from telegram import Update
from telegram.ext import ApplicationHandlerStop, BaseUpdateProcessor, ContextTypes
from telegram.request import HTTPXRequest, RequestData

from bot.deps import deps
from bot.observability import Metrics
from core.db.faults import is_transient
from core.services.chat_state import ChatState, load_chat_state, save_chat_state, take_update

log = logging.getLogger(__name__)
Callback = Callable[[Any, ContextTypes.DEFAULT_TYPE], Coroutine[Any, Any, Any]]
FIRST_BACKOFF = 0.1  # seconds before the first retry of a passing database fault
MAX_BACKOFF = 2.0
# Bot API methods that change nothing the user sees (retrying after them shows nothing twice).
_INVISIBLE = {"answercallbackquery", "getme", "getchat", "getwebhookinfo", "getfile"}


@dataclass
class UpdateCalls:
    """The Bot API calls made while handling one update."""

    update_id: int
    visible: int = 0  # messages sent or edited, documents sent, ...
    answered: bool = False  # the callback query was answered
    # A second answer is expected when the handling is tried again after a passing fault,
    # or apologises after failing: the query was answered already and is not again. Any
    # other second answer is a handler's bug, logged (the fuzz test fails on it).
    second_answer_expected: bool = False
    state: ChatState | None = None  # the chat state as read for this update
    read_snapshot: str = ""


_current: contextvars.ContextVar[UpdateCalls | None] = contextvars.ContextVar(
    "repaybot_update_calls", default=None
)


class TrackedRequest(HTTPXRequest):
    """PTB's HTTP request, noting each call against the update being handled."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        calls = _current.get()
        endpoint = url.rsplit("/", 1)[-1].lower()
        if calls is not None and endpoint == "answercallbackquery":
            if calls.answered:  # answered already: a second answer would be refused
                if not calls.second_answer_expected:
                    log.error("update %s: callback query answered twice", calls.update_id)
                return 200, json.dumps({"ok": True, "result": True}).encode()
            calls.answered = True
        elif calls is not None and endpoint not in _INVISIBLE:
            calls.visible += 1
        return await super().do_request(
            url,
            method,
            request_data,
            read_timeout=read_timeout,
            write_timeout=write_timeout,
            connect_timeout=connect_timeout,
            pool_timeout=pool_timeout,
        )


def expect_second_answer() -> None:
    """The handling of this update may answer its callback query again (an apology after
    a failure): that answer is expected, not a bug."""
    calls = _current.get()
    if calls is not None:
        calls.second_answer_expected = True


def _user_key(update: object) -> int | None:
    if isinstance(update, Update) and update.effective_user is not None:
        return update.effective_user.id
    return None


@dataclass
class _Lane:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0  # updates holding or waiting for the lock


class PerUserProcessor(BaseUpdateProcessor):
    """Concurrent across users, sequential (in arrival order) within one user.

    It also knows which updates are in hand and since when, for ``/healthz``."""

    def __init__(self, metrics: Metrics, max_concurrent_updates: int = 64) -> None:
        super().__init__(max_concurrent_updates)
        self.metrics = metrics
        self._lanes: dict[int | None, _Lane] = {}
        self._started: dict[int, float] = {}  # id(update) → monotonic start
        self.last_taken: float | None = None  # when an update was last taken from the queue
        self._created = time.monotonic()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _user_key(update)
        lane = self._lanes.setdefault(key, _Lane())
        lane.users += 1
        token = id(update)
        self._started[token] = self.last_taken = time.monotonic()
        try:
            async with lane.lock:
                started = time.monotonic()
                try:
                    await coroutine
                finally:
                    self.metrics.update_handled(update, time.monotonic() - started)
        finally:
            self._started.pop(token, None)
            lane.users -= 1
            if lane.users == 0:
                self._lanes.pop(key, None)

    def stuck(self, queued: int, threshold: float) -> str | None:
        """Why updates are not being handled, or None: one has been in hand longer than
        ``threshold`` seconds, or ``queued`` wait while none was taken for that long."""
        oldest = self.oldest_in_hand()
        if oldest is not None and oldest > threshold:
            return f"an update has been in hand for {oldest:.0f} s"
        idle = time.monotonic() - (self.last_taken or self._created)
        if queued and idle > threshold:
            return f"{queued} updates waiting, none taken for {idle:.0f} s"
        return None

    def oldest_in_hand(self) -> float | None:
        """Seconds the oldest update in hand has been waiting or running (None: none)."""
        if not self._started:
            return None
        return time.monotonic() - min(self._started.values())

    async def initialize(self) -> None:
        """Nothing to set up."""

    async def shutdown(self) -> None:
        """Nothing to release."""


async def admit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """First of every update: skip what must not be handled, load the chat state."""
    if update.edited_message is not None or update.edited_channel_post is not None:
        log.info("update %s: an edited message, not handled", update.update_id)
        raise ApplicationHandlerStop
    d = deps(context)
    user = update.effective_user
    calls = UpdateCalls(update.update_id)
    async with d.db.uow() as uow:
        if not await take_update(uow, update.update_id, d.clock()):
            log.info("update %s was taken on before: not handled again", update.update_id)
            raise ApplicationHandlerStop
        if user is not None:
            calls.state = await load_chat_state(uow, user.id)
        await uow.commit()
    _current.set(calls)
    if calls.state is not None and context.user_data is not None:
        context.user_data.clear()
        context.user_data.update(calls.state.data)
        calls.read_snapshot = calls.state.snapshot()


async def keep_state(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Last of every update: store the chat state if the handlers changed it."""
    calls = _current.get()
    if calls is None or calls.state is None or context.user_data is None:
        return
    data = dict(context.user_data)
    if not data:  # PTB keeps a dict per user in memory; the database is the one copy
        context.application.drop_user_data(calls.state.user_id)
    if json.dumps(data, sort_keys=True, ensure_ascii=False) == calls.read_snapshot:
        return
    async with deps(context).db.uow() as uow:
        stored = await save_chat_state(uow, calls.state, data)
        await uow.commit()
    if not stored:
        log.warning(
            "update %s: the chat state of user %s changed elsewhere meanwhile; kept that",
            update.update_id,
            calls.state.user_id,
        )


def resilient(callback: Callback) -> Callback:
    """``callback``, tried again after a passing database fault while the user has seen
    nothing of this attempt, for at most the configured retry time."""

    @functools.wraps(callback)
    async def run(update: Any, context: ContextTypes.DEFAULT_TYPE) -> Any:
        settings = deps(context).settings
        deadline = time.monotonic() + settings.db_retry_seconds
        delay = FIRST_BACKOFF
        while True:
            calls = _current.get()
            seen = calls.visible if calls is not None else 0
            try:
                return await callback(update, context)
            except ApplicationHandlerStop:
                raise
            except Exception as exc:
                calls = _current.get()
                shown = calls is not None and calls.visible != seen
                if shown or not is_transient(exc) or time.monotonic() + delay > deadline:
                    raise
                if calls is not None:
                    calls.second_answer_expected = True
                log.warning(
                    "update %s: passing database fault (%s); trying again in %.1f s",
                    getattr(update, "update_id", None),
                    type(exc).__name__,
                    delay,
                )
                deps(context).metrics.database_retries.inc()
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF)

    return run
