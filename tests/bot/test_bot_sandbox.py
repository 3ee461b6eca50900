"""`repaybot sandbox` as a person runs it: typed lines in, the chat printed out."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from babel.dates import format_date

from tests.bot.sandbox_process import DEMO_DAY, database_url, run_sandbox, sandbox_env

SANDBOX = [sys.executable, "-m", "bot.cli", "sandbox"]


def _sandbox(tmp_path: Path, script: str, *args: str) -> str:
    done = run_sandbox(tmp_path, script, *args)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    return done.stdout


def test_sandbox_chats_with_numbered_buttons_and_demo_data(tmp_path: Path) -> None:
    out = _sandbox(tmp_path, "/start\n/status\n#1\n#1\n#1\n#1\n/quit\n", "--today", DEMO_DAY)
    assert "bot: 您好，Sandbox！" in out
    assert "待还总额：¥15,645.88" in out  # the demo data was loaded for user 1001
    assert "[1] 立即还款" in out
    assert "bot (edited): 请选择支付方式" in out
    assert "请确认还款" in out
    assert "还款成功" in out


def test_sandbox_in_english_and_a_missing_button(tmp_path: Path) -> None:
    out = _sandbox(
        tmp_path, "/status\n#9\n/quit\n", "--user", "1002", "--lang", "en", "--today", DEMO_DAY
    )
    assert "Overdue 71 days (M3)" in out
    assert "Next due: Dec 3, 2026, ¥746.57" in out  # demo.json's own date, on its own day
    assert "(no such button)" in out


@pytest.mark.parametrize("today", ["2027-02-28", "2028-02-29", "2031-07-31", "2027-06-01"])
def test_the_demo_tells_the_same_story_on_any_day(tmp_path: Path, today: str) -> None:
    """The demo's dates are relative to the day it is loaded: the same plan is overdue by
    the same days, and the next due date is as far ahead, whatever the day."""
    out = _sandbox(
        tmp_path,
        "/status\n/quit\n",
        *("--user", "1002", "--lang", "en", "--today", f"{today}T12:00+08:00"),
    )
    # Months differ in length, so an installment due months ago is a few days off.
    overdue = re.search(r"Overdue (\d+) days \(M3\)", out)
    assert overdue is not None, out
    assert 71 <= int(overdue.group(1)) <= 74
    next_due = date.fromisoformat(today) + timedelta(days=11)
    due = re.search(f"Next due: {format_date(next_due, 'medium', locale='en')}, ¥([0-9.]+)", out)
    assert due is not None, out
    # The MacBook's first period is charged by its days, in months of the calendar it
    # lands in: ¥746.57 on the demo's own day, a few yuan apart on others.
    assert Decimal(740) <= Decimal(due.group(1)) <= Decimal(760)


def test_a_button_that_is_gone_is_said_and_the_chat_goes_on(tmp_path: Path) -> None:
    """#1 after Cancel: the message has no buttons any more; #9 under a receipt with two:
    there is no such button. The sandbox says so instead of leaving with a traceback, and
    the chat goes on."""
    script = "/repay\n#1\n#4\n#1\n/status\n#1\n#1\n#1\n#1\n#9\n/help\n/quit\n"
    out = _sandbox(tmp_path, script, "--today", DEMO_DAY)
    _, rest = out.split("bot (edited): 已取消。", 1)
    assert rest.startswith("\n> #1\n  (no such button: that message no longer has buttons)\n")
    _, after = rest.split("还款成功", 1)
    assert "> #9\n  (no such button)\n> /help\n" in after
    assert "bot: 可用命令" in after  # the chat went on


def test_the_bots_log_goes_to_a_file_not_into_the_chat(tmp_path: Path) -> None:
    done = run_sandbox(tmp_path, "/status\n/quit\n", "--today", DEMO_DAY)
    assert done.returncode == 0
    assert done.stderr == ""
    assert " INFO " not in done.stdout
    assert "The bot's log is in data/sandbox.log." in done.stdout
    log = (tmp_path / "data" / "sandbox.log").read_text()
    assert "bot.app: update 1 message" in log


def test_after_forget_it_says_how_to_get_the_demo_back_and_reset_does(tmp_path: Path) -> None:
    english = ("--user", "1002", "--lang", "en", "--today", DEMO_DAY)
    out = _sandbox(tmp_path, "/forget\n#1\n/status\n/quit\n", *english)
    hint = (
        "  (sandbox: your data is deleted. To get the demo back, leave and run: "
        f"repaybot sandbox --reset --database-url {database_url(tmp_path)})"
    )
    assert hint in out.split("> #1\n", 1)[1].splitlines()  # said once the data is gone
    assert "You have no installment plans yet." in out
    again = _sandbox(tmp_path, "/status\n/quit\n", *english)
    # Gone for good, until a reset (and a second run is answered: its update ids go on).
    assert "You have no installment plans yet." in again

    reset = _sandbox(tmp_path, "/status\n/quit\n", "--reset", *english)
    assert f"Deleted {tmp_path}/sandbox.db; the demo is loaded afresh." in reset
    assert "Overdue 71 days (M3)" in reset


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql+asyncpg://repaybot@localhost/repaybot", "is not one; nothing was touched"),
        ("sqlite+aiosqlite:///{tmp}/notes.db", "is not a RepayBot database; nothing was touched"),
        ("sqlite+aiosqlite:///{tmp}/bot.db", "is the bot's own database (DATABASE_URL)"),
    ],
)
def test_reset_deletes_only_a_sandbox_sqlite_file(tmp_path: Path, url: str, reason: str) -> None:
    """A server database, a file that is not RepayBot's, and the database the bot itself
    is configured with are never deleted, even when named explicitly."""
    (tmp_path / "notes.db").write_text("my notes")
    (tmp_path / "bot.db").write_text("the bot's data")
    done = subprocess.run(
        [*SANDBOX, "--reset", "--database-url", url.format(tmp=tmp_path)],
        input="/quit\n",
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=sandbox_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/bot.db"),
        check=False,
    )
    assert done.returncode == 2
    assert reason in done.stderr
    assert (tmp_path / "notes.db").read_text() == "my notes"
    assert (tmp_path / "bot.db").read_text() == "the bot's data"


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
