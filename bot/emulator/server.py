"""HTTP front of the emulator: ``BotApiEmulator`` serves the Bot API on loopback.

Routes ``/bot<token>/<method>`` (JSON, url-encoded or multipart bodies, as PTB sends
them), ``/file/bot<token>/<path>`` (downloads) and the ``/_emulator/`` control API.
Every call is recorded in ``calls``; injected faults and flood control apply first.
While a webhook is set, updates are POSTed to it (``webhook.py``) instead.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from bot.emulator import errors
from bot.emulator.api import Registry, Request, Upload
from bot.emulator.control import UserControls
from bot.emulator.control_http import control_routes
from bot.emulator.errors import ApiError
from bot.emulator.faults import Faults, RateLimits
from bot.emulator.loopback import check_loopback
from bot.emulator.messaging import MESSAGE_METHODS
from bot.emulator.methods import BOT_METHODS
from bot.emulator.model import bot_user
from bot.emulator.state import EmulatorState
from bot.emulator.webhook import Delivery, WebhookDelivery, webhook_routes

TOKEN_RE = re.compile(r"\d+:[A-Za-z0-9_-]+")
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
    }
)
MAX_BODY = 60 * 1024 * 1024
logger = logging.getLogger(__name__)
METHODS = Registry({**BOT_METHODS, **MESSAGE_METHODS})


@dataclass(frozen=True)
class Call:
    """One Bot API request and the answer it got."""

    method: str
    params: dict[str, Any]
    status: int
    response: dict[str, Any]
    files: dict[str, tuple[str, int]] = field(default_factory=dict)


async def read_params(request: web.Request) -> tuple[dict[str, Any], dict[str, Upload]]:
    """Query string plus JSON, url-encoded or multipart body; file parts separately."""
    params: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
    if not request.can_read_body:
        return params, files
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise errors.bad_request("can't parse JSON encoded request body") from None
        if not isinstance(body, dict):
            raise errors.bad_request("JSON object expected as request body")
        params.update(body)
        return params, files
    for key, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            files[key] = Upload(value.filename, value.file.read(), value.content_type)
        else:
            params[key] = value
    return params, files


def decoded(params: dict[str, Any]) -> dict[str, Any]:
    """``params`` with the JSON-encoded fields decoded, for assertions on ``calls``."""
    result = dict(params)
    for key in JSON_PARAMS & result.keys():
        if isinstance(result[key], str):
            with contextlib.suppress(ValueError):
                result[key] = json.loads(result[key])
    return result


class BotApiEmulator(UserControls):
    """A local Telegram Bot API for one bot (any ``<digits>:<chars>`` token is accepted).

    ``proxy`` plays the reverse proxy in front of webhook bots: ``{"https://bot.example.test":
    ["http://127.0.0.1:PORT1", ...]}`` sends webhook requests for URLs under that prefix to
    the loopback backends in turn; ``webhook_retry_delay`` is the first wait before a failed
    delivery is retried (doubling with each failure).
    """

    def __init__(
        self,
        *,
        callback_timeout: float = 15.0,
        clock: Callable[[], float] = time.time,
        proxy: Mapping[str, Sequence[str]] | None = None,
        webhook_retry_delay: float = 0.5,
    ) -> None:
        self.state = EmulatorState()
        self.state.clock = clock
        self.webhooks = WebhookDelivery(self.state, retry_delay=webhook_retry_delay)
        self.webhooks.set_proxy(proxy or {})
        self.faults = Faults()
        self.calls: list[Call] = []
        self.callback_timeout = callback_timeout
        self.bot: dict[str, Any] = bot_user()
        self._runner: web.AppRunner | None = None
        self._root = ""

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (loopback only; port 0 picks a free one)."""
        if self._runner is not None:
            raise RuntimeError("emulator already started")
        address = check_loopback(host)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port))
        except OSError:
            sock.close()
            raise
        app = web.Application(client_max_size=MAX_BODY)
        app.add_routes(control_routes(self))
        app.add_routes(webhook_routes(self.webhooks))
        app.add_routes(
            [
                web.route("*", "/bot{token}/{method}", self._handle_api),
                web.get("/file/bot{token}/{path:.+}", self._handle_file),
            ]
        )
        self.state.closing = False
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.SockSite(runner, sock).start()
        self._runner = runner
        await self.webhooks.start()
        shown = f"[{address}]" if family == socket.AF_INET6 else address
        self._root = f"http://{shown}:{sock.getsockname()[1]}"

    async def stop(self) -> None:
        """Answer pending long polls and close the server."""
        if self._runner is None:
            return
        self.state.closing = True
        self.state.notify()
        runner, self._runner = self._runner, None
        await self.webhooks.stop()
        await runner.cleanup()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:PORT`` (the control API is under it)."""
        if not self._root:
            raise RuntimeError("emulator not started")
        return self._root

    @property
    def base_url(self) -> str:
        """For ``ApplicationBuilder().base_url``: PTB appends the token and ``/method``."""
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        """For ``ApplicationBuilder().base_file_url``."""
        return f"{self.url}/file/bot"

    # -- webhook ---------------------------------------------------------------------------
    def set_proxy(self, routes: Mapping[str, Sequence[str]]) -> None:
        """Replace the reverse-proxy table (public URL prefix -> loopback backends)."""
        self.webhooks.set_proxy(routes)

    @property
    def deliveries(self) -> list[Delivery]:
        """Every webhook request made, in order, with its HTTP status (None: no answer)."""
        return self.webhooks.deliveries

    # -- faults ----------------------------------------------------------------------------
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
        """Make the next ``times`` calls of ``method`` ("*" = any) fail and/or answer late.

        ``status=None, delay=s`` sleeps then answers normally (the call still takes effect,
        as with a real timeout); a status answers that error, with a default description.
        """
        self.faults.inject(
            method,
            status=status,
            description=description,
            retry_after=retry_after,
            delay=delay,
            times=times,
        )

    def rate_limit(
        self,
        per_second: float | None = 30,
        per_chat_per_second: float | None = 1,
        *,
        enabled: bool = True,
    ) -> None:
        """Enforce flood control on send/edit methods (429 + retry_after); off by default."""
        self.faults.limits = RateLimits(per_second, per_chat_per_second) if enabled else None

    # -- HTTP ------------------------------------------------------------------------------
    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        name = request.match_info["method"]
        entry = METHODS.get(name.lower())
        method = entry[0] if entry else name
        params: dict[str, Any] = {}
        files: dict[str, Upload] = {}
        try:
            if not TOKEN_RE.fullmatch(token):
                raise ApiError(401, errors.UNAUTHORIZED)
            params, files = await read_params(request)
            await self.faults.apply(method)
            if entry is None:
                raise ApiError(404, errors.NOT_FOUND)
            self.faults.check_rate(method, params.get("chat_id"))

            def client_gone() -> bool:
                return request.transport is None or request.transport.is_closing()

            call = Request(self.state, token, params, files, self.callback_timeout, client_gone)
            status, body = 200, {"ok": True, "result": await entry[1](call)}
        except ApiError as exc:
            status, body = exc.status, exc.body()
        except Exception as exc:  # a bug in the emulator: answer like a broken server would
            logger.exception("emulator failed on %s", method)
            status, body = 500, ApiError(500, f"Internal Server Error: {exc!r}").body()
        uploads = {k: (f.filename, len(f.data)) for k, f in files.items()}
        self.calls.append(Call(method, decoded(params), status, body, uploads))
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if not TOKEN_RE.fullmatch(request.match_info["token"]):
            return web.json_response(ApiError(401, errors.UNAUTHORIZED).body(), status=401)
        path = request.match_info["path"]
        for document in self.state.documents.values():
            if document.file_path == path:
                content_type = (document.mime_type or "application/octet-stream").split(";")[0]
                return web.Response(body=document.data, content_type=content_type)
        return web.json_response(ApiError(404, errors.NOT_FOUND).body(), status=404)
