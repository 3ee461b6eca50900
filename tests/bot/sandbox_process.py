"""`repaybot sandbox` as a process, as a person runs it: lines typed in, the chat read out.

``run_sandbox`` types a whole script and reads everything at the end; ``LiveSandbox``
keeps the process running, so a test can wait for what the bot prints on its own
(reminders, receipts) without typing anything. Every run sets the bot's clock with
``--today``: nothing depends on the real date or time of day.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

# examples/demo.json's relative_to, at noon in the demo users' zones (UTC+8): its figures
# are those of that day, whatever the real time of day.
DEMO_DAY = "2026-11-22T12:00+08:00"


def sandbox_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **extra}
    env.pop("BOT_TOKEN", None)
    return env


def database_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/sandbox.db"


def command(tmp_path: Path, *args: str, sweep_seconds: str = "0") -> list[str]:
    return [
        sys.executable,
        "-m",
        "bot.cli",
        "sandbox",
        "--database-url",
        database_url(tmp_path),
        "--sweep-seconds",
        sweep_seconds,
        *args,
    ]


def run_sandbox(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Type ``script`` into a sandbox without a reminder sweep; its exit, output, errors."""
    return subprocess.run(
        command(tmp_path, *args),
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=sandbox_env(),
        check=False,
    )


class LiveSandbox:
    """A running sandbox with a reminder sweep every second; read what it prints as it
    prints it, type when the test wants."""

    def __init__(self, tmp_path: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            command(tmp_path, *args, sweep_seconds="1"),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            env=sandbox_env(),
        )
        self.output = ""
        self._lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        self._reader = threading.Thread(
            target=_pump, args=(self.process.stdout, self._lines), daemon=True
        )
        self._reader.start()

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        """Everything printed so far, once ``text`` is among it; fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        while text not in self.output:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or (self.process.poll() is not None and self._lines.empty()):
                raise AssertionError(f"{text!r} not printed within {timeout}s:\n{self.output}")
            try:
                self.output += self._lines.get(timeout=min(remaining, 0.2))
            except queue.Empty:
                continue
        return self.output

    def quit(self) -> tuple[str, str]:
        """Type /quit; everything printed, and the errors, once the sandbox has left."""
        assert self.process.stdin is not None
        assert self.process.stderr is not None
        self.process.stdin.write("/quit\n")
        self.process.stdin.close()
        assert self.process.wait(timeout=60) == 0
        errors = self.process.stderr.read()
        self._reader.join(timeout=10)  # stdout read to its end
        while not self._lines.empty():
            self.output += self._lines.get()
        return self.output, errors

    def __enter__(self) -> LiveSandbox:
        return self

    def __exit__(self, *_: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _pump(stream: IO[str], lines: queue.Queue[str]) -> None:
    for line in stream:
        lines.put(line)
