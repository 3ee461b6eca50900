"""The HTTP side: loopback only, raw encodings, the /_emulator control API, ``__main__``."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
from typing import Any

import aiohttp
import pytest
from telegram import Update
from telegram.ext import Application, CommandHandler, ContextTypes

from bot.emulator import BotApiEmulator

ALICE = 1001  # registered by the emulator fixture (conftest.py)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com", ""])
async def test_only_loopback_can_be_bound(host: str) -> None:
    emulator = BotApiEmulator()
    with pytest.raises(ValueError, match="loopback only"):
        await emulator.start(host=host)


# IPv4 loopback addresses exist on every machine; ::1 is accepted by the same check but
# not bound here, as not every CI machine has IPv6 loopback.
@pytest.mark.parametrize("host", ["localhost", "127.0.0.2"])
async def test_loopback_addresses_work(host: str) -> None:
    async with aiohttp.ClientSession() as http:
        emulator = BotApiEmulator()
        await emulator.start(host=host)
        try:
            async with http.get(f"{emulator.base_url}1:x/getMe") as response:
                assert (await response.json())["result"]["username"] == "repaybot_test_bot"
        finally:
            await emulator.stop()


async def post(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, Any]:
    async with http.post(url, **kwargs) as response:
        return response.status, await response.json()


async def test_raw_encodings_and_case_blind_methods(emulator: BotApiEmulator) -> None:
    base = f"{emulator.base_url}42:secret"
    markup = {"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}
    async with aiohttp.ClientSession() as http:
        status, body = await post(
            http,
            f"{base}/SENDMESSAGE",
            json={"chat_id": ALICE, "text": "json", "reply_markup": markup},
        )
        assert status == 200
        assert body["result"]["reply_markup"] == markup
        form = {"chat_id": str(ALICE), "text": "form", "reply_markup": json.dumps(markup)}
        status, body = await post(http, f"{base}/sendmessage", data=form)
        assert status == 200
        assert body["result"]["text"] == "form"
        async with http.get(
            f"{base}/sendMessage", params={"chat_id": ALICE, "text": "query"}
        ) as response:
            assert response.status == 200
        status, body = await post(http, f"{emulator.base_url}nodigits/getMe")
        assert (status, body) == (
            401,
            {"ok": False, "error_code": 401, "description": "Unauthorized"},
        )
        status, body = await post(http, f"{base}/frobnicate")
        assert (status, body["description"]) == (404, "Not Found")
        status, body = await post(
            http,
            f"{base}/sendMessage",
            json={"chat_id": ALICE, "text": "x", "reply_markup": "{oops"},
        )
        assert status == 400
        assert "can't parse reply_markup" in body["description"]
    assert [m.text for m in emulator.chat_log(ALICE)] == ["json", "form", "query"]
    assert [c.method for c in emulator.calls][:3] == ["sendMessage"] * 3


async def greet(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with a button so the test can press it over HTTP."""
    assert update.effective_message is not None
    assert update.effective_user is not None
    await update.effective_message.reply_text(f"hi {update.effective_user.first_name}")


async def test_control_api_drives_the_bot(emulator: BotApiEmulator, app: Application) -> None:
    app.add_handler(CommandHandler("start", greet))
    control = f"{emulator.url}/_emulator"
    async with aiohttp.ClientSession() as http:
        status, body = await post(
            http,
            f"{control}/users",
            json={"user_id": 77, "first_name": "Bo", "language_code": "en"},
        )
        assert status == 200
        assert body["result"]["id"] == 77
        status, body = await post(
            http, f"{control}/send_text", json={"user_id": 77, "text": "/start"}
        )
        assert status == 200
        assert body["result"]["text"] == "/start"
        async with http.get(
            f"{control}/events", params={"after": 0, "chat_id": 77, "timeout": 5}
        ) as response:
            [event] = (await response.json())["result"]
        assert (event["kind"], event["text"], event["seq"]) == ("send", "hi Bo", 1)
        async with http.get(f"{control}/chat/77") as response:
            [message] = (await response.json())["result"]
        assert message["text"] == "hi Bo"
        assert message["deleted"] is False

        sent = await app.bot.send_document(77, b"\x00\x01csv", filename="a.csv")
        async with http.get(f"{control}/chat/77") as response:
            document = (await response.json())["result"][-1]["document"]
        assert base64.b64decode(document["data_base64"]) == b"\x00\x01csv"

        status, body = await post(
            http,
            f"{control}/press",
            json={"user_id": 77, "message_id": sent.message_id, "callback_data": "nope"},
        )
        assert status == 400
        assert "no button" in body["description"]
        status, body = await post(http, f"{control}/block", json={"user_id": 77})
        assert status == 200
        status, body = await post(http, f"{control}/send_text", json={"user_id": 77, "text": "hi"})
        assert status == 400
        assert "blocked" in body["description"]
        status, _ = await post(http, f"{control}/block", json={"user_id": 77, "blocked": False})
        assert status == 200
        status, body = await post(http, f"{control}/groups", json={"chat_id": -5, "title": "G"})
        assert body["result"] == {"id": -5, "type": "group", "title": "G"}


async def test_main_serves_standalone() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.emulator",
        "--port",
        "0",
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = (await asyncio.wait_for(process.stdout.readline(), 10)).decode().strip()
        assert line.startswith("base_url: http://127.0.0.1:")
        base_url = line.removeprefix("base_url: ")
        async with aiohttp.ClientSession() as http, http.get(f"{base_url}1:a/getMe") as response:
            assert (await response.json())["result"]["id"] == 100000
    finally:
        process.terminate()
        await process.wait()


async def test_main_refuses_other_hosts() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.emulator",
        "--host",
        "0.0.0.0",
        "--port",
        "0",
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), 10)
    assert process.returncode == 2
    assert b"loopback only" in stderr
