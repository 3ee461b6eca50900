"""The ``repaybot import`` command: read, validate, migrate, import, print a summary."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from core.db.models import PaymentMethodRow
from core.db.uow import Database
from core.domain.dates import DateError, parse_date
from core.gateway.link import ProviderLink
from core.gateway.port import OutcomeUnknown, ProviderRefused
from core.gateway.provider_client import ProviderClient
from core.importer.load import ImportInvalid, import_data, read_file
from core.importer.schema import validate
from core.services.payment_flow import account_of


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
        lines = report.lines()
        gateway = _gateway_url()
        if gateway:
            users = [int(user["telegram_id"]) for user in data.get("users", [])]
            lines.append(await _open_accounts(db, gateway, users))
    finally:
        await db.dispose()
    return lines


def _gateway_url() -> str:
    from core.settings import get_settings

    return get_settings().gateway_url


async def _open_accounts(db: Database, gateway: str, users: list[int]) -> str:
    """Open each payment method's account at the provider (GATEWAY_URL) with its balance;
    without GATEWAY_URL the bot opens them on first use. Opening again is harmless."""
    async with ProviderClient(gateway) as client:
        db.provider = ProviderLink(client)
        async with db.uow() as uow:
            rows = list(
                await uow.session.scalars(
                    select(PaymentMethodRow).where(
                        PaymentMethodRow.user_id.in_(users), PaymentMethodRow.removed_at.is_(None)
                    )
                )
            )
            accounts = [account_of(row) for row in rows]
        opened = 0
        for account in accounts:
            try:
                await db.provider.ensure_account(account)
                opened += 1
            except (OutcomeUnknown, ProviderRefused) as exc:
                print(
                    f"repaybot import: warning: {account.name} not opened: {exc}", file=sys.stderr
                )
        return f"{opened} payment method account(s) open at the provider"


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
