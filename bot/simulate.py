"""``repaybot simulate``: the live bot's sweeps on a virtual clock, against a scratch database.

``run_sweep`` — the very sweep the bot runs every few seconds — is called every
``--step-minutes`` of virtual time from 00:00 UTC of ``--from`` (skipping the ticks that
cannot find work, see ``sweep_instants``), with an in-memory chat instead of Telegram.
Afterwards each day's end positions are compared with the day
before's, which shows the installments that went overdue and the penalty accrued. The
timeline is in each user's own time zone, and the live database is never opened: an
operator sees what a policy does before turning it on.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from telegram import InlineKeyboardMarkup

from bot.deps import SendState
from bot.jobs import SweepReport, run_sweep
from bot.sandbox import DEMO
from bot.texts import money
from core.db.uow import Database
from core.domain.dates import DateError, parse_date
from core.domain.reminders import ReminderKind, local_instant
from core.domain.status import InstallmentStatus, plan_positions
from core.gateway.bank.embedded import running_bank
from core.importer.load import ImportInvalid, import_data, read_file
from core.importer.schema import ImportFile, date_message, validate
from core.money import ZERO
from core.services.autopay_sweep import RETRY_TIME, AutopayReceipt
from core.services.books import load_plans
from core.services.clock import local_date
from core.services.payment_receipts import PaymentReceipt
from core.services.reminder_items import ReminderItem
from core.services.reminder_sweep import ReminderBatch
from core.services.reminders import get_reminder_settings
from core.settings import Settings, get_settings

MAX_DAYS = 3660
_TAG = re.compile(r"<[^>]+>")


def plain_text(text: str) -> str:
    """A message as the reader sees it: Telegram's HTML tags gone, entities decoded."""
    return html.unescape(_TAG.sub("", text))


@dataclass(frozen=True, slots=True)
class SentMessage:
    chat_id: int
    at: datetime  # virtual time, UTC
    text: str  # plain text


class TranscriptSink:
    """A ``ChatSink`` that keeps every message at the virtual time it was sent."""

    def __init__(self) -> None:
        self.now = datetime.min.replace(tzinfo=UTC)  # set by the clock before each sweep
        self.messages: list[SentMessage] = []

    async def deliver(self, chat_id: int, text: str, markup: InlineKeyboardMarkup) -> int:
        self.messages.append(SentMessage(chat_id, self.now, plain_text(text)))
        return len(self.messages)


class Kind(StrEnum):
    REMINDER = "reminder"
    RECEIPT = "receipt"  # a receipt message with no debit of the same sweep (not expected)
    DEBIT_OK = "debit_ok"
    DEBIT_FAILED = "debit_failed"
    OVERDUE = "overdue"
    PENALTY = "penalty"


@dataclass(slots=True)
class Event:
    """One timeline line; ``at`` is the user's local time, ``None`` for the day's end."""

    day: date
    at: time | None
    user_id: int
    kind: Kind
    text: str
    amount: Decimal = ZERO
    message: str | None = None  # the message that went out for it, if any

    def sort_key(self) -> tuple[date, int, int]:
        minute = 24 * 60 if self.at is None else self.at.hour * 60 + self.at.minute
        return (self.day, minute, self.user_id)


@dataclass
class Totals:
    messages: int = 0
    reminders: int = 0
    receipts: int = 0
    debits_ok: int = 0
    debited: Decimal = ZERO
    debits_failed: int = 0
    overdue: int = 0
    penalties: Decimal = ZERO

    @classmethod
    def of(cls, events: Iterable[Event]) -> Totals:
        totals = cls()
        for event in events:
            totals.messages += event.message is not None
            totals.reminders += event.kind is Kind.REMINDER
            totals.receipts += event.kind is not Kind.REMINDER and event.message is not None
            totals.debits_ok += event.kind is Kind.DEBIT_OK
            totals.debited += event.amount if event.kind is Kind.DEBIT_OK else ZERO
            totals.debits_failed += event.kind is Kind.DEBIT_FAILED
            totals.overdue += event.kind is Kind.OVERDUE
            totals.penalties += event.amount if event.kind is Kind.PENALTY else ZERO
        return totals


