"""`repaybot sandbox` as a person runs it: typed lines in, the chat printed out."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date

DEMO_DAY = "2026-11-22"  # examples/demo.json's relative_to: its figures are those of this day


def _sandbox(tmp_path: Path, script: str, *args: str) -> str:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("BOT_TOKEN", None)
    url = f"sqlite+aiosqlite:///{tmp_path}/sandbox.db"
    done = subprocess.run(
        # No reminder sweep: what is due depends on the real clock, and would interleave.
        [
            sys.executable,
            "-m",
            "bot.cli",
            "sandbox",
            "--database-url",
            url,
            "--sweep-seconds",
            "0",
            *args,
        ],
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_sandbox_chats_with_numbered_buttons_and_demo_data(tmp_path: Path) -> None:
    out = _sandbox(tmp_path, "/start\n/status\n#1\n#1\n#1\n#1\n/quit\n", "--today", DEMO_DAY)
    assert "bot: 您好，Sandbox！" in out
    assert "待还总额：¥15,645.88" in out  # the demo data was loaded for user 1001
    assert "[1] 立即还款" in out
    assert "bot (edited): 请选择支付方式" in out
    assert "请确认还款" in out
    assert "还款成功" in out
    assert "Traceback" not in out


def test_sandbox_in_english_and_a_missing_button(tmp_path: Path) -> None:
    out = _sandbox(
        tmp_path, "/status\n#9\n/quit\n", "--user", "1002", "--lang", "en", "--today", DEMO_DAY
    )
    assert "Overdue 71 days (M3)" in out
    assert "Next due: Dec 4, 2026, ¥746.57" in out
    assert "(no such button)" in out


@pytest.mark.parametrize("today", ["2027-02-28", "2028-02-29", "2031-07-31", "2027-06-01"])
def test_the_demo_tells_the_same_story_on_any_day(tmp_path: Path, today: str) -> None:
    """The demo's dates are relative to the day it is loaded: the same plan is overdue by
    the same days, and the next due date is as far ahead, whatever the day."""
    out = _sandbox(tmp_path, "/status\n/quit\n", "--user", "1002", "--lang", "en", "--today", today)
    # Months differ in length, so an installment due months ago is a few days off.
    overdue = re.search(r"Overdue (\d+) days \(M3\)", out)
    assert overdue is not None, out
    assert 71 <= int(overdue.group(1)) <= 74
    next_due = date.fromisoformat(today) + timedelta(days=12)
    assert f"Next due: {format_date(next_due, 'medium', locale='en')}, ¥746.57" in out


def test_run_without_a_token_refuses_and_points_to_the_sandbox(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    done = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert done.returncode == 2
    assert "BOT_TOKEN is not set" in done.stderr
    assert "@BotFather" in done.stderr
    assert "make sandbox" in done.stderr
