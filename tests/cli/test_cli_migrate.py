"""``repaybot migrate``, the database URL handling, and the installed console script."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from core.importer.command import BadDatabaseUrl, database_url

try:
    from tests.cli.conftest import DEMO, TABLES, count, query, sqlite_url
except ImportError:  # tests/ not importable as a package: the conftest folder is on sys.path
    from conftest import (  # type: ignore[import-not-found, no-redef]
        DEMO,
        TABLES,
        count,
        query,
        sqlite_url,
    )


def _tables(db: Path) -> set[str]:
    return {row[0] for row in query(db, "SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_migrate_creates_the_tables(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = sqlite_url(db_path)
    assert main(["migrate", "--database-url", url]) == 0
    assert url in capsys.readouterr().out
    assert set(TABLES) | {"alembic_version"} <= _tables(db_path)
    assert all(count(db_path, table) == 0 for table in TABLES)
    assert main(["migrate", "--database-url", url]) == 0  # idempotent


def test_migrate_uses_database_url_setting(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert str(isolated / "env.db") in capsys.readouterr().out
    assert "plans" in _tables(isolated / "env.db")


def test_shown_url_hides_the_password() -> None:
    url, shown = database_url("postgresql+asyncpg://repay:s3cret@db.internal:5432/repaybot")
    assert "s3cret" in url
    assert "s3cret" not in shown
    assert shown.startswith("postgresql+asyncpg://repay:")
    assert "@db.internal:5432" in shown


def test_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(BadDatabaseUrl):
        database_url("not a url")
    assert main(["migrate", "--database-url", "not a url"]) == 2
    assert "database URL" in capsys.readouterr().err


def _script() -> list[str]:
    """The installed ``repaybot`` script next to this Python, else on PATH, else ``-m``."""
    beside = Path(sys.executable).parent / "repaybot"
    if beside.exists():
        return [str(beside)]
    found = shutil.which("repaybot")
    return [found] if found else [sys.executable, "-m", "bot.cli"]


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": sqlite_url(tmp_path / "env.db")}
    return subprocess.run(
        [*_script(), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_console_script_schedule_touches_nothing(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "schedule",
        "--principal",
        "6,000",
        "--periods",
        "12",
        "--method",
        "annuity",
        "--rate",
        "0.18",
        "--first-due",
        "2026-12-15",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["apr"] == "0.1800"
    assert list(tmp_path.iterdir()) == []


def test_console_script_bad_input_exits_2(tmp_path: Path) -> None:
    result = _run(
        tmp_path,
        "schedule",
        "--principal",
        "lots",
        "--periods",
        "12",
        "--method",
        "annuity",
        "--first-due",
        "2026-12-15",
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "repaybot schedule: error: --principal: not an amount: 'lots'"
    ]


def test_console_script_migrate_and_import(tmp_path: Path) -> None:
    result = _run(tmp_path, "migrate")
    assert result.returncode == 0, result.stderr
    assert "plans" in _tables(tmp_path / "env.db")
    result = _run(tmp_path, "import", str(DEMO), "--today", "2026-11-22")
    assert result.returncode == 0, result.stderr
    assert "3 created" in result.stdout
    assert count(tmp_path / "env.db", "payments") == 24


def test_module_entry_point(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "schedule" in result.stdout
