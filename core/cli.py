"""The operator's ``repaybot`` commands that need only core: schedule, migrate, import.

``bot.cli`` builds this parser, adds the bot's own commands and dispatches.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NoReturn, cast

from core.domain.dates import DateError, parse_date
from core.domain.terms import Method, PlanTerms
from core.money import AmountError, parse_amount
from core.services.errors import InvalidInput
from core.services.plans import PlanPreview, preview_plan

Handler = Callable[[argparse.Namespace], int]
PROG = "repaybot"


class CommandParser(argparse.ArgumentParser):
    """An argparse parser whose errors are one line on stderr, exit code 2."""

    commands: argparse._SubParsersAction[CommandParser]

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> CommandParser:
    """The ``repaybot`` parser with core's commands; ``parser.commands`` takes more."""
    parser = CommandParser(prog=PROG, description="RepayBot (还款助手) operator commands.")
    parser.commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_schedule(parser.commands)
    _add_migrate(parser.commands)
    _add_import(parser.commands)
    _add_backup(parser.commands)
    _add_healthcheck(parser.commands)
    return parser


def dispatch(args: argparse.Namespace) -> int:
    """Run the command ``args`` were parsed for; returns the exit code."""
    handler = cast(Handler, args.handler)
    return handler(args)


# Exit codes, the same for every command: what was given is wrong (an option, a file
# that is missing, exists or is not what the command reads) — or the work failed.
BAD_INPUT, FAILED = 2, 1


def _fail(command: str, message: str, code: int) -> int:
    print(f"{PROG} {command}: error: {message}", file=sys.stderr)
    return code


# --- schedule -------------------------------------------------------------------------


def _add_schedule(commands: argparse._SubParsersAction[CommandParser]) -> None:
    sub = commands.add_parser(
        "schedule",
        help="print a repayment schedule (touches no database)",
        description="Repayment schedule, totals and annualized rate of a plan's terms.",
    )
    sub.add_argument("--principal", required=True, help="amount, e.g. 6000 or 6,000.00")
    sub.add_argument("--periods", required=True, help="number of monthly periods (1-60)")
    sub.add_argument("--method", required=True, choices=[m.value for m in Method])
    sub.add_argument(
        "--rate",
        help="APR for annuity/equal_principal, fee rate per period for fee_per_period "
        "(a fraction such as 0.18, or a percentage such as 18%%); required but for "
        "interest_free",
    )
    sub.add_argument("--first-due", required=True, help="first due date, YYYY-MM-DD")
    sub.add_argument("--start-date", help="disbursement date (default: a month before)")
    sub.add_argument("--json", action="store_true", help="print JSON instead of a table")
    sub.set_defaults(handler=_schedule)


_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*(%?)")  # always fullmatch


def _parse_rate(text: str) -> Decimal:
    match = _RATE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a rate: {text!r} (use a fraction such as 0.18, or 18%)")
    value = Decimal(match[1])
    return value / 100 if match[2] else value


def _parse_periods(text: str) -> int:
    if not re.fullmatch(r"\s*\d{1,4}\s*", text):
        raise ValueError(f"not a whole number: {text!r}")
    return int(text)


def _schedule_terms(args: argparse.Namespace) -> PlanTerms:
    """The terms the options describe; ``InvalidInput`` names the option that is wrong."""
    from core.importer.schema import AMOUNT_MESSAGES, date_message

    try:
        principal = parse_amount(args.principal)
    except AmountError as exc:
        raise InvalidInput("--principal", f"{AMOUNT_MESSAGES[exc.problem]}: {exc.text!r}") from exc
    dates: dict[str, date | None] = {"first_due": None, "start_date": None}
    for name in dates:
        text = getattr(args, name)
        try:
            dates[name] = None if text is None else parse_date(text)
        except DateError as exc:
            option = "--" + name.replace("_", "-")
            raise InvalidInput(option, f"{date_message(exc)}: {exc.text!r}") from exc
    try:
        periods = _parse_periods(args.periods)
    except ValueError as exc:
        raise InvalidInput("--periods", str(exc)) from exc
    method = Method(args.method)
    if args.rate is None and method is not Method.INTEREST_FREE:
        # A silent 0 would print an interest-free plan under another method's name.
        raise InvalidInput("--rate", f"required for {method.value}")
    try:
        rate = _parse_rate(args.rate or "0")
    except ValueError as exc:
        raise InvalidInput("--rate", str(exc)) from exc
    first_due = dates["first_due"]
    assert first_due is not None
    return PlanTerms(principal, periods, method, rate, first_due, start_date=dates["start_date"])


