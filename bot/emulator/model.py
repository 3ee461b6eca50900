"""Records of the emulated world: users, chats, messages, documents, presses, events.

Plain dataclasses (plus their Telegram JSON shapes) that ``state.py`` keeps and tests
inspect through ``chat_log``, ``events`` and ``callback_answers``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.emulator.validate import Button, buttons_of

BOT_ID = 100000
BOT_USERNAME = "repaybot_test_bot"
BOT_FIRST_NAME = "RepayBot"
OUTPUT_KINDS = frozenset({"send", "document", "edit"})


def bot_user() -> dict[str, Any]:
    """The bot's own User object (what getMe answers)."""
    return {"id": BOT_ID, "is_bot": True, "first_name": BOT_FIRST_NAME, "username": BOT_USERNAME}


@dataclass
class UserInfo:
    """A Telegram user on the user side."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if (value := getattr(self, key)) is not None:
                data[key] = value
        return data


@dataclass
class Document:
    """A file the bot sent: name, bytes and caption (plain text)."""

    file_id: str
    file_unique_id: str
    file_name: str
    data: bytes
    mime_type: str | None = None
    caption: str | None = None

    @property
    def file_path(self) -> str:
        return f"documents/{self.file_unique_id}/{self.file_name}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_name": self.file_name,
            "file_size": len(self.data),
        }
        if self.mime_type:
            data["mime_type"] = self.mime_type
        return data


@dataclass(frozen=True)
class Version:
    """A message's content before one of its edits."""

    text: str
    html: str | None
    buttons: list[list[Button]]
    edit_date: int | None


@dataclass
class Message:
    """A message in a chat (``from_bot`` tells who sent it); ``text`` is plain text."""

    message_id: int
    chat_id: int
    sender: dict[str, Any]
    date: int
    text: str
    html: str | None = None
    entities: list[dict[str, Any]] = field(default_factory=list)
    reply_markup: dict[str, Any] | None = None
    edit_date: int | None = None
    history: list[Version] = field(default_factory=list)
    deleted: bool = False
    document: Document | None = None
    reply_to: int | None = None

    @property
    def from_bot(self) -> bool:
        return bool(self.sender.get("id") == BOT_ID)

    @property
    def buttons(self) -> list[list[Button]]:
        return buttons_of(self.reply_markup)

    def snapshot(self) -> Version:
        return Version(self.text, self.html, self.buttons, self.edit_date)


@dataclass
class Chat:
    """A private chat (id == user id) or a group the bot is in."""

    id: int
    type: str
    title: str | None = None
    user: UserInfo | None = None
    blocked: bool = False
    started: bool = True
    bot_is_member: bool = True
    next_message_id: int = 1
    messages: dict[int, Message] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        if self.user is not None:
            data = self.user.to_dict()
            data.pop("is_bot")
            data.pop("language_code", None)
            return {**data, "type": self.type}
        return {"id": self.id, "type": self.type, "title": self.title}


@dataclass
class CallbackAnswer:
    """One answerCallbackQuery call; ``accepted`` is False when Telegram refused it."""

    query_id: str
    text: str | None
    show_alert: bool
    url: str | None
    cache_time: int | None
    accepted: bool
    seq: int = 0


@dataclass
class CallbackQuery:
    """A button press by a user, waiting for the bot's answer."""

    id: str
    user_id: int
    chat_id: int
    message_id: int
    data: str | None
    pressed_at: float
    answers: list[CallbackAnswer] = field(default_factory=list)


@dataclass(frozen=True)
class Event:
    """Something the bot did, in order: send, document, edit, delete, answer, action."""

    seq: int
    kind: str
    chat_id: int | None
    message_id: int | None = None
    text: str | None = None
    html: str | None = None
    buttons: list[list[Button]] = field(default_factory=list)
    document: Document | None = None
    query_id: str | None = None
    show_alert: bool = False
