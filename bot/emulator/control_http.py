"""The user-side controls as a small JSON API under ``/_emulator/``.

For a bot running in another process: register users, write, press, block, and read
chat logs and events.  Answers are ``{"ok": true, "result": ...}`` or
``{"ok": false, "description": ...}`` with status 400.  Document bytes are base64.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.emulator.control import UserControls
from bot.emulator.errors import EmulatorError
from bot.emulator.model import Document, Event, Message


def document_json(document: Document | None) -> dict[str, Any] | None:
    if document is None:
        return None
    return {
        "file_id": document.file_id,
        "file_name": document.file_name,
        "mime_type": document.mime_type,
        "caption": document.caption,
        "size": len(document.data),
        "data_base64": base64.b64encode(document.data).decode("ascii"),
    }


def message_json(message: Message) -> dict[str, Any]:
    """A chat_log entry as JSON (bytes of documents in base64)."""
    return {
        "message_id": message.message_id,
        "text": message.text,
        "html": message.html,
        "buttons": message.buttons,
        "history": [v.__dict__ for v in message.history],
        "deleted": message.deleted,
        "document": document_json(message.document),
    }


def event_json(event: Event) -> dict[str, Any]:
    return {**event.__dict__, "document": document_json(event.document)}


def control_routes(emulator: UserControls) -> list[web.RouteDef]:
    """``/_emulator/...`` JSON endpoints over the same controls."""

    def endpoint(
        action: Callable[[dict[str, Any]], Awaitable[Any]],
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            try:
                body = await request.json() if request.can_read_body else {}
                result = await action({**request.query, **request.match_info, **body})
            except (EmulatorError, KeyError, TypeError, ValueError) as exc:
                return web.json_response({"ok": False, "description": str(exc)}, status=400)
            return web.json_response({"ok": True, "result": result})

        return handle

    async def users(a: dict[str, Any]) -> Any:
        return emulator.user(int(a.pop("user_id")), **a)

    async def groups(a: dict[str, Any]) -> Any:
        return emulator.group(int(a["chat_id"]), a["title"], type=a.get("type", "group"))

    async def send_text(a: dict[str, Any]) -> Any:
        chat_id = int(a["chat_id"]) if a.get("chat_id") is not None else None
        return await emulator.send_text(int(a["user_id"]), a["text"], chat_id)

    async def press(a: dict[str, Any]) -> Any:
        return {"query_id": await emulator.press(**{"forge": False, **a})}

    async def block(a: dict[str, Any]) -> Any:
        blocked = a.get("blocked", True)
        (emulator.block if blocked else emulator.unblock)(int(a["user_id"]))
        return True

    async def chat(a: dict[str, Any]) -> Any:
        return [message_json(m) for m in emulator.chat_log(int(a["chat_id"]))]

    async def events(a: dict[str, Any]) -> Any:
        after = int(a.get("after", 0))
        if "chat_id" in a and "timeout" in a:
            with contextlib.suppress(TimeoutError):
                chat_id, timeout = int(a["chat_id"]), float(a["timeout"])
                await emulator.wait_for_bot(chat_id, after=after, timeout=timeout)
        return [event_json(e) for e in emulator.events[after:]]

    return [
        web.post("/_emulator/users", endpoint(users)),
        web.post("/_emulator/groups", endpoint(groups)),
        web.post("/_emulator/send_text", endpoint(send_text)),
        web.post("/_emulator/press", endpoint(press)),
        web.post("/_emulator/block", endpoint(block)),
        web.get("/_emulator/chat/{chat_id}", endpoint(chat)),
        web.get("/_emulator/events", endpoint(events)),
    ]
