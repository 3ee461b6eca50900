"""Bulk data for the benchmarks: users, one bank card each, plans and their schedules.

``insert_plan`` writes one plan at a time through the ORM, far too slowly for a million
rows, so this writes big batches straight through the driver (sqlite3 ``executemany``,
asyncpg ``COPY``). The rows are the ones ``insert_plan`` would write: each plan row comes
from ``core.services.plans.new_plan_row`` and each schedule from ``build_schedule`` (one
per distinct terms, cached), and every value is encoded by the model column's own
SQLAlchemy type for the target dialect (money as integer fen, rates as text, instants in
UTC), so the application reads them back exactly as if it had written them.
"""

from __future__ import annotations

import random
import sqlite3
import time as clock
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from sqlalchemy import Table
from sqlalchemy.engine import Dialect, make_url

from core.db.models import AT_ONCE, InstallmentRow, PaymentMethodRow, PlanRow, User
from core.db.uow import Database
from core.domain.reminders import local_instant
from core.domain.schedule import build_schedule
from core.domain.terms import Method, PlanKind, PlanTerms
from core.services.plans import PlanDraft, new_plan_row

FIRST_USER_ID = 10_000_001
ZONE = "Asia/Shanghai"
CARD_LABEL = "招商银行"
CARD_BALANCE = Decimal("50000.00")
# What people buy in installments (provider, title, principal, method, rate, kind).
CATALOGUE = (
    ("小米", "Redmi Note 13 Pro", "1999.00", Method.FEE_PER_PERIOD, "0.006", PlanKind.PURCHASE),
    ("京东白条", "戴森吹风机 HD15", "2999.00", Method.FEE_PER_PERIOD, "0.005", PlanKind.PURCHASE),
    ("花呗", "Apple AirPods Pro 2", "1299.00", Method.INTEREST_FREE, "0", PlanKind.PURCHASE),
    ("小米", "小米备用金", "5000.00", Method.ANNUITY, "0.18", PlanKind.CASH_ADVANCE),
    ("京东白条", "华为 MatePad Pro", "3299.00", Method.EQUAL_PRINCIPAL, "0.18", PlanKind.PURCHASE),
)


@dataclass(frozen=True, slots=True)
class UserSpec:
    """One generated user: when they want reminders, their plans' first due dates, and
    when the sweep next looks at them (None: at once, as after an import)."""

    remind_time: time
    first_dues: tuple[date, ...]
    next_sweep_at: datetime | None
    periods: int = 1
    language: str = "zh"
    timezone: str = "Asia/Shanghai"


@dataclass
class Counts:
    users: int = 0
    plans: int = 0
    installments: int = 0
    seconds: float = 0.0


class _Encoder:
    """Turns a row dict into the tuple of values the driver gets for ``table``'s columns."""

    def __init__(self, table: Table, dialect: Dialect) -> None:
        self.table = table
        self.columns = [c.name for c in table.columns]
        self._procs = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in table.columns]

    def __call__(self, row: dict[str, Any]) -> list[Any]:
        values = []
        for name, proc in zip(self.columns, self._procs, strict=True):
            value = row.get(name)
            values.append(proc(value) if proc is not None and value is not None else value)
        return values


class _Templates:
    """Per (catalogue item, periods, first due): the encoded plan row and its schedule."""

    def __init__(self, dialect: Dialect, now: datetime) -> None:
        self.now = now
        self.plan = _Encoder(PlanRow.__table__, dialect)  # type: ignore[arg-type]
        self.item = _Encoder(InstallmentRow.__table__, dialect)  # type: ignore[arg-type]
        self._cache: dict[tuple[int, int, date], tuple[list[Any], list[list[Any]]]] = {}

    def get(self, choice: int, periods: int, first_due: date) -> tuple[list[Any], list[list[Any]]]:
        key = (choice, periods, first_due)
        if key not in self._cache:
            provider, title, principal, method, rate, kind = CATALOGUE[choice]
            draft = PlanDraft(
                provider, title, Decimal(principal), periods, method, Decimal(rate),
                first_due, kind=kind,
            )  # fmt: skip
            terms: PlanTerms = draft.terms()
            row = new_plan_row(0, draft, terms, self.now)
            plan = {c: getattr(row, c) for c in self.plan.columns if c != "id"}
            plan.update(autopay_fallback=False, closed_at=None, autopay_method_id=None)
            schedule = [
                self.item(
                    {
                        "period": s.period,
                        "start_date": s.start_date,
                        "due_date": s.due_date,
                        "principal": s.principal,
                        "interest": s.interest,
                        "fee": s.fee,
                    }
                )
                for s in build_schedule(terms)
            ]
            self._cache[key] = (self.plan(plan), schedule)
        return self._cache[key]


def _set(values: list[Any], columns: list[str], **changes: Any) -> list[Any]:
    row = list(values)
    for name, value in changes.items():
        row[columns.index(name)] = value
    return row


