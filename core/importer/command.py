"""The ``repaybot import`` command: read, validate, migrate, import, print a summary."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from core.db.uow import Database
from core.domain.dates import DateError, parse_date
from core.importer.load import ImportInvalid, import_data, read_file
from core.importer.schema import validate


class BadDatabaseUrl(ValueError):
    """The database URL (option or setting) cannot be used."""


def database_url(option: str | None) -> tuple[str, str]:
    """The URL to use (the option, else ``DATABASE_URL``) and how to show it (no password)."""
    try:
        if option:
            url = option
        else:
            from core.settings import get_settings

            url = get_settings().database_url
        return url, make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError) as exc:
        raise BadDatabaseUrl(f"database URL: {exc}") from exc


def _fail(message: str, code: int) -> int:
    print(f"repaybot import: error: {message}", file=sys.stderr)
    return code


def _invalid(path: Path, errors: list[str]) -> int:
    for error in errors:
        print(error, file=sys.stderr)
    count = f"{len(errors)} error{'s' if len(errors) > 1 else ''}"
    return _fail(f"{count} in {path}; nothing was imported", 2)


async def _write(url: str, data: Any, now: datetime) -> list[str]:
    db = Database.from_url(url)
    try:
        await db.migrate()
        report = await import_data(db, data, now)
    finally:
        await db.dispose()
    return report.lines()


def run_import(path: Path, url_option: str | None, today: str | None) -> int:
    """Exit code 0 on success; 2 for a bad option or file (missing, malformed, or with
    invalid content: nothing is imported); 1 when the database fails."""
    now = datetime.now(UTC)
    if today is not None:
        try:
            # Noon UTC is the same calendar day from UTC-11 to UTC+11.
            now = datetime.combine(parse_date(today), time(12), UTC)
        except DateError as exc:
            return _fail(f"--today: not a date: {exc.text!r} (use YYYY-MM-DD)", 2)
    try:
        data = read_file(path)
    except ImportInvalid as exc:
        return _fail(exc.errors[0], 2)
    _model, errors = validate(data)
    if errors:
        return _invalid(path, errors)
    try:
        url, shown = database_url(url_option)
    except BadDatabaseUrl as exc:
        return _fail(str(exc), 2)
    try:
        lines = asyncio.run(_write(url, data, now))
    except ImportInvalid as exc:  # a bound of the import day, or a limit with what is held
        return _invalid(path, exc.errors)
    except (SQLAlchemyError, OSError) as exc:
        return _fail(f"{shown}: {exc}; nothing was imported", 1)
    print(f"Imported {path} into {shown}:")
    print("\n".join(f"  {line}" for line in lines))
    return 0
