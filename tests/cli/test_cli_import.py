"""``repaybot import``: the demo file, idempotent re-import, and refused files."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main

try:
    from tests.cli.conftest import DEMO, count, demo_data, query, snapshot, sqlite_url
except ImportError:  # tests/ not importable as a package: the conftest folder is on sys.path
    from conftest import (  # type: ignore[import-not-found, no-redef]
        DEMO,
        count,
        demo_data,
        query,
        snapshot,
        sqlite_url,
    )

TODAY = "2026-11-22"


def _import(db: Path, file: Path = DEMO, today: str = TODAY) -> int:
    return main(["import", str(file), "--database-url", sqlite_url(db), "--today", today])


def _plans(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan for user in data["users"] for plan in user.get("plans", [])]


def test_demo_import_matches_the_file(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = demo_data()
    plans = _plans(data)
    assert _import(db_path) == 0
    out = capsys.readouterr().out
    assert "3 created, 0 already present" in out
    assert count(db_path, "users") == len(data["users"])
    assert count(db_path, "credit_lines") == sum(len(u["credit_lines"]) for u in data["users"])
    assert count(db_path, "payment_methods") == sum(
        len(u["payment_methods"]) for u in data["users"]
    )
    assert count(db_path, "plans") == len(plans)
    assert count(db_path, "installments") == sum(p["periods"] for p in plans)
    paid = sum(p.get("paid_periods", 0) for p in plans)
    assert paid > 0
    assert count(db_path, "payments") == paid
    assert count(db_path, "allocation_lines") == paid
    assert count(db_path, "quotes") == 0
    statuses = query(
        db_path, "SELECT kind, status, method_id, count(*) FROM payments GROUP BY 1, 2, 3"
    )
    assert statuses == [("imported", "succeeded", None, paid)]


def test_paid_periods_become_imported_payments(db_path: Path) -> None:
    assert _import(db_path) == 0
    for plan in _plans(demo_data()):
        rows = query(
            db_path,
            "SELECT i.period, i.due_date, i.principal + i.interest + i.fee, p.amount, p.paid_on,"
            " p.idempotency_key, a.principal, a.interest, a.fee, a.penalty"
            " FROM payments p JOIN allocation_lines a ON a.payment_id = p.id"
            " JOIN installments i ON i.id = a.installment_id"
            " JOIN plans pl ON pl.id = i.plan_id WHERE pl.external_id = ? ORDER BY i.period",
            plan["external_id"],
        )
        assert [row[0] for row in rows] == list(range(1, plan.get("paid_periods", 0) + 1))
        for period, due, owed, amount, paid_on, key, principal, interest, fee, penalty in rows:
            assert amount == owed == principal + interest + fee  # in full, stored in fen
            assert penalty == 0
            assert paid_on == due  # every demo period marked paid is already due
            user = next(u for u in demo_data()["users"] if plan in u["plans"])
            assert key == f"import:{user['telegram_id']}:{plan['external_id']}:{period}"


def test_method_balances_and_defaults(db_path: Path) -> None:
    assert _import(db_path) == 0
    for user in demo_data()["users"]:
        rows = query(
            db_path,
            "SELECT label, balance, is_default FROM payment_methods WHERE user_id = ? ORDER BY id",
            user["telegram_id"],
        )
        expected = [
            (m["label"], round(float(m["balance"]) * 100), int(bool(m.get("default"))))
            for m in user["payment_methods"]
        ]
        assert rows == expected


def test_fully_paid_plan_is_closed(db_path: Path) -> None:
    assert _import(db_path) == 0
    closed = query(db_path, "SELECT external_id FROM plans WHERE closed_at IS NOT NULL")
    full = [p["external_id"] for p in _plans(demo_data()) if p.get("paid_periods") == p["periods"]]
    assert full
    assert [row[0] for row in closed] == full


def test_reimport_changes_nothing(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(db_path) == 0
    before = snapshot(db_path)
    capsys.readouterr()
    assert _import(db_path, today="2026-12-31") == 0
    out = capsys.readouterr().out
    assert "0 created, 3 already present" in out
    assert snapshot(db_path) == before


def test_reimport_keeps_existing_balances_and_adds_new_items(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _import(db_path) == 0
    query(db_path, "UPDATE payment_methods SET balance = 1 WHERE label = '招商银行'")
    data = json.loads(DEMO.read_text(encoding="utf-8"))
    first = data["users"][0]
    first["plans"].append(
        {
            "external_id": "xm-new-1",
            "provider": "小米",
            "title": "小米手环 9",
            "principal": "249.00",
            "periods": 3,
            "method": "interest_free",
            "first_due": "2026-12-20",
        }
    )
    first["payment_methods"].append({"kind": "bank_card", "label": "招商银行", "last4": "9999"})
    changed = tmp_path / "more.json"
    changed.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    before = snapshot(db_path)
    capsys.readouterr()
    assert _import(db_path, changed) == 0
    out = capsys.readouterr().out
    assert "1 created, 11 already present" in out
    after = snapshot(db_path)
    assert len(after["plans"]) == len(before["plans"]) + 1
    assert len(after["installments"]) == len(before["installments"]) + 3
    assert len(after["payment_methods"]) == len(before["payment_methods"]) + 1
    assert after["payment_methods"][: len(before["payment_methods"])] == before["payment_methods"]
    assert query(db_path, "SELECT balance FROM payment_methods WHERE last4 = '1234'") == [(1,)]


BAD = {
    "users": [
        {
            "telegram_id": 1001,
            "language": "fr",
            "timezone": "Mars/Olympus",
            "nickname": "x",
            "credit_lines": [{"provider": "Xiaomi", "limit": "-1"}],
            "payment_methods": [
                {"kind": "bank_card", "label": "CMB", "last4": "12", "default": True},
                {"kind": "paypal", "label": "PP", "default": True},
            ],
            "plans": [
                {
                    "external_id": "o-1",
                    "provider": "Xiaomi",
                    "title": "Redmi",
                    "principal": "0",
                    "periods": 12,
                    "method": "annuity",
                    "rate": "0.18",
                    "first_due": "2026-12-05",
                },
                {
                    "external_id": "o-1",
                    "provider": "Xiaomi",
                    "title": "Redmi",
                    "principal": "1000.00",
                    "periods": 12,
                    "method": "annuity",
                    "rate": "0.5",
                    "first_due": "2026-12-05",
                    "paid_periods": 1,
                    "autopay_method": "ICBC",
                },
                {
                    "external_id": "o-2",
                    "provider": "Xiaomi",
                    "title": "Redmi",
                    "principal": "1000.00",
                    "periods": 6,
                    "method": "fee_per_period",
                    "rate": "0.006",
                    "first_due": "2026-02-30",
                    "paid_periods": 7,
                },
            ],
        },
        {"telegram_id": 1001, "language": "zh", "timezone": "Asia/Shanghai"},
        {"telegram_id": 0, "language": "en"},
    ]
}
BAD_PATHS = [
    "$.users[0].credit_lines[0].limit",
    "$.users[0].language",
    "$.users[0].nickname",
    "$.users[0].payment_methods[0].last4",
    "$.users[0].payment_methods[1].default",
    "$.users[0].payment_methods[1].kind",
    "$.users[0].plans[0].principal",
    "$.users[0].plans[1].autopay_method",
    "$.users[0].plans[1].external_id",
    "$.users[0].plans[1].rate",
    "$.users[0].plans[2].first_due",
    "$.users[0].timezone",
    "$.users[1].telegram_id",
    "$.users[2].telegram_id",
    "$.users[2].timezone",
]


def test_every_error_is_listed_and_nothing_changes(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(BAD), encoding="utf-8")
    assert main(["migrate", "--database-url", sqlite_url(db_path)]) == 0
    capsys.readouterr()
    assert _import(db_path, bad) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    paths = [line.split(": ", 1)[0] for line in lines[:-1]]
    assert paths == BAD_PATHS
    assert "$.users[0].plans[0].principal: must be positive" in lines
    assert lines[-1].endswith(f"{len(BAD_PATHS)} errors in {bad}; nothing was imported")
    assert all(count(db_path, table) == 0 for table in ("users", "plans", "payment_methods"))


def test_bad_file_leaves_an_existing_database_unchanged(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _import(db_path) == 0
    before = snapshot(db_path)
    data = demo_data()
    data["users"][1]["plans"][0]["periods"] = 0
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data, default=str, ensure_ascii=False), encoding="utf-8")
    assert _import(db_path, bad) == 2
    assert "$.users[1].plans[0].periods:" in capsys.readouterr().err
    assert snapshot(db_path) == before


def test_malformed_json(db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"users": [\n  {"telegram_id": 1001,,}\n]}', encoding="utf-8")
    assert _import(db_path, broken) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "malformed JSON at line 2, column" in err[0]
    assert not db_path.exists()


def test_missing_file(db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(db_path, tmp_path / "nope.json") == 2
    assert "nope.json: no such file" in capsys.readouterr().err
    assert not db_path.exists()


def test_bad_today_exits_2(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _import(db_path, today="yesterday") == 2
    assert "--today" in capsys.readouterr().err


def test_database_url_from_settings(isolated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", str(DEMO), "--today", TODAY]) == 0
    assert str(isolated / "env.db") in capsys.readouterr().out
    assert count(isolated / "env.db", "users") == 3


def test_a_first_due_date_out_of_range_is_listed_and_nothing_changes(
    db_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked against the import day (``--today``), after the file itself is valid."""
    data = demo_data()
    data["users"][1]["plans"][0].update(first_due="1900-01-05", start_date="1899-12-05")
    bad = tmp_path / "old.json"
    bad.write_text(json.dumps(data, default=str, ensure_ascii=False), encoding="utf-8")
    assert main(["migrate", "--database-url", sqlite_url(db_path)]) == 0
    capsys.readouterr()
    assert _import(db_path, bad) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "$.users[1].plans[0].first_due: more than 1860 days before the import day (2026-11-22)",
        f"repaybot import: error: 1 error in {bad}; nothing was imported",
    ]
    assert all(count(db_path, table) == 0 for table in ("users", "plans", "payment_methods"))


def test_with_a_provider_each_method_opens_its_account_with_its_balance(
    db_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """With GATEWAY_URL set, the import opens every payment method's account at the
    provider (a real ``repaybot bank`` process) with the file's balance; again, harmlessly."""
    from core.gateway.provider_client import ProviderClient
    from core.settings import get_settings
    from tests.bank.bank_process import BankProcess

    bank = BankProcess(tmp_path / "bank.db").start()
    try:
        monkeypatch.setenv("GATEWAY_URL", bank.url)
        get_settings.cache_clear()
        assert _import(db_path) == 0
        assert _import(db_path) == 0  # opening again changes nothing
        methods = sum(len(u["payment_methods"]) for u in demo_data()["users"])
        assert (
            f"{methods} payment method account(s) open at the provider" in capsys.readouterr().out
        )
        rows = query(db_path, "SELECT provider_account, balance FROM payment_methods")

        async def balances() -> list[tuple[str, int]]:
            async with ProviderClient(bank.url) as client:
                return [(name, round(await client.balance(name) * 100)) for name, _ in rows]

        assert asyncio.run(balances()) == rows
    finally:
        get_settings.cache_clear()
        bank.stop()