def _batches(
    specs: Callable[[int], UserSpec], users: int, now: datetime, dialect: Dialect,
    batch_users: int,
) -> Iterator[dict[str, list[list[Any]]]]:  # fmt: skip
    """Rows per table, ``batch_users`` users at a time (ids assigned here, from 1)."""
    user_enc = _Encoder(User.__table__, dialect)  # type: ignore[arg-type]
    card_enc = _Encoder(PaymentMethodRow.__table__, dialect)  # type: ignore[arg-type]
    templates = _Templates(dialect, now)
    plan_cols, item_cols = templates.plan.columns, templates.item.columns
    card_template = card_enc(
        {
            "kind": "bank_card",
            "label": CARD_LABEL,
            "last4": "1234",
            "balance": CARD_BALANCE,
            "is_default": True,
            "created_at": now,
        }
    )
    plan_id = item_id = 0
    for start in range(0, users, batch_users):
        rows: dict[str, list[list[Any]]] = {"users": [], "payment_methods": [], "plans": []}
        rows["installments"] = []
        for index in range(start, min(start + batch_users, users)):
            spec = specs(index)
            user_id = FIRST_USER_ID + index
            rows["users"].append(
                user_enc(
                    {
                        "telegram_id": user_id,
                        "language": spec.language,
                        "timezone": spec.timezone,
                        "active": True,
                        "created_at": now,
                        "reminders_enabled": True,
                        "remind_days": "3,1,0",
                        "remind_time": spec.remind_time,
                        "overdue_daily": True,
                        "next_sweep_at": spec.next_sweep_at or AT_ONCE,
                    }
                )
            )
            card = _set(card_template, card_enc.columns, id=index + 1, user_id=user_id)
            rows["payment_methods"].append(card)
            for number, first_due in enumerate(spec.first_dues):
                plan_id += 1
                choice = (index + number) % len(CATALOGUE)
                plan, schedule = templates.get(choice, spec.periods, first_due)
                rows["plans"].append(_set(plan, plan_cols, id=plan_id, user_id=user_id))
                for item in schedule:
                    item_id += 1
                    rows["installments"].append(_set(item, item_cols, id=item_id, plan_id=plan_id))
        yield rows


TABLE_ORDER = ("users", "payment_methods", "plans", "installments")


async def populate(
    db: Database,
    specs: Callable[[int], UserSpec],
    users: int,
    *,
    now: datetime,
    batch_users: int = 5000,
) -> Counts:
    """Write ``users`` users (``specs(i)`` describes user i) into a migrated, empty database."""
    started = clock.perf_counter()
    counts = Counts(users=users)
    dialect = db.engine.dialect
    batches = _batches(specs, users, now, dialect, batch_users)
    if dialect.name == "sqlite":
        path = make_url(str(db.engine.url)).database
        assert path
        await db.engine.dispose()
        with sqlite3.connect(path, isolation_level=None) as conn:
            conn.execute("PRAGMA synchronous=OFF")
            for rows in batches:
                conn.execute("BEGIN")
                for table in TABLE_ORDER:
                    _sqlite_insert(conn, table, rows[table])
                conn.execute("COMMIT")
                counts.plans += len(rows["plans"])
                counts.installments += len(rows["installments"])
        conn.close()
    else:
        await db.engine.dispose()
        dsn = make_url(str(db.engine.url)).set(drivername="postgresql")
        conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
        try:
            for rows in batches:
                async with conn.transaction():
                    for table in TABLE_ORDER:
                        columns = [c.name for c in _table(table).columns]
                        await conn.copy_records_to_table(
                            table, records=rows[table], columns=columns
                        )
                counts.plans += len(rows["plans"])
                counts.installments += len(rows["installments"])
            # The ids were given explicitly: move the sequences past them, and let the
            # planner see the new sizes (autovacuum would soon after a load like this).
            for table in ("payment_methods", "plans", "installments"):
                await conn.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
            await conn.execute("ANALYZE")
        finally:
            await conn.close()
    counts.seconds = clock.perf_counter() - started
    return counts


def _table(name: str) -> Table:
    tables = {
        "users": User.__table__,
        "payment_methods": PaymentMethodRow.__table__,
        "plans": PlanRow.__table__,
        "installments": InstallmentRow.__table__,
    }
    found: Table = tables[name]  # type: ignore[assignment]
    return found


def _sqlite_insert(conn: sqlite3.Connection, table: str, rows: list[list[Any]]) -> None:
    if not rows:
        return
    columns = [c.name for c in _table(table).columns]
    names = ", ".join(f'"{c}"' for c in columns)
    marks = ", ".join("?" for _ in columns)
    conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)


def spread_users(users: int, day: date, now: datetime, *, plans: int = 10, seed: int = 1) -> Any:
    """Users as they spread in real life: remind times over all 1440 minutes of the day (user
    i at minute i·7919 mod 1440, so each minute has users/1440 of them and neighbours in the
    table are far apart in time), ``plans`` one-period plans each, due on days drawn
    uniformly from the 30 starting at ``day``. In the steady state every user is looked at
    once a day at their remind time (a reminder due then, or the 24 h cap on the sleep
    since the last look), so ``next_sweep_at`` is the first such instant after ``now``."""
    zone = ZoneInfo(ZONE)
    rng = random.Random(seed)
    dues = [
        tuple(day + timedelta(days=rng.randrange(30)) for _ in range(plans)) for _ in range(users)
    ]

    def spec(index: int) -> UserSpec:
        minute = index * 7919 % 1440
        at = time(minute // 60, minute % 60)
        look = local_instant(day, at, ZONE)
        while look <= now:
            look = local_instant(look.astimezone(zone).date() + timedelta(days=1), at, ZONE)
        return UserSpec(at, dues[index], look)

    return spec
