"""Webhook delivery: while a webhook is set, the emulator POSTs the pending updates to it.

As Telegram does: one update per request, as JSON, with the ``X-Telegram-Bot-Api-Secret-Token``
header when setWebhook had a ``secret_token``; an update is forgotten only when the answer is
2xx, and is retried later (with a growing delay) otherwise.  Updates of one chat go one at a
time and in order; different chats go in parallel, up to the webhook's ``max_connections``.

Telegram calls only https URLs while a bot behind a reverse proxy listens on plain http, so
the ``proxy`` table plays that proxy: a public URL prefix is rewritten to one of its loopback
backends, taken in turn (that is how several instances share the traffic).  A backend that
is down fails the attempt (unlike nginx, the same request is not tried on the next backend);
the retry goes to the next one.  The emulator never leaves loopback: a webhook URL that no
prefix covers fails every attempt with an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.emulator.loopback import check_backend
from bot.emulator.state import EmulatorState

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_MAX_CONNECTIONS = 40


@dataclass(frozen=True)
class Delivery:
    """One POST of one update (``attempt`` counts from 1) and how it went."""

    update_id: int
    chat_id: int | None
    url: str  # where the request went: the backend, once the proxy rewrote the URL
    attempt: int
    status: int | None  # None: no HTTP answer (refused, timed out, no proxy route)
    error: str | None
    with_secret: bool
    at: float

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def chat_of(update: Mapping[str, Any]) -> int | None:
    """The chat (or, without one, the user) an update belongs to, for per-chat ordering."""
    for kind, body in update.items():
        if kind == "update_id" or not isinstance(body, dict):
            continue
        chat = body.get("chat") or (body.get("message") or {}).get("chat")
        if isinstance(chat, dict) and "id" in chat:
            return int(chat["id"])
        sender = body.get("from")
        if isinstance(sender, dict) and "id" in sender:
            return int(sender["id"])
    return None


class WebhookDelivery:
    """Runs while the emulator runs; POSTs pending updates whenever a webhook is set."""

    def __init__(
        self,
        state: EmulatorState,
        *,
        retry_delay: float = 0.5,
        max_retry_delay: float = 8.0,
        timeout: float = 10.0,
    ) -> None:
        self.state = state
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._routes: dict[str, tuple[list[str], Iterator[int]]] = {}
        self._busy: set[Hashable] = set()
        self._not_before: dict[Hashable, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop_task: asyncio.Task[None] | None = None
        self._session: aiohttp.ClientSession | None = None

    # -- the proxy -------------------------------------------------------------------------
    def set_proxy(self, routes: Mapping[str, Sequence[str]]) -> None:
        """Replace the proxy table: public URL prefix -> loopback backends (round-robin)."""
        table: dict[str, tuple[list[str], Iterator[int]]] = {}
        for prefix, backends in routes.items():
            if isinstance(backends, str) or not backends:
                raise ValueError(f"proxy prefix {prefix!r} needs a list of backend URLs")
            checked = [check_backend(b) for b in backends]
            table[prefix.rstrip("/")] = (checked, itertools.cycle(range(len(checked))))
        self._routes = table

    @property
    def proxy(self) -> dict[str, list[str]]:
        return {prefix: list(backends) for prefix, (backends, _) in self._routes.items()}

    def route(self, url: str) -> str | None:
        """The backend URL for a webhook URL (longest matching prefix), or None."""
        for prefix in sorted(self._routes, key=len, reverse=True):
            rest = url[len(prefix) :]
            if url.startswith(prefix) and (not rest or rest[0] in "/?#"):
                backends, turn = self._routes[prefix]
                return backends[next(turn)] + rest
        return None

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        self._loop_task = asyncio.create_task(self._run(), name="emulator-webhook")

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loop_task = None
        self._busy.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- delivering ------------------------------------------------------------------------
    async def _run(self) -> None:
        while True:
            wake_in = self._dispatch()
            await self.state.wait_for_change(wake_in)

    def _dispatch(self) -> float:
        """Start a POST for every chat that may take one; seconds until a retry is due."""
        url = str(self.state.webhook.get("url") or "")
        if not url:
            return 60.0
        limit = max_connections(self.state.webhook)
        now = time.monotonic()
        seen: set[Hashable] = set()
        wake_in = 60.0
        for update in self.state.deliverable(len(self.state.updates)):
            chat_id = chat_of(update)
            key: Hashable = ("update", update["update_id"]) if chat_id is None else chat_id
            if key in seen:
                continue  # an older update of this chat is still pending
            seen.add(key)
            due = self._not_before.get(key, 0.0)
            if due > now:
                wake_in = min(wake_in, due - now)
                continue
            if key in self._busy:
                continue
            if len(self._busy) >= limit:
                break
            self._busy.add(key)
            task = asyncio.create_task(self._deliver(update, chat_id, key, url))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return max(wake_in, 0.01)

    async def _deliver(
        self, update: dict[str, Any], chat_id: int | None, key: Hashable, url: str
    ) -> None:
        secret = self.state.webhook.get("secret_token")
        attempt = 1 + sum(1 for d in self.deliveries if d.update_id == update["update_id"])
        target = self.route(url)
        status: int | None = None
        error: str | None = None
        try:
            if target is None:
                error = f"no proxy route for {url}: the emulator only calls loopback backends"
            else:
                status, error = await self._post(target, update, secret)
        finally:
            self._busy.discard(key)
        delivery = Delivery(
            update["update_id"],
            chat_id,
            target or url,
            attempt,
            status,
            error,
            bool(secret),
            time.time(),
        )
        self.deliveries.append(delivery)
        if delivery.ok:
            self._not_before.pop(key, None)
            done = update["update_id"]
            self.state.updates = [u for u in self.state.updates if u["update_id"] != done]
        else:
            delay = min(self.retry_delay * 2 ** (attempt - 1), self.max_retry_delay)
            self._not_before[key] = time.monotonic() + delay
            reason = f"{status} {error or ''}".strip() if status else error
            self.state.webhook["last_error_date"] = self.state.now()
            self.state.webhook["last_error_message"] = f"Wrong response from the webhook: {reason}"
        self.state.notify()

    async def _post(
        self, target: str, update: dict[str, Any], secret: object
    ) -> tuple[int | None, str | None]:
        assert self._session is not None
        headers = {SECRET_HEADER: str(secret)} if secret else {}
        try:
            async with self._session.post(target, json=update, headers=headers) as response:
                await response.read()
                return response.status, None if response.status < 300 else response.reason
        except (aiohttp.ClientError, TimeoutError) as exc:
            return None, f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def max_connections(webhook: Mapping[str, Any]) -> int:
    """setWebhook's ``max_connections`` (1-100, default 40)."""
    try:
        value = int(webhook.get("max_connections") or DEFAULT_MAX_CONNECTIONS)
    except (TypeError, ValueError):
        value = DEFAULT_MAX_CONNECTIONS
    return min(max(value, 1), 100)


def webhook_routes(delivery: WebhookDelivery) -> list[web.RouteDef]:
    """``/_emulator/proxy`` (GET, or POST a ``{prefix: [backend, ...]}`` table) and
    ``/_emulator/deliveries?after=N``, for a bot in another process."""

    async def get_proxy(request: web.Request) -> web.Response:
        return web.json_response({"ok": True, "result": delivery.proxy})

    async def set_proxy(request: web.Request) -> web.Response:
        try:
            table = await request.json()
            if not isinstance(table, dict):
                raise ValueError("a JSON object {prefix: [backend URL, ...]} is expected")
            delivery.set_proxy(table)
        except ValueError as exc:
            return web.json_response({"ok": False, "description": str(exc)}, status=400)
        return web.json_response({"ok": True, "result": delivery.proxy})

    async def deliveries(request: web.Request) -> web.Response:
        after = request.query.get("after", "0")
        start = int(after) if after.isdigit() else 0
        done = [dataclasses.asdict(d) for d in delivery.deliveries[start:]]
        return web.json_response({"ok": True, "result": done})

    return [
        web.get("/_emulator/proxy", get_proxy),
        web.post("/_emulator/proxy", set_proxy),
        web.get("/_emulator/deliveries", deliveries),
    ]