# --- the run ------------------------------------------------------------------------------


async def simulate(
    data: dict[str, Any],
    start: date,
    days: int,
    step: timedelta,
    settings: Settings,
    *,
    every_step: bool = False,
) -> list[Event]:
    """Import ``data`` into a scratch database, run the sweeps for ``days`` from ``start``:
    the timeline's events in order."""
    model, errors = validate(data)
    if model is None:
        raise ImportInvalid(errors)
    zones = {user.telegram_id: user.timezone for user in model.users}
    begin = datetime.combine(start, time(0), UTC)
    sink, state, events = TranscriptSink(), SendState(), list[Event]()
    with tempfile.TemporaryDirectory(prefix="repaybot-simulate-") as scratch:
        url = f"sqlite+aiosqlite:///{Path(scratch) / 'simulate.db'}"
        settings = settings.model_copy(update={"database_url": url})
        async with running_bank(Path(scratch) / "bank.db") as bank:
            db = Database.from_url(url, busy_timeout_ms=settings.sqlite_busy_timeout_ms)
            db.provider = bank.link  # debits go to a sandbox bank of the simulation's own
            try:
                await db.migrate()
                await import_data(db, data, begin)
                instants = await sweep_instants(db, model, settings, begin, days, step, every_step)
                for now in instants:
                    sink.now = now
                    report = await run_sweep(sink, db, settings, now, state)
                    events += sweep_events(report, sink, zones, now)
                events += await day_end_events(db, model, start, days)
            finally:
                await db.dispose()
    return sorted(events, key=Event.sort_key)