def _schedule(args: argparse.Namespace) -> int:
    try:
        terms = _schedule_terms(args)
        preview = preview_plan(terms)
    except InvalidInput as exc:
        option = exc.field if exc.field.startswith("--") else _option_of(exc.field, args)
        return _fail("schedule", f"{option}: {exc.problem}", BAD_INPUT)
    if args.json:
        print(json.dumps(schedule_json(preview), ensure_ascii=False))
    else:
        print("\n".join(schedule_table(preview, terms)))
    return 0


def _option_of(field: str, args: argparse.Namespace) -> str:
    if field == "start_date":
        return "--start-date" if args.start_date is not None else "--first-due"
    if field in ("principal", "periods", "rate"):
        return f"--{field}"
    return field


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def schedule_json(preview: PlanPreview) -> dict[str, object]:
    """``{"installments": [...], "totals": {...}, "apr": "0.1800"}``, decimals as strings."""
    totals = preview.totals
    return {
        "installments": [
            {
                "period": item.period,
                "due_date": item.due_date.isoformat(),
                "principal": _money(item.principal),
                "interest": _money(item.interest),
                "fee": _money(item.fee),
                "total": _money(item.total),
            }
            for item in preview.schedule
        ],
        "totals": {
            "principal": _money(totals.principal),
            "interest": _money(totals.interest),
            "fee": _money(totals.fee),
            "total": _money(totals.total),
        },
        "apr": f"{preview.apr:.4f}",
    }


def _percent(rate: Decimal) -> str:
    """A rate as a percentage: 2 decimals, more only when the rate has them."""
    value = rate * 100
    exponent = value.normalize().as_tuple().exponent
    places = max(2, -exponent) if isinstance(exponent, int) else 2
    return f"{value:.{places}f} %"


def _headline(terms: PlanTerms) -> str:
    if terms.method is Method.FEE_PER_PERIOD:
        return f"{_percent(terms.rate)} per period (fee on the principal)"
    if terms.method is Method.INTEREST_FREE or terms.rate == 0:
        return "interest free"
    return f"{_percent(terms.rate)} a year (monthly rate = APR / 12)"


