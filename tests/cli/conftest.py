"""Fixtures for the ``repaybot`` command tests: real SQLite files under ``tmp_path``."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from core.settings import get_settings

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo.json"
TABLES = (
    "users",
    "credit_lines",
    "payment_methods",
    "plans",
    "installments",
    "quotes",
    "payments",
    "allocation_lines",
)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def demo_data() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEMO.read_text(encoding="utf-8"), parse_float=Decimal)
    return data


def count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as connection:
        (value,) = connection.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(value)


def snapshot(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in id order: compares whole databases."""
    with sqlite3.connect(db) as connection:
        return {
            table: connection.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
            for table in TABLES
        }


def query(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql, params).fetchall()


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Work in ``tmp_path`` with ``DATABASE_URL`` pointing at ``tmp_path/env.db``."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", sqlite_url(tmp_path / "env.db"))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "db" / "repaybot.db"
