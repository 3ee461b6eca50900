"""Webhook delivery: POSTs with the secret header, retries, per-chat order, the proxy."""

from __future__ import annotations

import asyncio
from collections import Counter, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import Bot
from telegram.error import BadRequest, Conflict

from bot.emulator import BotApiEmulator

TOKEN = "123:ABC"
ALICE, BOB = 1001, 1002
PUBLIC = "https://bot.example.test"
HOOK = f"{PUBLIC}/tg"
SECRET = "s3cret_-Token"


class Backend:
    """A tiny webhook receiver: records every request, answers the next scripted status."""

    def __init__(self, statuses: Iterable[int] = (), delay: float = 0.0) -> None:
        self.statuses = deque(statuses)
        self.delay = delay
        self.received: list[dict[str, Any]] = []
        self.in_flight: Counter[int] = Counter()
        self.most_per_chat = 0
        self.most_at_once = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        update = await request.json()
        chat = update["message"]["chat"]["id"] if "message" in update else 0
        self.received.append(
            {
                "path": request.path,
                "secret": request.headers.get("X-Telegram-Bot-Api-Secret-Token"),
                "update": update,
            }
        )
        self.in_flight[chat] += 1
        self.most_per_chat = max(self.most_per_chat, self.in_flight[chat])
        self.most_at_once = max(self.most_at_once, sum(self.in_flight.values()))
        await asyncio.sleep(self.delay)
        self.in_flight[chat] -= 1
        return web.Response(status=self.statuses.popleft() if self.statuses else 200)

    def texts(self, chat: int | None = None) -> list[str]:
        return [
            r["update"]["message"]["text"]
            for r in self.received
            if chat is None or r["update"]["message"]["chat"]["id"] == chat
        ]

    async def start(self) -> Backend:
        app = web.Application()
        app.router.add_post("/{path:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
async def backend_factory() -> AsyncIterator[Callable[..., Awaitable[Backend]]]:
    started: list[Backend] = []

    async def make(statuses: Iterable[int] = (), delay: float = 0.0) -> Backend:
        backend = await Backend(statuses, delay).start()
        started.append(backend)
        return backend

    yield make
    for backend in started:
        await backend.stop()


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    """An emulator retrying failed deliveries quickly, with Alice and Bob."""
    async with BotApiEmulator(webhook_retry_delay=0.05) as emu:
        emu.user(ALICE, "Alice", language_code="en")
        emu.user(BOB, "Bob", language_code="en")
        yield emu


async def set_webhook(emulator: BotApiEmulator, **kwargs: Any) -> None:
    async with Bot(TOKEN, base_url=emulator.base_url) as bot:
        assert await bot.set_webhook(HOOK, **kwargs)


async def webhook_info(emulator: BotApiEmulator) -> Any:
    async with Bot(TOKEN, base_url=emulator.base_url) as bot:
        return await bot.get_webhook_info()


async def wait_for(emulator: BotApiEmulator, ready: Callable[[], bool]) -> None:
    assert await emulator.state.wait_until(ready, 5), emulator.deliveries


async def test_an_update_is_posted_with_the_secret_header(
    emulator: BotApiEmulator, backend_factory: Callable[..., Awaitable[Backend]]
) -> None:
    backend = await backend_factory()
    emulator.set_proxy({PUBLIC: [backend.url]})
    await set_webhook(emulator, secret_token=SECRET)
    sent = await emulator.send_text(ALICE, "hello")
    await wait_for(emulator, lambda: len(emulator.deliveries) == 1)
    [request] = backend.received
    assert request["path"] == "/tg"
    assert request["secret"] == SECRET
    assert request["update"]["message"] == sent
    [delivery] = emulator.deliveries
    assert (delivery.status, delivery.attempt, delivery.with_secret) == (200, 1, True)
    assert delivery.url == f"{backend.url}/tg"
    assert delivery.chat_id == ALICE
    info = await webhook_info(emulator)
    assert info.url == HOOK
    assert info.pending_update_count == 0


async def test_without_a_secret_there_is_no_header(
    emulator: BotApiEmulator, backend_factory: Callable[..., Awaitable[Backend]]
) -> None:
    backend = await backend_factory()
    emulator.set_proxy({PUBLIC: [backend.url]})
    await set_webhook(emulator)
    await emulator.send_text(ALICE, "hello")
    await wait_for(emulator, lambda: len(emulator.deliveries) == 1)
    assert backend.received[0]["secret"] is None
    assert emulator.deliveries[0].with_secret is False


async def test_non_2xx_answers_are_retried_until_accepted(
    emulator: BotApiEmulator, backend_factory: Callable[..., Awaitable[Backend]]
) -> None:
    backend = await backend_factory(statuses=[500, 403, 200])
    emulator.set_proxy({PUBLIC: [backend.url]})
    await set_webhook(emulator, secret_token=SECRET)
    await emulator.send_text(ALICE, "pay")
    await wait_for(emulator, lambda: any(d.ok for d in emulator.deliveries))
    assert [(d.attempt, d.status) for d in emulator.deliveries] == [(1, 500), (2, 403), (3, 200)]
    assert len({r["update"]["update_id"] for r in backend.received}) == 1
    gaps = [b.at - a.at for a, b in zip(emulator.deliveries, emulator.deliveries[1:], strict=False)]
    assert gaps[1] > gaps[0] * 1.2  # the wait grows with each failure
    info = await webhook_info(emulator)
    assert info.pending_update_count == 0
    assert info.last_error_message == "Wrong response from the webhook: 403 Forbidden"


async def test_one_chat_in_order_one_at_a_time_chats_in_parallel(
    emulator: BotApiEmulator, backend_factory: Callable[..., Awaitable[Backend]]
) -> None:
    # Alice's first update fails once: her later ones must wait for it, Bob's need not.
    backend = await backend_factory(statuses=[503], delay=0.1)
    emulator.set_proxy({PUBLIC: [backend.url]})
    for n in range(3):
        await emulator.send_text(ALICE, f"a{n}")
    for n in range(3):
        await emulator.send_text(BOB, f"b{n}")
    await set_webhook(emulator)  # the six updates were waiting: delivery starts now
    await wait_for(emulator, lambda: sum(d.ok for d in emulator.deliveries) == 6)
    assert backend.texts(ALICE) == ["a0", "a0", "a1", "a2"]
    assert backend.texts(BOB) == ["b0", "b1", "b2"]
    assert backend.most_per_chat == 1
    assert backend.most_at_once == 2


async def test_max_connections_limits_parallel_chats(
    emulator: BotApiEmulator, backend_factory: Callable[..., Awaitable[Backend]]
) -> None:
    backend = await backend_factory(delay=0.05)
    emulator.set_proxy({PUBLIC: [backend.url]})
    for user in (ALICE, BOB):
        await emulator.send_text(user, "hi")
    await set_webhook(emulator, max_connections=1)
    await wait_for(emulator, lambda: len(emulator.deliveries) == 2)
    assert backend.most_at_once == 1
    assert (await webhook_info(emulator)).max_connections == 1


async def test_the_proxy_takes_backends_in_turn_and_a_dead_one_is_retried_elsewhere(
    emulator: BotApiEmulator, backend_factory: Callable[..., Awaitable[Backend]]
) -> None:
    first, second = await backend_factory(), await backend_factory()
    emulator.set_proxy({PUBLIC: [first.url, second.url]})
    await set_webhook(emulator, secret_token=SECRET)
    for n in range(4):
        await emulator.send_text(ALICE, f"m{n}")
    await wait_for(emulator, lambda: len(emulator.deliveries) == 4)
    assert first.texts() == ["m0", "m2"]
    assert second.texts() == ["m1", "m3"]
    assert {r["secret"] for r in first.received + second.received} == {SECRET}
    await second.stop()
    for n in range(4, 6):
        await emulator.send_text(ALICE, f"m{n}")
    await wait_for(emulator, lambda: sum(d.ok for d in emulator.deliveries) == 6)
    assert first.texts() == ["m0", "m2", "m4", "m5"]
    failed = [d for d in emulator.deliveries if not d.ok]
    assert failed
    assert all(d.status is None and d.url.startswith(second.url) for d in failed)
    assert all("Connect" in (d.error or "") for d in failed)


async def test_a_url_no_proxy_covers_is_never_called(emulator: BotApiEmulator) -> None:
    await set_webhook(emulator)
    await emulator.send_text(ALICE, "hi")
    await wait_for(emulator, lambda: len(emulator.deliveries) >= 2)
    assert all(
        d.status is None and "no proxy route" in (d.error or "") for d in emulator.deliveries
    )
    assert (await webhook_info(emulator)).pending_update_count == 1


async def test_polling_is_refused_while_a_webhook_is_set(
    emulator: BotApiEmulator, backend_factory: Callable[..., Awaitable[Backend]]
) -> None:
    backend = await backend_factory()
    emulator.set_proxy({PUBLIC: [backend.url]})
    async with Bot(TOKEN, base_url=emulator.base_url) as bot:
        long_poll = asyncio.create_task(bot.get_updates(timeout=3, read_timeout=5))
        await asyncio.sleep(0.2)
        assert await bot.set_webhook(HOOK)
        with pytest.raises(Conflict, match="webhook is active"):
            await long_poll  # the poll in progress ends; the webhook gets the updates
        await emulator.send_text(ALICE, "only once")
        await wait_for(emulator, lambda: len(emulator.deliveries) == 1)
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        assert backend.texts() == ["only once"]
        with pytest.raises(BadRequest, match="Secret token contains unallowed characters"):
            await bot.set_webhook(HOOK, secret_token="no spaces allowed")
        assert await bot.set_webhook("")  # an empty URL removes the webhook
        assert await bot.get_updates() == ()


async def test_the_proxy_and_deliveries_over_http(
    emulator: BotApiEmulator, backend_factory: Callable[..., Awaitable[Backend]]
) -> None:
    backend = await backend_factory()
    control = f"{emulator.url}/_emulator"
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{control}/proxy", json={PUBLIC: ["http://10.0.0.1:80"]}) as bad:
            assert bad.status == 400
            assert "loopback only" in (await bad.json())["description"]
        async with http.post(f"{control}/proxy", json={PUBLIC: [backend.url]}) as good:
            assert (await good.json())["result"] == {PUBLIC: [backend.url]}
        await set_webhook(emulator, secret_token=SECRET)
        await emulator.send_text(BOB, "over http")
        await wait_for(emulator, lambda: len(emulator.deliveries) == 1)
        async with http.get(f"{control}/deliveries", params={"after": "0"}) as answer:
            [delivery] = (await answer.json())["result"]
    assert delivery["status"] == 200
    assert delivery["chat_id"] == BOB
    assert delivery["url"] == f"{backend.url}/tg"
    assert backend.texts(BOB) == ["over http"]
