"""``repaybot schedule``: the calculator, as text and JSON, and its refusals."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from bot.cli import main

BASE = ["schedule", "--principal", "6000", "--periods", "12", "--first-due", "2026-12-15"]
METHODS = [
    ("fee_per_period", "0.006", "0.1303"),
    ("annuity", "0.18", "0.1800"),
    ("equal_principal", "0.12", None),
    ("interest_free", "0", "0.0000"),
]


def _run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main([*args, "--json"]) == 0
    out = capsys.readouterr().out
    parsed: dict[str, object] = json.loads(out, parse_float=Decimal)
    return parsed


@pytest.mark.parametrize(("method", "rate", "apr"), METHODS)
def test_json_structure_and_totals(
    capsys: pytest.CaptureFixture[str], method: str, rate: str, apr: str | None
) -> None:
    payload = _run_json(capsys, *BASE, "--method", method, "--rate", rate)
    assert set(payload) == {"installments", "totals", "apr"}
    installments = payload["installments"]
    totals = payload["totals"]
    assert isinstance(installments, list)
    assert isinstance(totals, dict)
    assert len(installments) == 12
    keys = {"period", "due_date", "principal", "interest", "fee", "total"}
    for number, item in enumerate(installments, start=1):
        assert set(item) == keys
        assert item["period"] == number
        date.fromisoformat(item["due_date"])
        for key in keys - {"period", "due_date"}:
            assert isinstance(item[key], str)
            assert Decimal(item[key]) == Decimal(item[key]).quantize(Decimal("0.01"))
            assert len(item[key].split(".")[1]) == 2
        parts = sum(Decimal(item[k]) for k in ("principal", "interest", "fee"))
        assert Decimal(item["total"]) == parts
    assert installments[0]["due_date"] == "2026-12-15"
    assert installments[-1]["due_date"] == "2027-11-15"
    assert set(totals) == {"principal", "interest", "fee", "total"}
    for key in totals:
        assert Decimal(totals[key]) == sum(Decimal(item[key]) for item in installments)
    assert totals["principal"] == "6000.00"
    assert isinstance(payload["apr"], str)
    assert len(payload["apr"].split(".")[1]) == 4
    if apr is not None:
        assert payload["apr"] == apr


def test_annuity_example(capsys: pytest.CaptureFixture[str]) -> None:
    payload = _run_json(capsys, *BASE, "--method", "annuity", "--rate", "0.18")
    assert payload["apr"] == "0.1800"
    assert payload["totals"] == {
        "principal": "6000.00",
        "interest": "600.95",
        "fee": "0.00",
        "total": "6600.95",
    }


def test_fee_per_period_is_about_13_percent_a_year(capsys: pytest.CaptureFixture[str]) -> None:
    payload = _run_json(capsys, *BASE, "--method", "fee_per_period", "--rate", "0.006")
    assert payload["apr"] == "0.1303"
    assert payload["totals"] == {
        "principal": "6000.00",
        "interest": "0.00",
        "fee": "432.00",
        "total": "6432.00",
    }


@pytest.mark.parametrize("principal", ["6,000", "¥6000", "6000.00", "￥6,000.00"])
def test_principal_as_people_type_it(capsys: pytest.CaptureFixture[str], principal: str) -> None:
    args = ["schedule", "--periods", "12", "--first-due", "2026-12-15", "--method", "annuity"]
    payload = _run_json(capsys, *args, "--principal", principal, "--rate", "0.18")
    reference = _run_json(capsys, *BASE, "--method", "annuity", "--rate", "0.18")
    assert payload == reference


def test_rate_as_percentage(capsys: pytest.CaptureFixture[str]) -> None:
    percent = _run_json(capsys, *BASE, "--method", "fee_per_period", "--rate", "0.6%")
    fraction = _run_json(capsys, *BASE, "--method", "fee_per_period", "--rate", "0.006")
    assert percent == fraction


def test_start_date_changes_first_period_only(capsys: pytest.CaptureFixture[str]) -> None:
    args = [*BASE, "--method", "equal_principal", "--rate", "0.12", "--start-date", "2026-11-01"]
    payload = _run_json(capsys, *args)
    assert isinstance(payload["installments"], list)
    assert payload["installments"][0]["due_date"] == "2026-12-15"


def test_a_short_first_period_is_charged_for_its_days(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """¥10,000 at 24 % from 2026-11-30, first due 2026-12-15: 15 of the 30 days from
    11-15, so ¥100.00 of interest, not a month's ¥200.00; the disclosed rate is the IRR
    of those dates (issue 11 §4). The /add preview shows the same (``preview_plan``)."""
    args = ["schedule", "--principal", "10000", "--periods", "12", "--first-due"]
    args += ["2026-12-15", "--method", "annuity", "--rate", "0.24"]
    regular = _run_json(capsys, *args)
    short = _run_json(capsys, *args, "--start-date", "2026-11-30")
    assert isinstance(regular["installments"], list)
    assert isinstance(short["installments"], list)
    assert regular["installments"][0]["interest"] == "200.00"
    assert short["installments"][0]["interest"] == "100.00"
    # Same principal in every period; only period 1's interest differs.
    assert [i["principal"] for i in short["installments"]] == [
        i["principal"] for i in regular["installments"]
    ]
    assert short["installments"][1:] == regular["installments"][1:]
    assert (regular["apr"], short["apr"]) == ("0.2400", "0.2401")


@pytest.mark.parametrize(("method", "rate", "apr_line", "headline"), [
    ("annuity", "0.18", "18.00 %", "18.00 % a year"),
    ("fee_per_period", "0.006", "13.03 %", "0.60 % per period"),
    ("fee_per_period", "0.00675", "14.", "0.675 % per period"),
    ("equal_principal", "0.12", "12.00 %", "12.00 % a year"),
    ("interest_free", "0", "0.00 %", "interest free"),
])  # fmt: skip
def test_text_table(
    capsys: pytest.CaptureFixture[str], method: str, rate: str, apr_line: str, headline: str
) -> None:
    assert main([*BASE, "--method", method, "--rate", rate]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["Period", "Due", "date", "Principal", "Interest", "Fee", "Total"]
    rows = [line for line in lines if line[:1].isdigit()]
    assert len(rows) == 12
    assert rows[0].startswith("1/12")
    assert "2026-12-15" in rows[0]
    # Aligned: every row and the totals line end in the same column.
    total_line = next(line for line in lines if line.startswith("Total"))
    assert {len(row) for row in rows} | {len(total_line)} == {len(lines[0])}
    assert total_line.split()[1] == "6,000.00"
    annualized = next(line for line in lines if line.startswith("Annualized rate"))
    assert apr_line in annualized
    assert headline in next(line for line in lines if line.startswith("Headline rate"))


def test_totals_in_text_equal_sum_of_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--method", "annuity", "--rate", "0.18"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines if line[:1].isdigit()]
    total = next(line for line in lines if line.startswith("Total")).split()
    for column in range(2, 6):
        expected = sum(Decimal(row[column].replace(",", "")) for row in rows)
        assert Decimal(total[column - 1].replace(",", "")) == expected


@pytest.mark.parametrize(("change", "option", "problem"), [
    (["--principal", "abc"], "--principal", "not an amount"),
    (["--principal", "0"], "--principal", "must be positive"),
    (["--principal", "-100"], "--principal", "must be positive"),
    (["--principal", "12.345"], "--principal", "decimals"),
    (["--principal", "5"], "--principal", "at least"),
    (["--first-due", "2026-02-30"], "--first-due", "no such day"),
    (["--first-due", "next week"], "--first-due", "not a date"),
    (["--start-date", "2027-01-01"], "--start-date", "before its first due date"),
    (["--start-date", "2026-12-14"], "--start-date", "10 to 62 days long (it is 1)"),
    (["--start-date", "2026-10-13"], "--start-date", "10 to 62 days long (it is 63)"),
    (["--method", "balloon"], "--method", "invalid choice"),
    (["--rate", "0.5"], "--rate", "above"),
    (["--rate", "abc"], "--rate", "not a rate"),
    (["--periods", "0"], "--periods", "1..60"),
    (["--periods", "61"], "--periods", "1..60"),
    (["--periods", "twelve"], "--periods", "not a whole number"),
])  # fmt: skip
def test_bad_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], change: list[str], option: str, problem: str
) -> None:
    args = [*BASE, "--method", "annuity", "--rate", "0.18"]
    index = args.index(change[0]) if change[0] in args else len(args)
    args[index : index + 2] = change
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert option in lines[0]
    assert problem in lines[0]


def test_fee_rate_too_high(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--method", "fee_per_period", "--rate", "0.05"]) == 2
    assert "--rate: fee rate per period above" in capsys.readouterr().err


def test_interest_free_refuses_a_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*BASE, "--method", "interest_free", "--rate", "0.01"]) == 2
    assert "--rate" in capsys.readouterr().err


def test_missing_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "--principal", "6000"]) == 2
    assert "required" in capsys.readouterr().err


def test_touches_no_database_and_no_settings(
    isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # A settings file that cannot even be loaded: schedule must not read it.
    (isolated / ".env").write_text("DEFAULT_TIMEZONE=Not/AZone\n", encoding="utf-8")
    monkeypatch.setenv("WEBHOOK_PORT", "not-a-port")
    before = sorted(path.name for path in isolated.iterdir())
    assert main([*BASE, "--method", "annuity", "--rate", "0.18"]) == 0
    assert main([*BASE, "--method", "annuity", "--rate", "0.18", "--json"]) == 0
    capsys.readouterr()
    assert sorted(path.name for path in isolated.iterdir()) == before == [".env"]


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schedule", "--help"]) == 0
    assert "--first-due" in capsys.readouterr().out
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "schedule" in out
    assert "migrate" in out
    assert "import" in out


def test_no_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "required" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["annuity", "equal_principal", "fee_per_period"])
def test_a_rate_is_required_but_for_an_interest_free_plan(
    capsys: pytest.CaptureFixture[str], method: str
) -> None:
    """Without --rate the schedule of an annuity was printed at 0 %: an interest-free plan
    under another name. Now it is refused, as any bad option is (exit 2)."""
    assert main([*BASE, "--method", method]) == 2
    assert capsys.readouterr().err == f"repaybot schedule: error: --rate: required for {method}\n"
    assert main([*BASE, "--method", "interest_free"]) == 0
    assert "Total" in capsys.readouterr().out


def test_restore_help_says_an_older_backup_is_migrated_at_start(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["restore", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "migrated when the bot starts again" in out