def schedule_table(preview: PlanPreview, terms: PlanTerms) -> list[str]:
    """The schedule as aligned text: one row per period, totals, the annualized rate."""
    header = ("Period", "Due date", "Principal", "Interest", "Fee", "Total")
    rows = [
        (
            f"{item.period}/{terms.periods}",
            item.due_date.isoformat(),
            *(f"{v:,.2f}" for v in (item.principal, item.interest, item.fee, item.total)),
        )
        for item in preview.schedule
    ]
    totals = preview.totals
    footer = (
        "Total",
        "",
        *(f"{v:,.2f}" for v in (totals.principal, totals.interest, totals.fee, totals.total)),
    )
    widths = [max(len(row[i]) for row in (header, *rows, footer)) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        cells = [row[0].ljust(widths[0]), row[1].ljust(widths[1])]
        cells += [cell.rjust(width) for cell, width in zip(row[2:], widths[2:], strict=True)]
        return "  ".join(cells).rstrip()

    rule = "-" * len(line(header))
    return [
        line(header),
        rule,
        *(line(row) for row in rows),
        rule,
        line(footer),
        "",
        f"Annualized rate (年化利率, IRR x 12): {preview.apr * 100:.2f} %",
        f"Headline rate: {_headline(terms)}",
    ]


# --- migrate and import ---------------------------------------------------------------


def _add_migrate(commands: argparse._SubParsersAction[CommandParser]) -> None:
    sub = commands.add_parser(
        "migrate",
        help="create or upgrade the database schema",
        description="Apply the database migrations (a no-op when up to date).",
    )
    sub.add_argument("--database-url", help="SQLAlchemy async URL (default: DATABASE_URL)")
    sub.set_defaults(handler=_migrate)


def _add_import(commands: argparse._SubParsersAction[CommandParser]) -> None:
    sub = commands.add_parser(
        "import",
        help="import users, credit lines, payment methods and plans from a JSON file",
        description="Validate FILE.json completely, then import it in one transaction "
        "(idempotent: what already exists is left as is). The format is in the README.",
    )
    sub.add_argument("file", metavar="FILE.json", type=Path)
    sub.add_argument("--database-url", help="SQLAlchemy async URL (default: DATABASE_URL)")
    sub.add_argument("--today", help="the date of the import, YYYY-MM-DD (default: today)")
    sub.set_defaults(handler=_import)


async def _run_migrate(url: str) -> None:
    from core.db.uow import Database

    db = Database.from_url(url)
    try:
        await db.migrate()
    finally:
        await db.dispose()


def _migrate(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from core.importer.command import BadDatabaseUrl, database_url

    try:
        url, shown = database_url(args.database_url)
    except BadDatabaseUrl as exc:
        return _fail("migrate", str(exc), BAD_INPUT)
    try:
        asyncio.run(_run_migrate(url))
    except (SQLAlchemyError, OSError) as exc:
        return _fail("migrate", f"{shown}: {exc}", FAILED)
    print(f"Database {shown} is at the latest schema.")
    return 0


def _import(args: argparse.Namespace) -> int:
    from core.importer.command import run_import

    return run_import(args.file, args.database_url, args.today)


# --- backup, restore, healthcheck ------------------------------------------------------


def _add_backup(commands: argparse._SubParsersAction[CommandParser]) -> None:
    sub = commands.add_parser(
        "backup",
        help="back up the database to a file (online: the bot may keep running)",
        description="SQLite: an online backup (a consistent copy). PostgreSQL: pg_dump "
        "--format=custom. The file is written completely or not at all.",
    )
    sub.add_argument("file", metavar="FILE", type=Path)
    sub.add_argument("--database-url", help="SQLAlchemy async URL (default: DATABASE_URL)")
    sub.add_argument("--force", action="store_true", help="overwrite FILE if it exists")
    sub.set_defaults(handler=_backup)
    sub = commands.add_parser(
        "restore",
        help="replace the database's content with a backup (stop the bot first)",
        description="SQLite: copies the backup into the database file. PostgreSQL: "
        "pg_restore --clean. A backup from an older version is migrated when the bot "
        "starts again (or run `repaybot migrate`).",
    )
    sub.add_argument("file", metavar="FILE", type=Path)
    sub.add_argument("--database-url", help="SQLAlchemy async URL (default: DATABASE_URL)")
    sub.set_defaults(handler=_restore)


def _backup_url(args: argparse.Namespace) -> str:
    from core.settings import get_settings

    url: str = args.database_url or get_settings().database_url
    return url


def _backup(args: argparse.Namespace) -> int:
    from core.backup import BackupError, BackupRefused, backup

    try:
        backup(_backup_url(args), args.file, force=args.force)
    except BackupError as exc:
        return _fail("backup", str(exc), BAD_INPUT if isinstance(exc, BackupRefused) else FAILED)
    print(f"backup written to {args.file} ({args.file.stat().st_size} bytes)")
    return 0


def _restore(args: argparse.Namespace) -> int:
    from core.backup import BackupError, BackupRefused, restore

    try:
        restore(_backup_url(args), args.file)
    except BackupError as exc:
        return _fail("restore", str(exc), BAD_INPUT if isinstance(exc, BackupRefused) else FAILED)
    print(f"restored from {args.file}")
    return 0


def _add_healthcheck(commands: argparse._SubParsersAction[CommandParser]) -> None:
    sub = commands.add_parser(
        "healthcheck",
        help="exit 0 when the running bot's /healthz says ok (for container health checks)",
    )
    sub.add_argument("--url", help="default: http://127.0.0.1:HTTP_PORT/healthz")
    sub.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    sub.set_defaults(handler=_healthcheck)


def _healthcheck(args: argparse.Namespace) -> int:
    import urllib.error
    import urllib.request

    from core.settings import get_settings

    url = args.url or f"http://127.0.0.1:{get_settings().http_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout) as response:
            body = response.read().decode()
    except urllib.error.HTTPError as exc:
        print(exc.read().decode(errors="replace"))
        return 1
    except (OSError, ValueError) as exc:
        return _fail("healthcheck", f"{url}: {exc}", 1)
    print(body)
    return 0
