"""The user side of the emulator: people who write to the bot, press buttons, block it.

:class:`UserControls` is mixed into ``BotApiEmulator`` for in-process use (tests, the
sandbox) and also has the inspection helpers (``chat_log``, ``wait_for_bot``...);
``control_http.py`` exposes the same controls over HTTP for other processes.
"""

from __future__ import annotations

import re
import time
from typing import Any

from bot.emulator.errors import EmulatorError
from bot.emulator.model import (
    CallbackAnswer,
    CallbackQuery,
    Chat,
    Event,
    Message,
    UserInfo,
    bot_user,
)
from bot.emulator.state import EmulatorState
from bot.emulator.validate import utf16_len

_COMMAND_RE = re.compile(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])")


class UserControls:
    """User-side actions and inspection; expects ``self.state`` (mixed into the emulator)."""

    state: EmulatorState

    # -- people and chats ------------------------------------------------------------------
    def user(
        self,
        user_id: int,
        first_name: str = "Tester",
        language_code: str | None = "zh-hans",
        username: str | None = None,
        *,
        last_name: str | None = None,
        started: bool = True,
    ) -> dict[str, Any]:
        """Register a user and their private chat (chat id == user id); returns the User.

        ``started=False`` models someone the bot knows (e.g. imported) who never opened
        the chat: sends fail with 403 until the user writes.
        """
        info = UserInfo(user_id, first_name, last_name, username, language_code)
        self.state.users[user_id] = info
        chat = self.state.chats.get(user_id)
        if chat is None:
            self.state.chats[user_id] = Chat(user_id, "private", user=info, started=started)
        else:
            chat.user = info
        return info.to_dict()

    def group(self, chat_id: int, title: str, *, type: str = "group") -> dict[str, Any]:
        """Create a group (``type`` "group" or "supergroup") that the bot is a member of."""
        if type not in ("group", "supergroup") or chat_id >= 0:
            raise EmulatorError("a group needs a negative chat_id and type group/supergroup")
        chat = Chat(chat_id, type, title=title)
        self.state.chats[chat_id] = chat
        return chat.to_dict()

    def _user(self, user_id: int) -> UserInfo:
        if user_id not in self.state.users:
            raise EmulatorError(f"unknown user {user_id}: call user() first")
        return self.state.users[user_id]

    def _chat(self, user_id: int, chat_id: int | None) -> Chat:
        chat = self.state.chats.get(user_id if chat_id is None else chat_id)
        if chat is None:
            raise EmulatorError(f"unknown chat {chat_id}: call group() first")
        if chat.user is not None and chat.id != user_id:
            raise EmulatorError(f"chat {chat.id} is the private chat of another user")
        if chat.blocked:
            raise EmulatorError(f"user {user_id} blocked the bot: unblock() first")
        return chat

    # -- actions ---------------------------------------------------------------------------
    async def send_text(
        self, user_id: int, text: str, chat_id: int | None = None
    ) -> dict[str, Any]:
        """The user writes ``text``; enqueues a message Update and returns its Message."""
        user = self._user(user_id)
        chat = self._chat(user_id, chat_id)
        if not text.strip():
            raise EmulatorError("Telegram clients do not send empty messages")
        chat.started = True
        entities = []
        if match := _COMMAND_RE.match(text):
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(match[0])})
        message = self.state.add_message(chat, user.to_dict(), text, entities=entities)
        body = self.state.message_dict(message)
        self.state.enqueue("message", body)
        return body

    async def edit_text(self, user_id: int, message_id: int, text: str) -> dict[str, Any]:
        """The user edits a message they sent; enqueues an edited_message Update."""
        chat = self._chat(user_id, None)
        message = chat.messages.get(message_id)
        if message is None or message.from_bot:
            raise EmulatorError(f"no message {message_id} of user {user_id} to edit")
        message.text = text
        body = {**self.state.message_dict(message), "edit_date": self.state.now()}
        self.state.enqueue("edited_message", body)
        return body

    def redeliver(self, update_id: int) -> None:
        """Deliver an update again, as Telegram does when the bot's answer to it was lost
        (to any webhook instance) or the bot restarted before confirming it (polling)."""
        update = self.state.sent_updates.get(update_id)
        if update is None:
            raise EmulatorError(f"no update {update_id} was ever queued")
        self.state.updates.append(dict(update))
        self.state.updates.sort(key=lambda u: int(u["update_id"]))
        self.state.notify()

    async def press(
        self,
        user_id: int,
        message_id: int,
        callback_data: str | None = None,
        button_index: int | None = None,
        chat_id: int | None = None,
        *,
        forge: bool = False,
    ) -> str:
        """Press a button of a bot message (by reading-order index or by callback_data).

        ``forge=True`` sends ``callback_data`` even if no button carries it, as a
        malicious client could.  Enqueues a callback_query Update; returns its id.
        """
        user = self._user(user_id)
        chat = self._chat(user_id, chat_id)
        message = chat.messages.get(message_id)
        if message is None or not message.from_bot or message.deleted:
            raise EmulatorError(f"no bot message {message_id} in chat {chat.id}")
        if forge:
            if callback_data is None:
                raise EmulatorError("forge=True needs callback_data")
            data = callback_data
        else:
            data = _pick_button(message, callback_data, button_index)
        query_id = str(4_000_000_000_000_000 + len(self.state.queries) + 1)
        self.state.queries[query_id] = CallbackQuery(
            query_id, user_id, chat.id, message_id, data, time.monotonic()
        )
        body = {
            "id": query_id,
            "from": user.to_dict(),
            "message": self.state.message_dict(message),
            "chat_instance": str(abs(chat.id) * 31 + 7),
            "data": data,
        }
        self.state.enqueue("callback_query", body)
        return query_id

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends get 403, and the bot gets a my_chat_member update."""
        self._set_blocked(user_id, True)

    def unblock(self, user_id: int) -> None:
        """The user unblocks (restarts) the bot: kicked -> member."""
        self._set_blocked(user_id, False)

    def _set_blocked(self, user_id: int, blocked: bool) -> None:
        user = self._user(user_id)
        chat = self.state.chats[user_id]
        if chat.blocked == blocked:
            return
        chat.blocked = blocked
        statuses = ("member", "kicked") if blocked else ("kicked", "member")
        old, new = (dict[str, Any](user=bot_user(), status=status) for status in statuses)
        (new if blocked else old)["until_date"] = 0
        body = {
            "chat": chat.to_dict(),
            "from": user.to_dict(),
            "date": self.state.now(),
            "old_chat_member": old,
            "new_chat_member": new,
        }
        self.state.enqueue("my_chat_member", body)

    # -- inspection ------------------------------------------------------------------------
    @property
    def events(self) -> list[Event]:
        """Everything the bot did, in order; ``Event.seq`` starts at 1."""
        return self.state.events

    @property
    def seq(self) -> int:
        """Sequence number of the latest event (0 if none): pass as ``after=``."""
        return len(self.state.events)

    def chat_log(self, chat_id: int) -> list[Message]:
        """The bot's messages in ``chat_id`` in order (deleted ones flagged, not removed)."""
        chat = self.state.chats.get(chat_id)
        if chat is None:
            raise EmulatorError(f"unknown chat {chat_id}")
        return [m for m in chat.messages.values() if m.from_bot]

    def callback_answers(self, query_id: str) -> list[CallbackAnswer]:
        """Every answerCallbackQuery for ``query_id``, refused ones with accepted=False."""
        query = self.state.queries.get(query_id)
        return list(query.answers) if query else []

    async def wait_for_bot(
        self,
        chat_id: int,
        *,
        after: int = 0,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the test API
    ) -> list[Event]:
        """Wait for ``count`` bot sends/edits in ``chat_id`` after event ``after``; all of them."""
        ready = await self.state.wait_until(
            lambda: len(self.state.outputs(chat_id, after)) >= count, timeout
        )
        outputs = self.state.outputs(chat_id, after)
        if not ready:
            raise TimeoutError(
                f"bot sent {len(outputs)} of {count} expected outputs to chat {chat_id} "
                f"within {timeout}s; last events: {self.state.events[-5:]}"
            )
        return outputs

    async def wait_for_answer(
        self,
        query_id: str,
        timeout: float = 5.0,  # noqa: ASYNC109 - part of the test API
    ) -> CallbackAnswer:
        """Wait until the bot answered callback query ``query_id`` (accepted answer)."""

        def accepted() -> CallbackAnswer | None:
            return next((a for a in self.callback_answers(query_id) if a.accepted), None)

        if not await self.state.wait_until(lambda: accepted() is not None, timeout):
            raise TimeoutError(f"callback query {query_id} not answered within {timeout}s")
        answer = accepted()
        assert answer is not None
        return answer


def _pick_button(message: Message, callback_data: str | None, index: int | None) -> str:
    markup = message.reply_markup or {}
    flat = [button for row in markup.get("inline_keyboard", []) for button in row]
    if index is not None:
        if not 0 <= index < len(flat):
            raise EmulatorError(f"message {message.message_id} has {len(flat)} buttons")
        button = flat[index]
    elif callback_data is not None:
        matches = [b for b in flat if b.get("callback_data") == callback_data]
        if not matches:
            raise EmulatorError(f"no button with {callback_data!r}; buttons: {message.buttons}")
        button = matches[0]
    else:
        raise EmulatorError("press() needs callback_data or button_index")
    if "callback_data" not in button:
        raise EmulatorError(f"button {button['text']!r} has no callback_data")
    return str(button["callback_data"])
