"""The sandbox while nobody types: reminders and receipts print when the sweep sends them,
the other demo users get theirs (unprinted), and a person at a terminal keeps their
half-typed line.

The demo is loaded on 2026-11-22 at 09:05 in the demo users' zone (UTC+8), just after the
09:00 reminders; later runs on the same database set the clock to later days.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import sqlite3
import subprocess
import termios
import time
from pathlib import Path

from tests.bot.sandbox_process import LiveSandbox, command, sandbox_env

LOAD_DAY = "2026-11-22T09:05+08:00"
MI_DUE = "2026-11-25T10:05+08:00"  # 小米备用金 is due: its auto-repay at 10:00 went through
MACBOOK_DUE = "2026-12-03T10:05+08:00"  # user 1002's MacBook is due; HSBC holds too little


def test_a_reminder_and_a_receipt_print_when_they_arrive(tmp_path: Path) -> None:
    """Nothing is typed: what the sweep sends prints at once, not after the next line."""
    with LiveSandbox(tmp_path, "--today", LOAD_DAY) as sandbox:
        sandbox.wait_for("• 小米备用金：2026年11月25日 应还 ¥458.40（还有 3 天）")
        out, errors = sandbox.quit()
    assert out.index("🔔 还款提醒") < out.index("> /quit")
    assert errors == ""

    with LiveSandbox(tmp_path, "--today", MI_DUE) as sandbox:
        sandbox.wait_for("小米备用金：已从 招商银行 扣款 ¥458.40")
        out, errors = sandbox.quit()
    assert out.index("✅ 自动还款成功") < out.index("> /quit")
    assert errors == ""


def test_the_other_demo_users_get_their_messages_unprinted(tmp_path: Path) -> None:
    """As user 1001, the sweep also reaches 1002 and 1003, whose chats the emulator knows:
    nothing of theirs prints here, nobody is marked unreachable, and 1002 later sees
    their own reminder and auto-repay receipt."""
    with LiveSandbox(tmp_path, "--today", LOAD_DAY) as sandbox:
        sandbox.wait_for("🔔 还款提醒")
        time.sleep(2)  # two more sweeps
        out, errors = sandbox.quit()
    assert "Xiaomi 14 Ultra" not in out  # user 1002's
    assert "美的空调" not in out  # user 1003's
    assert "not sent" not in out + errors
    with sqlite3.connect(tmp_path / "sandbox.db") as db:
        assert db.execute("SELECT telegram_id, active FROM users ORDER BY 1").fetchall() == [
            (1001, 1),
            (1002, 1),
            (1003, 1),
        ]

    with LiveSandbox(tmp_path, "--user", "1002", "--lang", "en", "--today", MACBOOK_DUE) as sandbox:
        sandbox.wait_for("• MacBook Air 13 M3: ¥746.57 due Dec 3, 2026 (due today)")
        sandbox.wait_for("MacBook Air 13 M3: ¥746.57 could not be debited (insufficient balance)")
        out, _ = sandbox.quit()
    assert "还款提醒" not in out  # user 1001's


def test_an_arrival_while_typing_keeps_the_prompt_and_the_typed_text(tmp_path: Path) -> None:
    """At a terminal, a reminder that arrives while a line is half typed is printed on a
    line of its own, then the prompt and the typed text are shown again."""
    main, side = pty.openpty()
    process = subprocess.Popen(
        command(tmp_path, "--today", LOAD_DAY, sweep_seconds="1"),
        stdin=side,
        stdout=side,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=sandbox_env(TERM="dumb"),
    )
    os.close(side)
    terminal = Terminal(main)
    try:
        terminal.read_until(b"/quit leaves.")
        terminal.read_until(b"> ")
        os.write(main, b"/sta")  # the first sweep, a second after the start, is coming
        terminal.read_until("明天".encode())
        terminal.read_until(b"/sta")
        os.write(main, b"tus\n")
        terminal.read_until("待还总额".encode())
        os.write(main, b"/quit\n")
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)
    text = terminal.seen.decode()
    reminder = text.index("bot: 🔔 还款提醒")
    assert text[:reminder].endswith("\r\x1b[K")  # the prompt's line cleared first
    after = text[reminder:]
    assert "\r\n> /sta" in after  # the prompt and the typed text again, on their own line
    assert "bot: 还款概览" in after  # and the line, finished, was sent as typed


def test_ctrl_c_while_typing_gives_the_terminal_back(tmp_path: Path) -> None:
    """Line editing puts the terminal in raw mode; leaving with Ctrl-C mid-line restores
    it, so the shell afterwards echoes what is typed."""
    main, side = pty.openpty()
    process = subprocess.Popen(
        command(tmp_path, "--today", LOAD_DAY),
        stdin=side,
        stdout=side,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=sandbox_env(TERM="dumb"),
    )
    terminal = Terminal(main)
    try:
        terminal.read_until(b"> ")
        os.write(main, b"/sta")
        terminal.read_until(b"/sta")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 130
        mode = termios.tcgetattr(side)[3]
        assert mode & termios.ECHO
        assert mode & termios.ICANON
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(side)
        os.close(main)


class Terminal:
    """The person's side of a pseudo-terminal: everything shown, read as it comes."""

    def __init__(self, fd: int) -> None:
        self.fd, self.seen, self.at = fd, b"", 0

    def read_until(self, marker: bytes, timeout: float = 60.0) -> None:
        """Read until ``marker`` is shown after the previous one."""
        deadline = time.monotonic() + timeout
        while (found := self.seen.find(marker, self.at)) < 0:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"{marker!r} not shown within {timeout}s: {self.seen!r}"
            ready, _, _ = select.select([self.fd], [], [], min(remaining, 0.2))
            if ready:
                self.seen += os.read(self.fd, 65536)
        self.at = found + len(marker)
