"""``repaybot simulate``: the sweeps on a virtual clock, read from the printed timeline.

One user in Asia/Shanghai (UTC+8, no DST) with the default policy (reminders 3, 1 and 0
days before at 09:00, auto-repay at 10:00, retry at 18:00, 3 grace days, 0.05 %/day):
"Phone" (¥200 a month from 2026-12-10, auto-repay from a card holding ¥300: the first
debit succeeds, the second cannot) and "Laptop" (¥500 a month from 2026-12-20, repaid by
hand, which never happens here).
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from core.settings import get_settings

try:
    from tests.cli.conftest import sqlite_url
except ImportError:  # tests/ not importable as a package: the conftest folder is on sys.path
    from conftest import sqlite_url  # type: ignore[import-not-found, no-redef]

USER = 7001
ROW = re.compile(r"^  (\d\d:\d\d|\(end\))  user (\d+)  (.*)$")
DAY = re.compile(r"^(\d{4}-\d\d-\d\d) \w{3}$")
Row = tuple[str, str, int, str]  # local date, local time or "(end)", user, text


def _user(telegram_id: int, zone: str, plans: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "telegram_id": telegram_id,
        "language": "en",
        "timezone": zone,
        "payment_methods": [
            {
                "kind": "bank_card",
                "label": "Test Bank",
                "last4": "4321",
                "balance": "300.00",
                "default": True,
            },
            {"kind": "wechat", "label": "WeChat Pay", "balance": "50.00"},
        ],
        "plans": plans,
    }


def _plan(
    external_id: str, title: str, principal: str, periods: int, first_due: str
) -> dict[str, Any]:
    return {
        "external_id": external_id,
        "provider": "Shop",
        "title": title,
        "principal": principal,
        "periods": periods,
        "method": "interest_free",
        "first_due": first_due,
    }


def scenario() -> dict[str, Any]:
    phone = _plan("phone-1", "Phone", "600.00", 3, "2026-12-10") | {
        "autopay": True,
        "autopay_method": "Test Bank",
    }
    laptop = _plan("laptop-1", "Laptop", "1000.00", 2, "2026-12-20")
    return {"users": [_user(USER, "Asia/Shanghai", [phone, laptop])]}


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def timeline(out: str) -> list[Row]:
    """The printed timeline as rows; a consolidated reminder's items joined by newlines."""
    rows: list[Row] = []
    day = ""
    for line in out.splitlines():
        if found := DAY.match(line):
            day = found[1]
        elif found := ROW.match(line):
            rows.append((day, found[1], int(found[2]), found[3]))
        elif line.startswith(" " * 20 + "+ "):
            date, clock, user, text = rows[-1]
            rows[-1] = (date, clock, user, text + "\n" + line.strip())
    return rows


def totals(out: str) -> dict[str, Decimal]:
    text = out[out.index("\nTotals\n") :]
    patterns = {
        "messages": r"messages sent +(\d+)",
        "reminders": r"\((\d+) reminders",
        "receipts": r"(\d+) receipts\)",
        "debits_ok": r"auto-debits succeeded +(\d+)",
        "debited": r"auto-debits succeeded +\d+ +¥([\d,.]+)",
        "debits_failed": r"auto-debits failed +(\d+)",
        "overdue": r"went overdue +(\d+)",
        "penalties": r"penalties accrued +¥([\d,.]+)",
    }
    found = {}
    for name, pattern in patterns.items():
        match = re.search(pattern, text)
        assert match is not None, f"{name} missing from {text}"
        found[name] = Decimal(match[1].replace(",", ""))
    return found


def on(rows: list[Row], day: str) -> list[tuple[str, str]]:
    return [(clock, text) for date, clock, _, text in rows if date == day]


@contextlib.contextmanager
def isolated_env(where: Path) -> Iterator[Path]:
    """Work in ``where`` with ``DATABASE_URL`` at ``where/live.db``; yields that file."""
    live = where / "live.db"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(where)
        patch.setenv("DATABASE_URL", sqlite_url(live))
        get_settings.cache_clear()
        try:
            yield live
        finally:
            get_settings.cache_clear()


