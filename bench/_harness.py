"""What the benchmark scripts share: the machine line, percentiles, an emulator that times
every Bot API call, and starting the bot under test in its own process.

The bot runs in a child process (``bench/_bot_host.py`` or ``repaybot run``) and the Bot API
emulator, with the simulated users, in the benchmark's process, as in production where
Telegram is another machine: the two share the 2 cores but not an event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.emulator import BotApiEmulator

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "123456:BENCH-token"
HOST = ROOT / "bench" / "_bot_host.py"


def machine() -> str:
    """CPU, cores, Python and the load averages now (other work on the machine shows here)."""
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{model}, {os.cpu_count()} cores, python {platform.python_version()}, load average {load}"
    )


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


@dataclass(frozen=True, slots=True)
class Timed:
    """One answered Bot API call: when it finished (monotonic), method, status, chat."""

    at: float
    method: str
    status: int
    chat_id: Any


class TimedEmulator(BotApiEmulator):
    """The emulator, also noting when each call was answered (``timeline``) and when the
    first call of each method arrived (``first_call``; a long poll is answered later)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.timeline: list[Timed] = []
        self.first_call: dict[str, float] = {}

    async def _handle_api(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        response = await super()._handle_api(request)
        call = self.calls[-1]  # appended by the call above, with no await in between
        now = time.monotonic()
        self.first_call.setdefault(call.method, arrived)
        self.timeline.append(Timed(now, call.method, call.status, call.params.get("chat_id")))
        if call.method == "getUpdates" and call.status == 200:
            # Long polls would otherwise fill ``calls`` while the bot idles.
            self.calls.pop()
        return response

    def sends(self, method: str = "sendMessage") -> list[Timed]:
        return [t for t in self.timeline if t.method == method]


@dataclass
class BotProcess:
    """A bot under test in its own process (``bench/_bot_host.py``)."""

    args: list[str]
    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0

    def start(self) -> None:
        log = (self.workdir / "bot.log").open("ab")
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, *self.args],
            cwd=self.workdir,
            env={**os.environ, "PYTHONPATH": str(ROOT), **self.env},
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM (the bot stops cleanly and writes its record), then wait."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()

    def log_tail(self, lines: int = 20) -> str:
        path = self.workdir / "bot.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def host_bot(
    workdir: Path,
    database_url: str,
    base_url: str,
    *,
    mode: str = "repaybot",
    clock_start: str = "",
    sweep_seconds: float = 0,
    record: Path | None = None,
    profile: Path | None = None,
) -> BotProcess:
    """``bench/_bot_host.py`` with these settings (not started)."""
    args = [str(HOST), "--mode", mode, "--database-url", database_url, "--base-url", base_url]
    args += ["--sweep-seconds", str(sweep_seconds)]
    if clock_start:
        args += ["--clock-start", clock_start]
    if record is not None:
        args += ["--record", str(record)]
    if profile is not None:
        args += ["--profile", str(profile)]
    return BotProcess(args, workdir)


async def wait_for(condition: Any, timeout: float, step: float = 0.05) -> bool:  # noqa: ASYNC109
    """Poll ``condition()`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(step)
    return True


def rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of ``pid`` in KiB, from /proc."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
