"""`repaybot bank` as a process, as an operator runs it, and a receiver of its notifications.

``BankProcess`` starts the real command on a free loopback port (``--port 0``; the port
is read from the line it prints) with a database in the test's folder. ``Receiver`` is
the bot's side in miniature: an aiohttp endpoint that verifies each notification's
signature and answers with whatever status the test scripts.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from core.gateway.bank.signing import BadSignature, verify

SECRET = "test-secret-0123456789abcdef"
_LISTENING = re.compile(r"listening on (http://\S+)")


class BankProcess:
    def __init__(self, database: Path, *flags: str) -> None:
        self.database = database
        self.flags = flags
        self.process: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self) -> BankProcess:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env.pop("GATEWAY_SECRET", None)
        command = [sys.executable, "-m", "bot.cli", "bank", "--port", "0"]
        command += ["--db", str(self.database), "--secret", SECRET, *self.flags]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=self.database.parent,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # blocks until the bank listens or dies
        match = _LISTENING.search(line)
        if match is None:
            self.process.kill()
            raise AssertionError(f"bank did not start: {line!r} {self.process.stderr.read()!r}")
        self.url = match[1]
        return self

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.terminate()
        code = self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()
        return code

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        for stream in (self.process.stdout, self.process.stderr):
            if stream is not None:
                stream.close()


@dataclass
class Received:
    body: dict[str, Any]
    raw: bytes
    signature_ok: bool
    at: float  # time.monotonic() when it arrived


class Receiver:
    """Records notifications; answers the next ``fail_next`` of them with 500."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.fail_next = 0
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._arrivals: deque[asyncio.Event] = deque()

    async def start(self) -> Receiver:
        app = web.Application()
        app.router.add_post("/notify", self._notify)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/notify"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _notify(self, request: web.Request) -> web.Response:
        raw = await request.read()
        try:
            verify(SECRET, request.headers, raw, now=int(time.time()))
            signature_ok = True
        except BadSignature:
            signature_ok = False
        self.received.append(Received(json.loads(raw), raw, signature_ok, time.monotonic()))
        if self.fail_next > 0:
            self.fail_next -= 1
            return web.Response(status=500)
        return web.Response(status=204)

    def for_reference(self, reference: str) -> list[Received]:
        return [item for item in self.received if item.body["debit"]["reference"] == reference]

    async def wait_for(self, reference: str, count: int = 1) -> list[Received]:
        """The notifications of ``reference`` once ``count`` of them have arrived (10 s)."""
        deadline = time.monotonic() + 10.0
        while len(self.for_reference(reference)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{count} notification(s) of {reference} not received")
            await asyncio.sleep(0.02)
        return self.for_reference(reference)


class BankClient:
    """Thin JSON calls to a bank; every answer is ``(status, body)``."""

    def __init__(self, session: aiohttp.ClientSession, url: str) -> None:
        self.session = session
        self.url = url

    async def call(self, method: str, path: str, body: object = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"}
        async with self.session.request(
            method, self.url + path, data=data, headers=headers
        ) as response:
            return response.status, await response.json()

    async def open(self, account: str, balance: str, kind: str = "bank_card") -> Any:
        body = {"account": account, "kind": kind, "label": "ICBC 1234", "balance": balance}
        status, body = await self.call("POST", "/accounts", body)
        assert status == 201, body
        return body

    async def debit(
        self, reference: str, account: str, amount: str, **extra: str
    ) -> tuple[int, Any]:
        body = {"reference": reference, "account": account, "amount": amount, **extra}
        return await self.call("POST", "/debits", body)

    async def balance(self, account: str) -> str:
        status, body = await self.call("GET", f"/accounts/{account}")
        assert status == 200, body
        return str(body["balance"])

    async def faults(self, faults: dict[str, Any]) -> None:
        status, body = await self.call("POST", "/control/faults", faults)
        assert status == 200, body