async def sweep_instants(
    db: Database,
    model: ImportFile,
    settings: Settings,
    begin: datetime,
    days: int,
    step: timedelta,
    every_step: bool = False,
) -> list[datetime]:
    """The clock's ticks, every ``step`` from ``begin`` for ``days``, that can find work.

    Work falls due only when an instant passes: a user's reminder time (every reminder
    fires then), the auto-repay time or the retry time, each in the user's zone; receipts
    are sent by the sweep that queued them, and nothing here fails to send. A tick after
    none of these would find nothing due, so only the first tick at or after each one runs
    (and the first tick, which catches up like a freshly started bot): the same outcome as
    every tick, in a fraction of the time. ``every_step`` runs them all.
    """
    end = begin + timedelta(days=days)
    if every_step:
        return [begin + step * n for n in range(-((begin - end) // step))]
    ticks = {begin}
    async with db.uow() as uow:
        policies = [await get_reminder_settings(uow, user.telegram_id) for user in model.users]
    for policy in policies:
        first = local_date(begin, policy.timezone) - timedelta(days=1)
        for n in range(days + 2):
            for at in (policy.at, settings.autopay_time, RETRY_TIME):
                instant = local_instant(first + timedelta(days=n), at, policy.timezone)
                tick = begin + step * -((begin - instant) // step)  # the first at or after
                if begin <= tick < end:
                    ticks.add(tick)
    return sorted(ticks)


def sweep_events(
    report: SweepReport, sink: TranscriptSink, zones: dict[int, str], now: datetime
) -> list[Event]:
    """The debits a sweep made and the messages it sent, at the users' local time."""

    def event(user_id: int, kind: Kind, text: str, amount: Decimal = ZERO) -> Event:
        local = now.astimezone(ZoneInfo(zones[user_id]))
        return Event(local.date(), local.time().replace(second=0), user_id, kind, text, amount)

    debits = [(r, event(r.user_id, *_debit(r))) for r in report.receipts]
    found = [e for _, e in debits]
    for batch, message_id in report.delivered:
        if batch.receipt is None:
            found.append(event(batch.user_id, Kind.REMINDER, _reminder(batch)))
            found[-1].message = sink.messages[message_id - 1].text
            continue
        if isinstance(batch.receipt, PaymentReceipt):  # of a payment confirmed in chat
            text = f"receipt: payment {batch.receipt.payment_id} confirmed in chat"
            found.append(event(batch.user_id, Kind.RECEIPT, text))
            found[-1].message = sink.messages[message_id - 1].text
            continue
        # Each debit queues its receipt and this same sweep sends it: one line for both.
        same = next((e for r, e in debits if r == batch.receipt and e.message is None), None)
        if same is None:
            same = event(batch.user_id, Kind.RECEIPT, "receipt: " + _debit(batch.receipt)[1])
            found.append(same)
        same.message = sink.messages[message_id - 1].text
    return found


def _debit(receipt: AutopayReceipt) -> tuple[Kind, str, Decimal]:
    source = f"from {receipt.method_label}" if receipt.method_label else "(no payment method)"
    if receipt.succeeded:
        text = f"auto-debit ok {money(receipt.amount)} {source} — {receipt.plan_title}"
        return Kind.DEBIT_OK, text, receipt.amount
    after = "last attempt" if receipt.last_attempt else "will retry"
    text = (
        f"auto-debit FAILED ({receipt.failure_reason}) {money(receipt.amount)} {source}"
        f" — {receipt.plan_title}; {after}"
    )
    return Kind.DEBIT_FAILED, text, receipt.amount


def _reminder(batch: ReminderBatch) -> str:
    return "reminder: " + "\n+ ".join(_item(item) for item in batch.items)


def _item(item: ReminderItem) -> str:
    head = f"{'(snoozed) ' if item.snoozed else ''}{item.plan_title} {money(item.amount)}"
    if item.kind is ReminderKind.AUTOPAY_NOTICE:
        source = item.method_label or "no payment method"
        short = ", balance too low" if item.balance_short else ""
        return f"{head} auto-debit on {item.due_date} from {source}{short}"
    if item.kind is ReminderKind.OVERDUE:
        late = _days(item.days_overdue)
        periods = f"{item.count} periods, the oldest " if item.count > 1 else ""
        return (
            f"{head} overdue {periods}{late} (due {item.due_date}), penalty {money(item.penalty)}"
        )
    if item.offset < 0:
        return f"{head} was due {item.due_date} (in grace)"
    when = {0: "today", 1: "tomorrow"}.get(item.offset, f"in {_days(item.offset)}")
    return f"{head} due {item.due_date} ({when})"


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


async def day_end_events(db: Database, model: ImportFile, start: date, days: int) -> list[Event]:
    """Per user and calendar day in their zone: installments that went overdue that day, and
    the penalty each plan accrued. Positions depend only on the receipts dated up to the day,
    so the finished run's ledgers give every day's end position."""
    found: list[Event] = []
    async with db.uow() as uow:
        for user in model.users:
            uid = user.telegram_id
            for plan in await load_plans(uow.session, uid):
                title, book = plan.row.title, plan.book
                before = plan_positions(book.ledgers, book.terms, start - timedelta(days=1))
                for n in range(days):
                    on = start + timedelta(days=n)
                    now = plan_positions(book.ledgers, book.terms, on)
                    for old, new in zip(before, now, strict=True):
                        late = InstallmentStatus.OVERDUE
                        if new.status is late and old.status is not late:
                            period = new.ledger.installment.period
                            owed = money(new.owed.total)
                            text = f"went overdue: {title} period {period} ({owed} owed)"
                            found.append(Event(on, None, uid, Kind.OVERDUE, text))
                    accrued = sum((p.penalty_accrued.penalty for p in now), ZERO)
                    grown = accrued - sum((p.penalty_accrued.penalty for p in before), ZERO)
                    if grown > 0:
                        text = f"penalty accrued: {title} {money(grown)} ({money(accrued)} so far)"
                        found.append(Event(on, None, uid, Kind.PENALTY, text, grown))
                    before = now
    return found


# --- the report ---------------------------------------------------------------------------


def report_lines(events: list[Event], user: int | None, messages: bool) -> list[str]:
    """The timeline, one block per day with events, then the totals of what it shows."""
    events = [e for e in events if user is None or e.user_id == user]
    lines: list[str] = []
    shown: date | None = None
    for event in events:
        if event.day != shown:
            shown = event.day
            lines += ["", f"{shown.isoformat()} {shown:%a}"]
        clock = "(end)" if event.at is None else f"{event.at:%H:%M}"
        head = f"  {clock}  user {event.user_id}  "
        first, *more = event.text.splitlines()
        lines += [head + first, *(" " * len(head) + line for line in more)]
        if messages and event.message is not None:
            lines += [f"{'':9}| {line}" for line in event.message.splitlines()]
    if not events:
        lines += ["", "Nothing happened."]
    t = Totals.of(events)
    return [
        *lines,
        "",
        "Totals",
        f"  messages sent          {t.messages:>5}  "
        f"({t.reminders} reminders, {t.receipts} receipts)",
        f"  auto-debits succeeded  {t.debits_ok:>5}  {money(t.debited)}",
        f"  auto-debits failed     {t.debits_failed:>5}",
        f"  went overdue           {t.overdue:>5}  installments",
        f"  penalties accrued             {money(t.penalties)}",
    ]


# --- the command --------------------------------------------------------------------------


def _fail(message: str, code: int = 2) -> int:
    print(f"repaybot simulate: error: {message}", file=sys.stderr)
    return code


def _day(text: str) -> date:
    try:
        return parse_date(text)
    except DateError as exc:
        raise argparse.ArgumentTypeError(f"{date_message(exc)}: {exc.text!r}") from exc


def _whole(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        if not re.fullmatch(r"\s*\d{1,6}\s*", text) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"not a whole number from {low} to {high}: {text!r}")
        return int(text)

    return parse


def run_command(args: argparse.Namespace) -> int:
    path: Path = args.data
    try:
        data = read_file(path)
    except ImportInvalid as exc:
        return _fail(exc.errors[0])
    model, errors = validate(data)
    if model is None:
        for error in errors:
            print(error, file=sys.stderr)
        return _fail(f"{len(errors)} error(s) in {path}; nothing was simulated")
    if args.user is not None and args.user not in {u.telegram_id for u in model.users}:
        return _fail(f"--user: no user {args.user} in {path}")
    step = timedelta(minutes=args.step_minutes)
    try:
        run = simulate(
            data, args.start, args.days, step, get_settings(), every_step=args.every_step
        )
        events = asyncio.run(run)
    except (SQLAlchemyError, OSError) as exc:
        return _fail(f"the scratch database failed: {exc}", 1)
    last = args.start + timedelta(days=args.days - 1)
    who = "every user" if args.user is None else f"user {args.user}"
    print(f"Simulated {args.start} to {last} ({args.days} days) for {who} of {path},")
    print(f"a sweep every {args.step_minutes} minutes from 00:00 UTC, on a scratch database.")
    print("Times are each user's local ones; (end) is what the day's end positions show.")
    print("\n".join(report_lines(events, args.user, args.messages)))
    return 0


def add_command(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = commands.add_parser(
        "simulate",
        help="run reminders and auto-repay on a virtual clock (scratch database)",
        description="Run the bot's sweeps every few minutes of virtual time against a scratch "
        "database loaded from FILE.json, and print a day-by-day timeline and totals. The "
        "database in DATABASE_URL is never opened.",
    )
    sub.add_argument(
        "--from",
        dest="start",
        required=True,
        type=_day,
        metavar="YYYY-MM-DD",
        help="the first day; the clock starts at 00:00 UTC",
    )
    sub.add_argument("--days", type=_whole(1, MAX_DAYS), default=90, help="default 90")
    sub.add_argument(
        "--data",
        type=Path,
        default=DEMO,
        metavar="FILE.json",
        help="the import file to start from (default examples/demo.json)",
    )
    sub.add_argument(
        "--step-minutes",
        type=_whole(1, 1440),
        default=30,
        help="virtual minutes between sweeps (default 30)",
    )
    sub.add_argument("--user", type=int, help="show only this user's timeline and totals")
    sub.add_argument("--messages", action="store_true", help="also print each message sent")
    sub.add_argument(
        "--every-step",
        action="store_true",
        help="sweep at every step, also where nothing can fall due (slower, same result)",
    )
    sub.set_defaults(handler=run_command)
