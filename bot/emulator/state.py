"""The emulator's mutable state: chats, pending updates, the event log, waiting.

Synchronous bookkeeping shared by the Bot API methods and the user side on one asyncio
loop.  Waiters (long polls, tests waiting for the bot) sleep in
:meth:`EmulatorState.wait_until` and are woken by every change.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bot.emulator import errors
from bot.emulator.errors import ApiError
from bot.emulator.model import (
    OUTPUT_KINDS,
    CallbackQuery,
    Chat,
    Document,
    Event,
    Message,
    UserInfo,
)


class EmulatorState:
    """All mutable state of one emulated bot."""

    def __init__(self) -> None:
        self.users: dict[int, UserInfo] = {}
        self.chats: dict[int, Chat] = {}
        self.updates: list[dict[str, Any]] = []
        self.sent_updates: dict[int, dict[str, Any]] = {}  # every update ever queued, by id
        self.next_update_id = 1
        self.events: list[Event] = []
        self.queries: dict[str, CallbackQuery] = {}
        self.documents: dict[str, Document] = {}
        self.commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] = {}
        self.allowed_updates: list[str] = []
        self.poll_generation: dict[str, int] = {}
        self.closing = False
        self.clock: Callable[[], float] = time.time
        self._changed = asyncio.Event()
        self._counter = 0

    # -- waking ----------------------------------------------------------------------------
    def notify(self) -> None:
        """Wake every waiter so it re-checks its condition."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, ready: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until ``ready()`` is true (True) or ``timeout`` seconds pass (False)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not ready():
            remaining = deadline - loop.time()
            if remaining <= 0 or self.closing:
                return bool(ready())
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), remaining)
            except TimeoutError:
                return bool(ready())
        return True

    async def wait_for_change(self, timeout: float) -> None:  # noqa: ASYNC109
        """Sleep until the next change (``notify``) or for ``timeout`` seconds."""
        # Not asyncio.wait_for: on 3.11 it can swallow a cancellation that races a wake-up.
        waiter = asyncio.ensure_future(self._changed.wait())
        try:
            await asyncio.wait({waiter}, timeout=timeout)
        finally:
            waiter.cancel()

    def unique(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}{self._counter}"

    def now(self) -> int:
        """Unix time for message dates (``clock`` may be a virtual one)."""
        return int(self.clock())

    # -- chats -----------------------------------------------------------------------------
    def chat_for_bot(self, chat_id: object) -> Chat:
        """The chat the bot wants to act in, or the error Telegram would answer."""
        chat = self.chats.get(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise ApiError(400, errors.CHAT_NOT_FOUND)
        if chat.blocked:
            raise ApiError(403, errors.BLOCKED)
        if chat.user is not None and not chat.started:
            raise ApiError(403, errors.CANT_INITIATE)
        if chat.user is None and not chat.bot_is_member:
            raise ApiError(403, errors.NOT_A_MEMBER)
        return chat

    def add_message(self, chat: Chat, sender: dict[str, Any], text: str, **extra: Any) -> Message:
        """Store a new message in ``chat`` with the next message id."""
        message = Message(chat.next_message_id, chat.id, sender, self.now(), text, **extra)
        chat.messages[message.message_id] = message
        chat.next_message_id += 1
        return message

    def message_dict(self, message: Message, *, with_reply: bool = True) -> dict[str, Any]:
        """The Telegram Message object for ``message`` as it is now."""
        chat = self.chats[message.chat_id]
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "from": message.sender,
            "chat": chat.to_dict(),
            "date": message.date,
        }
        if message.document is not None:
            data["document"] = message.document.to_dict()
            if message.text:
                data["caption"] = message.text
                if message.entities:
                    data["caption_entities"] = message.entities
        else:
            data["text"] = message.text
            if message.entities:
                data["entities"] = message.entities
        if message.reply_markup is not None and "inline_keyboard" in message.reply_markup:
            data["reply_markup"] = message.reply_markup
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        target = chat.messages.get(message.reply_to or 0) if with_reply else None
        if target is not None:
            data["reply_to_message"] = self.message_dict(target, with_reply=False)
        return data

    # -- updates and events ----------------------------------------------------------------
    def enqueue(self, kind: str, body: dict[str, Any]) -> dict[str, Any]:
        """Queue an update of type ``kind`` (message, callback_query, ...) for the bot."""
        update = {"update_id": self.next_update_id, kind: body}
        self.sent_updates[self.next_update_id] = update
        self.next_update_id += 1
        self.updates.append(update)
        self.notify()
        return update

    def confirm(self, offset: int) -> None:
        """getUpdates' offset: forget updates below it; negative keeps the last -offset."""
        if offset < 0:
            self.updates = self.updates[offset:]
        else:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]

    def deliverable(self, limit: int) -> list[dict[str, Any]]:
        """Pending updates of an allowed type, oldest first (others are dropped)."""
        if self.allowed_updates:
            self.updates = [u for u in self.updates if any(k in u for k in self.allowed_updates)]
        return self.updates[:limit]

    def emit(self, kind: str, chat_id: int | None, **fields: Any) -> Event:
        """Log something the bot did and wake waiters."""
        event = Event(len(self.events) + 1, kind, chat_id, **fields)
        self.events.append(event)
        self.notify()
        return event

    def emit_message(self, kind: str, message: Message) -> Event:
        return self.emit(
            kind,
            message.chat_id,
            message_id=message.message_id,
            text=message.text,
            html=message.html,
            buttons=message.buttons,
            document=message.document,
        )

    def outputs(self, chat_id: int, after: int) -> list[Event]:
        """The bot's sends and edits in ``chat_id`` with a sequence number above ``after``."""
        return [
            e
            for e in self.events[after:]
            if e.chat_id == chat_id and e.kind in OUTPUT_KINDS and e.seq > after
        ]