def simulate(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["simulate", *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def sixty_days(tmp_path_factory: pytest.TempPathFactory) -> str:
    where = tmp_path_factory.mktemp("simulate")
    data = _write(where / "scenario.json", scenario())
    with isolated_env(where) as live:
        code, out, err = simulate("--from", "2026-12-01", "--days", "60", "--data", str(data))
        assert not live.exists()
    assert code == 0, err
    return out


def test_reminders_come_at_09_local_on_d3_d1_and_d(sixty_days: str) -> None:
    rows = timeline(sixty_days)
    assert on(rows, "2026-12-17") == [
        ("09:00", "reminder: Laptop ¥500.00 due 2026-12-20 (in 3 days)")
    ]
    assert on(rows, "2026-12-19") == [
        ("09:00", "reminder: Laptop ¥500.00 due 2026-12-20 (tomorrow)")
    ]
    assert on(rows, "2026-12-20") == [("09:00", "reminder: Laptop ¥500.00 due 2026-12-20 (today)")]
    assert on(rows, "2026-12-07") == [
        ("09:00", "reminder: Phone ¥200.00 due 2026-12-10 (in 3 days)")
    ]
    # Nothing on the days in between, nor during the grace period.
    for day in ("2026-12-01", "2026-12-08", "2026-12-18", "2026-12-21", "2026-12-23"):
        assert on(rows, day) == [], day
    assert {user for _, _, user, _ in rows} == {USER}


def test_autopay_notice_then_debit_succeeds_on_the_due_date(sixty_days: str) -> None:
    rows = timeline(sixty_days)
    # The day before, the auto-repay notice replaces the "tomorrow" reminder.
    assert on(rows, "2026-12-09") == [
        ("09:00", "reminder: Phone ¥200.00 auto-debit on 2026-12-10 from Test Bank")
    ]
    assert on(rows, "2026-12-10") == [
        ("09:00", "reminder: Phone ¥200.00 due 2026-12-10 (today)"),
        ("10:00", "auto-debit ok ¥200.00 from Test Bank — Phone"),
    ]
    # Paid: no overdue notice, no penalty for the first period.
    assert not any("Phone" in text and "overdue" in text for _, _, _, text in rows[:12])


def test_second_debit_fails_retries_at_18_and_goes_overdue(sixty_days: str) -> None:
    rows = timeline(sixty_days)
    failed = "auto-debit FAILED (insufficient_balance) ¥200.00 from Test Bank — Phone"
    notice = on(rows, "2027-01-09")[0]
    assert notice[0] == "09:00"
    assert "\n+ Phone ¥200.00 auto-debit on 2027-01-10 from Test Bank, balance too low" in notice[1]
    assert on(rows, "2027-01-10")[1:3] == [
        ("10:00", f"{failed}; will retry"),
        ("18:00", f"{failed}; will retry"),
    ]
    assert ("10:00", f"{failed}; will retry") in on(rows, "2027-01-11")
    assert ("10:00", f"{failed}; will retry") in on(rows, "2027-01-12")
    assert ("10:00", f"{failed}; last attempt") in on(rows, "2027-01-13")
    debits = [(d, c) for d, c, _, text in rows if text.startswith("auto-debit")]
    assert debits == [
        ("2026-12-10", "10:00"),
        ("2027-01-10", "10:00"),
        ("2027-01-10", "18:00"),
        ("2027-01-11", "10:00"),
        ("2027-01-12", "10:00"),
        ("2027-01-13", "10:00"),
    ]
    # Grace ends with 2027-01-13: overdue from the 14th, with 4 days of penalty at once.
    assert [d for d, _, _, t in rows if t.startswith("went overdue: Phone")] == ["2027-01-14"]
    end_of_14th = [text for clock, text in on(rows, "2027-01-14") if clock == "(end)"]
    assert "went overdue: Phone period 2 (¥200.40 owed)" in end_of_14th
    assert "penalty accrued: Phone ¥0.40 (¥0.40 so far)" in end_of_14th


def test_overdue_reminders_and_penalties_accrue_daily(sixty_days: str) -> None:
    rows = timeline(sixty_days)
    assert on(rows, "2026-12-24") == [
        ("09:00", "reminder: Laptop ¥501.00 overdue 4 days (due 2026-12-20), penalty ¥1.00"),
        ("(end)", "went overdue: Laptop period 1 (¥501.00 owed)"),
        ("(end)", "penalty accrued: Laptop ¥1.00 (¥1.00 so far)"),
    ]
    assert on(rows, "2026-12-25") == [
        ("09:00", "reminder: Laptop ¥501.25 overdue 5 days (due 2026-12-20), penalty ¥1.25"),
        ("(end)", "penalty accrued: Laptop ¥0.25 (¥1.25 so far)"),
    ]
    # Both plans in one message: one per user per reminder time, oldest due date first.
    assert on(rows, "2027-01-07")[0] == (
        "09:00",
        "reminder: Laptop ¥504.50 overdue 18 days (due 2026-12-20), penalty ¥4.50\n"
        "+ Phone ¥200.00 due 2027-01-10 (in 3 days)",
    )
    # Every day from the 24th to the end, the overdue laptop accrues ¥0.25 (¥0.50 once the
    # second period is overdue too).
    laptop = [(d, t) for d, c, _, t in rows if c == "(end)" and "penalty accrued: Laptop" in t]
    assert len(laptop) == 37
    assert laptop[-1] == ("2027-01-29", "penalty accrued: Laptop ¥0.50 (¥12.25 so far)")
    assert ("(end)", "penalty accrued: Phone ¥0.10 (¥1.90 so far)") in on(rows, "2027-01-29")


def test_totals_match_the_events(sixty_days: str) -> None:
    rows = timeline(sixty_days)
    found = totals(sixty_days)
    texts = [text for _, _, _, text in rows]
    reminders = sum(text.startswith("reminder:") for text in texts)
    succeeded = [text for text in texts if text.startswith("auto-debit ok")]
    failed = [text for text in texts if text.startswith("auto-debit FAILED")]
    penalties = sum(
        Decimal(re.search(r"¥([\d.]+) \(", text)[1])  # type: ignore[index]
        for text in texts
        if text.startswith("penalty accrued:")
    )
    assert found["reminders"] == reminders == 43  # 6 before due, 37 days overdue from 12-24
    assert found["debits_ok"] == len(succeeded) == 1
    assert found["debited"] == Decimal("200.00")
    assert found["debits_failed"] == len(failed) == 5
    assert found["receipts"] == len(succeeded) + len(failed)  # a receipt for every debit
    assert found["messages"] == found["reminders"] + found["receipts"] == 49
    assert found["overdue"] == sum(t.startswith("went overdue:") for t in texts) == 3
    # Laptop 1: 40 days x ¥0.25, Phone 2: 19 days x ¥0.10, Laptop 2: 9 days x ¥0.25.
    assert found["penalties"] == penalties == Decimal("14.15")


def test_sparse_ticks_match_every_step(tmp_path: Path) -> None:
    short = scenario()
    short["users"][0]["payment_methods"][0]["balance"] = "100.00"
    data = _write(tmp_path / "scenario.json", short)
    args = ["--from", "2027-01-09", "--days", "3", "--data", str(data), "--step-minutes", "90"]
    with isolated_env(tmp_path):
        code, sparse, _ = simulate(*args)
        assert code == 0
        code, every, _ = simulate(*args, "--every-step")
        assert code == 0
    assert sparse == every
    rows = timeline(sparse)
    # 09:00 and 10:00 local (01:00, 02:00 UTC) are first seen by the 01:30 and 03:00 ticks.
    assert [(d, c) for d, c, _, t in rows if t.startswith("reminder:")] == [
        ("2027-01-09", "09:30"),
        ("2027-01-10", "09:30"),
        ("2027-01-11", "09:30"),
    ]
    # Period 1 was missed long ago (not made up); period 2 fails on a ¥100 card, and the
    # 18:00 retry (10:00 UTC) is first seen by the 10:30 UTC tick.
    assert [(d, c) for d, c, _, t in rows if t.startswith("auto-debit FAILED")] == [
        ("2027-01-10", "11:00"),
        ("2027-01-10", "18:30"),
        ("2027-01-11", "11:00"),
    ]
    # Both first periods were overdue before the window: no transition, daily penalties.
    assert totals(sparse)["overdue"] == 0
    assert totals(sparse)["penalties"] == Decimal("1.05")  # 3 x (¥0.10 + ¥0.25)


def test_times_are_each_users_own_and_user_filters(tmp_path: Path) -> None:
    east = _user(8001, "Asia/Shanghai", [_plan("a", "Watch", "300.00", 1, "2026-12-04")])
    west = _user(8002, "America/New_York", [_plan("b", "Bike", "900.00", 1, "2026-12-04")])
    data = _write(tmp_path / "two.json", {"users": [east, west]})
    base = ["--from", "2026-12-01", "--days", "3", "--data", str(data)]
    with isolated_env(tmp_path):
        code, both, _ = simulate(*base)
        assert code == 0
        code, west_only, _ = simulate(*base, "--user", "8002")
        assert code == 0
    assert timeline(both) == [
        ("2026-12-01", "09:00", 8001, "reminder: Watch ¥300.00 due 2026-12-04 (in 3 days)"),
        ("2026-12-01", "09:00", 8002, "reminder: Bike ¥900.00 due 2026-12-04 (in 3 days)"),
        ("2026-12-03", "09:00", 8001, "reminder: Watch ¥300.00 due 2026-12-04 (tomorrow)"),
        ("2026-12-03", "09:00", 8002, "reminder: Bike ¥900.00 due 2026-12-04 (tomorrow)"),
    ]
    assert timeline(west_only) == [row for row in timeline(both) if row[2] == 8002]
    assert totals(both)["reminders"] == 4
    assert totals(west_only)["reminders"] == totals(west_only)["messages"] == 2


def test_messages_print_as_plain_text(tmp_path: Path) -> None:
    data = _write(tmp_path / "scenario.json", scenario())
    with isolated_env(tmp_path):
        code, out, _ = simulate(
            "--from", "2026-12-09", "--days", "2", "--data", str(data), "--messages"
        )
    assert code == 0
    assert "| 🔔 Repayment reminder" in out
    assert "| ✅ Auto-repay succeeded" in out
    assert "| Phone: ¥200.00 debited from Test Bank" in out
    assert "<b>" not in out


def test_demo_data_by_default(tmp_path: Path) -> None:
    with isolated_env(tmp_path) as live:
        # The demo's dates are relative to the day it is loaded, here its own day.
        code, out, err = simulate("--from", "2026-11-22", "--days", "10")
        assert not live.exists()
    assert code == 0, err
    assert "examples/demo.json" in out
    rows = timeline(out)
    assert (
        "2026-11-28",
        "10:00",
        1001,
        "auto-debit ok ¥633.00 from 支付宝 — Apple AirPods Pro 2",
    ) in rows
    assert {user for _, _, user, _ in rows} == {1001, 1002, 1003}


def test_the_live_database_is_never_opened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    data = _write(tmp_path / "scenario.json", scenario())
    with isolated_env(tmp_path) as live:
        code, out, err = simulate("--from", "2026-12-09", "--days", "2", "--data", str(data))
    assert code == 0, err
    assert "auto-debit ok" in out
    assert not live.exists()
    assert not (tmp_path / "data").exists()  # nor the default ./data/repaybot.db
    assert list(scratch.iterdir()) == []  # the scratch database is gone too


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2026-13-01"], "argument --from: no such day in the calendar: '2026-13-01'"),
        (["--from", "tomorrow"], "argument --from: not a date (use YYYY-MM-DD): 'tomorrow'"),
        (["--from", "2026-12-01", "--days", "0"], "argument --days: not a whole number from 1"),
        (["--from", "2026-12-01", "--days", "3661"], "not a whole number from 1 to 3660"),
        (["--from", "2026-12-01", "--step-minutes", "0"], "argument --step-minutes"),
        (["--days", "3"], "the following arguments are required: --from"),
        (["--from", "2026-12-01", "--user", "42"], "--user: no user 42 in"),
    ],
)
def test_bad_options_exit_2_and_run_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    with isolated_env(tmp_path) as live:
        code, out, err = simulate(*args)
    assert code == 2
    assert message in err
    assert out == ""
    assert not live.exists()


def test_missing_data_file(tmp_path: Path) -> None:
    with isolated_env(tmp_path):
        code, out, err = simulate("--from", "2026-12-01", "--data", str(tmp_path / "nope.json"))
    assert code == 2
    assert f"repaybot simulate: error: {tmp_path / 'nope.json'}: no such file" in err
    assert out == ""


def test_invalid_data_lists_the_importers_errors(tmp_path: Path) -> None:
    data = scenario()
    data["users"][0]["plans"][0]["principal"] = "-5"
    data["users"][0]["timezone"] = "Mars/Base"
    path = _write(tmp_path / "bad.json", data)
    with isolated_env(tmp_path):
        code, out, err = simulate("--from", "2026-12-01", "--data", str(path))
    assert code == 2
    assert "$.users[0].timezone: not a known IANA time zone" in err
    assert "$.users[0].plans[0].principal: must be positive" in err
    assert f"2 error(s) in {path}; nothing was simulated" in err
    assert out == ""
