"""The contract between ``server.py`` and the Bot API method handlers.

A handler is ``async def h(req: Request) -> result``: it reads the call's parameters
through :class:`Request` (which accepts both PTB's form encoding, where every value is a
string and objects are JSON strings, and plain JSON bodies) and returns the ``result``
of a successful answer, or raises ``ApiError``.  :class:`Registry` maps names to handlers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.emulator.errors import bad_request
from bot.emulator.model import Chat
from bot.emulator.state import EmulatorState


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    filename: str
    data: bytes
    content_type: str | None


@dataclass
class Request:
    """One Bot API call: parameters (strings from forms, JSON values from JSON bodies)."""

    state: EmulatorState
    token: str
    params: dict[str, Any]
    files: dict[str, Upload] = field(default_factory=dict)
    callback_timeout: float = 15.0
    client_gone: Callable[[], bool] = lambda: False

    def get_str(self, name: str) -> str | None:
        value = self.params.get(name)
        return None if value is None else str(value)

    def get_int(self, name: str, *, empty: str | None = None) -> int | None:
        value = self.params.get(name)
        if value is None or value == "":
            if empty is not None:
                raise bad_request(empty)
            return None
        if isinstance(value, bool) or not re.fullmatch(r"-?\d+", str(value)):
            raise bad_request(f"invalid {name} specified")
        return int(value)

    def get_bool(self, name: str) -> bool:
        return self.params.get(name) in (True, "true", "True", "1", 1)

    def get_json(self, name: str) -> Any:
        value = self.params.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise bad_request(f"can't parse {name} JSON object") from None
        return value

    def chat(self) -> Chat:
        chat_id = self.params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str) and re.fullmatch(r"-?\d+", chat_id):
            chat_id = int(chat_id)
        return self.state.chat_for_bot(chat_id)


Handler = Callable[["Request"], Awaitable[Any]]


class Registry(dict[str, tuple[str, Handler]]):
    """lower-case method name -> (canonical name, handler); Bot API names are case-blind."""

    def __call__(self, name: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self[name.lower()] = (name, handler)
            return handler

        return register
