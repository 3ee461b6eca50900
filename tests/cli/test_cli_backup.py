"""``repaybot backup`` / ``restore``: an online SQLite backup taken while a write is in
progress, restored over a changed database; pg_dump/pg_restore on a real PostgreSQL."""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from pathlib import Path

import asyncpg
import pytest

from bot.cli import main

try:
    from tests.cli.conftest import DEMO, count, snapshot, sqlite_url
    from tests.pg import get_server
except ImportError:  # tests/ not importable as a package
    import sys

    sys.path.append(str(Path(__file__).resolve().parents[1]))
    from conftest import DEMO, count, snapshot, sqlite_url  # type: ignore[import-not-found,no-redef]
    from pg import get_server  # type: ignore[import-not-found,no-redef]

TODAY = "2026-11-22"


def _import(url: str) -> None:
    assert main(["import", str(DEMO), "--database-url", url, "--today", TODAY]) == 0


def test_sqlite_online_backup_while_writing_then_restore(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    _import(sqlite_url(live))
    before = snapshot(live)
    # Another connection is in the middle of a write: the backup must neither wait for it
    # nor contain its uncommitted rows.
    writer = sqlite3.connect(live)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("DELETE FROM allocation_lines")
    backup_file = tmp_path / "backups" / "repaybot.sqlite"
    try:
        assert main(["backup", str(backup_file), "--database-url", sqlite_url(live)]) == 0
    finally:
        writer.rollback()
        writer.close()
    assert snapshot(backup_file) == before
    assert not backup_file.with_name(backup_file.name + ".partial").exists()
    # Later changes, then a restore puts the database back as it was at the backup.
    with sqlite3.connect(live) as connection:
        connection.execute("DELETE FROM payments")
    assert count(live, "payments") == 0
    assert main(["restore", str(backup_file), "--database-url", sqlite_url(live)]) == 0
    assert snapshot(live) == before
    # Restoring into a fresh path works too (a new machine).
    fresh = tmp_path / "new" / "repaybot.db"
    assert main(["restore", str(backup_file), "--database-url", sqlite_url(fresh)]) == 0
    assert snapshot(fresh) == before


def test_backup_refuses_to_overwrite_and_restore_refuses_a_foreign_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = tmp_path / "live.db"
    _import(sqlite_url(live))
    target = tmp_path / "b.sqlite"
    target.write_text("keep me")
    # Refusals of what was asked exit 2, as a bad option does in every command.
    assert main(["backup", str(target), "--database-url", sqlite_url(live)]) == 2
    assert "exists" in capsys.readouterr().err
    assert target.read_text() == "keep me"
    assert main(["backup", str(target), "--database-url", sqlite_url(live), "--force"]) == 0
    foreign = tmp_path / "foreign.db"
    with sqlite3.connect(foreign) as connection:
        connection.execute("CREATE TABLE t (x)")
    before = snapshot(live)
    assert main(["restore", str(foreign), "--database-url", sqlite_url(live)]) == 2
    assert "not a RepayBot SQLite backup" in capsys.readouterr().err
    assert main(["restore", str(tmp_path / "missing"), "--database-url", sqlite_url(live)]) == 2
    assert snapshot(live) == before


async def _pg_rows(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        tables = ("users", "plans", "installments", "payments", "allocation_lines")
        return {t: int(await conn.fetchval(f"SELECT count(*) FROM {t}")) for t in tables} | {
            "paid_fen": int(await conn.fetchval("SELECT coalesce(sum(amount), 0) FROM payments"))
        }
    finally:
        await conn.close()


async def _wipe_payments(url: str) -> None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("DELETE FROM allocation_lines; DELETE FROM payments")
    finally:
        await conn.close()


def test_postgresql_pg_dump_and_pg_restore(tmp_path: Path) -> None:
    server = get_server()
    source, copy = f"b_{uuid.uuid4().hex[:10]}", f"r_{uuid.uuid4().hex[:10]}"
    server.create_database(source)
    server.create_database(copy)
    try:
        src_url, copy_url = server.url_for(source), server.url_for(copy)
        _import(src_url)
        expected = asyncio.run(_pg_rows(src_url))
        assert expected["payments"] > 0
        dump = tmp_path / "repaybot.dump"
        assert main(["backup", str(dump), "--database-url", src_url]) == 0
        assert main(["restore", str(dump), "--database-url", copy_url]) == 0
        assert asyncio.run(_pg_rows(copy_url)) == expected
        # Restoring over changed data puts it back.
        asyncio.run(_wipe_payments(copy_url))
        assert asyncio.run(_pg_rows(copy_url))["payments"] == 0
        assert main(["restore", str(dump), "--database-url", copy_url]) == 0
        assert asyncio.run(_pg_rows(copy_url)) == expected
    finally:
        server.drop_database(source)
        server.drop_database(copy)
