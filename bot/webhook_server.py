"""The webhook endpoint of ``repaybot webhook``: takes Telegram's POSTs and queues the updates.

PTB's own webhook server (tornado) reads a request body of up to 100 MB into memory
before it looks at the secret, so anyone who finds the port can make the process grow
by gigabytes. This one decides from the request line and the headers alone: the path,
then the ``X-Telegram-Bot-Api-Secret-Token`` header (compared in constant time), then
the announced length. A refused request is answered and its connection closed without
reading the body; an accepted one is read up to ``MAX_BODY`` (a body without a length,
chunked, is cut off there too). The update then goes to ``Application.update_queue``,
as PTB's server does.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kilobytes; its largest (a long message with entities and a
# reply) stay far below this.
MAX_BODY = 1024 * 1024


def _refuse(status: int, reason: str) -> web.Response:
    response = web.Response(status=status, text=reason)
    # Closing the connection is what keeps the unread body out: kept alive, aiohttp
    # would read (and drop) it before the next request.
    response.force_close()
    return response


class WebhookServer:
    """An aiohttp server with one route: POST ``path`` with the secret."""

    def __init__(
        self,
        app: Application,  # type: ignore[type-arg]
        *,
        path: str,
        secret: str,
        max_body: int = MAX_BODY,
    ) -> None:
        self.app = app
        self.path = path or "/"
        self._secret = secret.encode()
        self.max_body = max_body
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        if request.path != self.path:
            return _refuse(404, "not found")
        if request.method != "POST":
            return _refuse(405, "method not allowed")
        given = request.headers.get(SECRET_HEADER, "").encode(errors="replace")
        if not hmac.compare_digest(given, self._secret):
            log.debug("webhook request without the right secret token refused")
            return _refuse(403, "forbidden")
        length = request.content_length
        if length is not None and length > self.max_body:
            return _refuse(413, "request body too large")
        try:
            body = await request.read()  # aiohttp stops at client_max_size (chunked too)
        except web.HTTPRequestEntityTooLarge:
            return _refuse(413, "request body too large")
        try:
            data: Any = json.loads(body)
            if not isinstance(data, dict):
                raise TypeError(f"an update is a JSON object, not {type(data).__name__}")
            update = Update.de_json(data, self.app.bot)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("webhook request with an unreadable update refused: %s", exc)
            return _refuse(400, "bad update")
        await self.app.update_queue.put(update)
        return web.Response(status=200)

    async def start(self, host: str, port: int) -> None:
        server = web.Application(client_max_size=self.max_body)
        server.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(server, access_log=None)
        await self._runner.setup()
        try:
            await web.TCPSite(self._runner, host, port).start()
        except OSError:
            await self.stop()
            raise
        log.info("webhook server on http://%s:%s%s", host, port, self.path)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
