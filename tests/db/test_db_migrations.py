"""The Alembic migrations build exactly the schema of core.db.models, on SQLite and PostgreSQL,
and the column types keep money exact and instants in UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, Connection, MetaData, String, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from core.db.migrate import alembic_config
from core.db.models import Base, PaymentMethodRow, PlanRow, QuoteRow, User
from core.db.uow import Database

TABLES = {
    "users",
    "credit_lines",
    "payment_methods",
    "plans",
    "installments",
    "quotes",
    "payments",
    "allocation_lines",
    "bot_state",
    "reminder_log",
    "processed_updates",
    "calendar_feeds",
}


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "compare_server_default": True}
    )
    return list(compare_metadata(context, Base.metadata))


def _diff_against_changed_models(connection: Connection) -> list[Any]:
    """The same comparison against models with one extra column: it must see it."""
    changed = MetaData(naming_convention=Base.metadata.naming_convention)
    for table in Base.metadata.tables.values():
        table.to_metadata(changed)
    changed.tables["users"].append_column(Column("nickname", String(32), nullable=True))
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, changed))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    async with db.engine.connect() as connection:
        diff = await connection.run_sync(_schema_diff)
        tables = await connection.run_sync(_tables)
        changed = await connection.run_sync(_diff_against_changed_models)
    assert diff == []
    assert tables == TABLES | {"alembic_version"}
    assert [(d[0], d[3].name) for d in changed] == [("add_column", "nickname")]


async def test_upgrade_is_idempotent(db: Database) -> None:
    async with db.uow() as uow:
        uow.session.add(
            User(
                telegram_id=7, language="zh", timezone="Asia/Shanghai", created_at=datetime.now(UTC)
            )
        )
        await uow.commit()
    await db.migrate()
    await db.migrate()
    async with db.engine.connect() as connection:
        versions = (await connection.execute(text("SELECT version_num FROM alembic_version"))).all()
        diff = await connection.run_sync(_schema_diff)
    assert [tuple(row) for row in versions] == [("0011",)]
    assert diff == []
    async with db.uow() as uow:  # data survives a repeated upgrade
        assert await uow.session.scalar(select(func.count()).select_from(User)) == 1


async def test_money_round_trips_exactly(db: Database) -> None:
    created = datetime(2026, 11, 22, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    amounts = [Decimal("9999999.99"), Decimal("0.01"), Decimal("1234.50"), Decimal("0")]
    async with db.uow() as uow:
        uow.session.add(User(telegram_id=1, language="zh", timezone="UTC", created_at=created))
        await uow.session.flush()
        uow.session.add_all(
            PaymentMethodRow(
                user_id=1, kind="wechat", label=f"m{i}", balance=amount, created_at=created
            )
            for i, amount in enumerate(amounts)
        )
        await uow.commit()
    async with db.uow() as uow:
        rows = (await uow.session.scalars(select(PaymentMethodRow).order_by("id"))).all()
        balances = [row.balance for row in rows]
        total = await uow.session.scalar(select(func.sum(PaymentMethodRow.balance)))
        stored_fen = (
            await uow.session.execute(text("SELECT balance FROM payment_methods ORDER BY id"))
        ).scalars()
        fen = list(stored_fen)
    assert balances == amounts
    assert [str(balance) for balance in balances] == ["9999999.99", "0.01", "1234.50", "0.00"]
    assert all(isinstance(balance, Decimal) for balance in balances)
    assert fen == [999999999, 1, 123450, 0]  # integer fen in the database
    assert total == Decimal("10001234.50")  # summed in SQL, exactly


async def test_rates_json_dates_and_times_round_trip(db: Database) -> None:
    created = datetime(2026, 11, 22, 2, 0, 0, 123456, tzinfo=UTC)
    async with db.uow() as uow:
        uow.session.add(User(telegram_id=1, language="en", timezone="UTC", created_at=created))
        await uow.session.flush()
        plan = PlanRow(
            user_id=1,
            provider="P",
            title="标题",
            kind="purchase",
            principal=Decimal("100.00"),
            periods=1,
            method="fee_per_period",
            rate=Decimal("0.0072"),
            first_due=date(2026, 12, 31),
            repayment_day=31,
            start_date=date(2026, 11, 30),
            grace_days=3,
            tolerance=Decimal("10.00"),
            penalty_daily_rate=Decimal("0.00050"),
            penalty_cap_rate=Decimal("0.3"),
            payoff_policy="waive_future_fees",
            early_repayment_fee_rate=Decimal("0.015"),
            created_at=created,
        )
        uow.session.add(plan)
        await uow.session.flush()
        lines = [{"installment": "1", "principal": "100.00", "note": "还款"}]
        uow.session.add(
            QuoteRow(
                id="q1",
                user_id=1,
                kind="bill",
                plan_id=plan.id,
                amount=Decimal("100.00"),
                as_of=date(2026, 11, 22),
                lines=lines,
                adjustments=[],
                created_at=created,
                expires_at=created + timedelta(minutes=10),
            )
        )
        await uow.commit()
    async with db.uow() as uow:
        plan = (await uow.session.scalars(select(PlanRow))).one()
        quote = await uow.session.get(QuoteRow, "q1")
        user = await uow.session.get(User, 1)
        assert quote is not None
        assert user is not None
        assert str(plan.rate) == "0.0072"
        assert str(plan.penalty_daily_rate) == "0.00050"
        assert plan.early_repayment_fee_rate == Decimal("0.015")
        assert plan.first_due == date(2026, 12, 31)
        assert quote.lines == lines
        assert quote.adjustments == []
        assert quote.status == "open"  # model default
        assert quote.expires_at - quote.created_at == timedelta(minutes=10)
        assert user.remind_time == time(9, 0)
        assert user.remind_days == "3,1,0"
        assert user.created_at == created  # microseconds kept


async def test_datetimes_come_back_aware_utc(db: Database) -> None:
    shanghai = datetime(2026, 11, 22, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    async with db.uow() as uow:
        uow.session.add(User(telegram_id=1, language="zh", timezone="UTC", created_at=shanghai))
        await uow.commit()
    async with db.uow() as uow:
        user = await uow.session.get(User, 1)
        assert user is not None
        stored = user.created_at
        earliest = await uow.session.scalar(select(func.min(User.created_at)))
    assert stored == datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    assert stored.utcoffset() == timedelta(0)
    assert stored.hour == 2  # converted to UTC, not merely relabelled
    assert earliest is not None
    assert earliest.utcoffset() == timedelta(0)
    assert earliest == shanghai


async def test_naive_datetimes_are_refused(db: Database) -> None:
    async with db.uow() as uow:
        uow.session.add(
            User(telegram_id=1, language="zh", timezone="UTC", created_at=datetime(2026, 1, 1))
        )
        with pytest.raises(StatementError, match="naive"):
            await uow.session.flush()


async def test_sqlite_pragmas_in_effect(sqlite_db: Database) -> None:
    async with sqlite_db.engine.connect() as connection:
        journal = (await connection.exec_driver_sql("PRAGMA journal_mode")).scalar()
        foreign_keys = (await connection.exec_driver_sql("PRAGMA foreign_keys")).scalar()
        busy = (await connection.exec_driver_sql("PRAGMA busy_timeout")).scalar()
    assert str(journal).lower() == "wal"
    assert foreign_keys == 1
    assert busy is not None
    assert int(busy) > 0


async def test_sqlite_enforces_foreign_keys(sqlite_db: Database) -> None:
    async with sqlite_db.uow() as uow:
        uow.session.add(
            PaymentMethodRow(
                user_id=424242,  # no such user
                kind="alipay",
                label="x",
                balance=Decimal("1.00"),
                created_at=datetime.now(UTC),
            )
        )
        with pytest.raises(IntegrityError):
            await uow.session.flush()


async def test_sqlite_file_in_a_new_folder(tmp_path: Path) -> None:
    """DATABASE_URL may point into a folder that does not exist yet (default ./data/)."""
    database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path}/new/folder/repaybot.db")
    try:
        await database.migrate()
        async with database.engine.connect() as connection:
            tables = await connection.run_sync(_tables)
    finally:
        await database.dispose()
    assert tables == TABLES | {"alembic_version"}
    assert (tmp_path / "new" / "folder" / "repaybot.db").is_file()


def _downgrade_to_base(connection: Connection) -> None:
    command.downgrade(alembic_config(connection), "base")


async def test_downgrade_removes_everything_and_upgrade_restores_it(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.run_sync(_downgrade_to_base)
    async with db.engine.connect() as connection:
        assert (await connection.run_sync(_tables)) & TABLES == set()
    await db.migrate()
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_tables) == TABLES | {"alembic_version"}
        assert await connection.run_sync(_schema_diff) == []


async def test_instances_starting_together_on_a_new_postgresql_migrate_once() -> None:
    """Three engines migrate an empty PostgreSQL database at the same moment (three
    instances starting together): all succeed, and the schema is at head once."""
    import asyncio
    import uuid

    try:
        from tests.pg import get_server
    except ModuleNotFoundError:  # bare `pytest`: tests/ is on sys.path instead
        from pg import get_server  # type: ignore[no-redef]

    server = get_server()
    name = f"m_{uuid.uuid4().hex[:10]}"
    await server.acreate_database(name)
    engines = [Database.from_url(server.url_for(name)) for _ in range(3)]
    try:
        # Without the migration lock they collide (duplicate types) or wait on each other.
        await asyncio.wait_for(asyncio.gather(*(db.migrate() for db in engines)), 60)
        async with engines[0].uow() as uow:
            versions = list(
                await uow.session.execute(text("SELECT version_num FROM alembic_version"))
            )
        assert [tuple(row) for row in versions] == [("0011",)]
    finally:
        for db in engines:
            await db.dispose()
        await server.adrop_database(name)


def _downgrade_to(revision: str) -> Any:
    def run(connection: Connection) -> None:
        command.downgrade(alembic_config(connection), revision)

    return run


async def test_users_without_a_planned_look_are_looked_at_once_after_0006(db: Database) -> None:
    """0005 left NULL for "at once"; 0006 turns it into the epoch, which every sweep's
    ``next_sweep_at <= now`` selects, and a later look is kept as it was."""
    later = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)
    async with db.engine.begin() as connection:
        await connection.run_sync(_downgrade_to("0005"))
    async with db.engine.begin() as connection:
        for user_id, look in ((1, None), (2, later)):
            await connection.execute(
                User.__table__.insert().values(  # type: ignore[attr-defined]
                    telegram_id=user_id,
                    language="zh",
                    timezone="Asia/Shanghai",
                    active=True,
                    created_at=later,
                    reminders_enabled=True,
                    remind_days="3,1,0",
                    remind_time=time(9, 0),
                    overdue_daily=True,
                    next_sweep_at=look,
                )
            )
    await db.migrate()
    async with db.uow() as uow:
        looks = dict(
            (await uow.session.execute(select(User.telegram_id, User.next_sweep_at))).all()
        )
        due = list(
            await uow.session.scalars(
                select(User.telegram_id).where(
                    User.next_sweep_at <= datetime(2026, 11, 22, tzinfo=UTC)
                )
            )
        )
    assert looks == {1: datetime(1970, 1, 1, tzinfo=UTC), 2: later}
    assert due == [1]
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_schema_diff) == []


# ------------------------------------------- 0008: interest by days (issue 11 §4)


def _insert(connection: Any, table: Any, **values: Any) -> Any:
    return connection.execute(table.__table__.insert().values(**values))


async def test_0008_charges_an_irregular_first_period_for_its_days(db: Database) -> None:
    """A database of the previous version: 12,000 at 12 % a year, first due 2026-12-07,
    period 1 stored with a full month's ¥120.00 whatever the start. After 0008 a plan
    that started 2026-11-22 (15 of the 30 days from 11-07) owes ¥60.00 for period 1; one
    with a payment on period 1, a regular one and a fee plan keep what they had."""
    from core.db.models import AllocationLineRow, InstallmentRow, PaymentRow

    created = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
    async with db.engine.begin() as connection:
        await connection.run_sync(_downgrade_to("0007"))
    async with db.engine.begin() as connection:
        await _insert(connection, User, telegram_id=1, language="en", timezone="UTC",
                      created_at=created, active=True, reminders_enabled=True,
                      remind_days="3,1,0", remind_time=time(9, 0), overdue_daily=True,
                      next_sweep_at=created)  # fmt: skip
        plans = {  # id: (method, rate, start, stored interest of period 1)
            1: ("annuity", "0.12", date(2026, 11, 22), "120.00"),  # 15 days: recomputed
            2: ("annuity", "0.12", date(2026, 11, 22), "120.00"),  # paid on: kept
            3: ("equal_principal", "0.12", date(2026, 11, 7), "120.00"),  # regular
            4: ("fee_per_period", "0.006", date(2026, 11, 22), "0.00"),  # fees, not interest
            5: ("equal_principal", "0.12", date(2026, 10, 22), "120.00"),  # 46 days
        }
        for plan_id, (method, rate, start, interest) in plans.items():
            await _insert(connection, PlanRow, id=plan_id, user_id=1, provider="P",
                          title="T", kind="purchase", principal=Decimal("12000.00"),
                          periods=12, method=method, rate=Decimal(rate),
                          first_due=date(2026, 12, 7), repayment_day=7, start_date=start,
                          grace_days=3, tolerance=Decimal("10.00"),
                          penalty_daily_rate=Decimal("0.0005"),
                          penalty_cap_rate=Decimal("0.30"),
                          payoff_policy="waive_future_fees",
                          early_repayment_fee_rate=Decimal("0"), autopay=False,
                          autopay_fallback=False, created_at=created)  # fmt: skip
            await _insert(connection, InstallmentRow, id=plan_id * 10, plan_id=plan_id,
                          period=1, start_date=start, due_date=date(2026, 12, 7),
                          principal=Decimal("1000.00"), interest=Decimal(interest),
                          fee=Decimal("72.00") if method == "fee_per_period" else Decimal(0)
                          )  # fmt: skip
        await _insert(connection, PaymentRow, id=1, user_id=1, idempotency_key="k",
                      kind="manual", amount=Decimal("50.00"), status="succeeded",
                      paid_on=date(2026, 11, 30), created_at=created)  # fmt: skip
        await _insert(connection, AllocationLineRow, payment_id=1, installment_id=20,
                      penalty=Decimal(0), fee=Decimal(0), interest=Decimal("50.00"),
                      principal=Decimal(0))  # fmt: skip
    await db.migrate()
    async with db.uow() as uow:
        rows = await uow.session.execute(select(InstallmentRow.plan_id, InstallmentRow.interest))
        interest = {plan_id: amount for plan_id, amount in rows}
    # 46 days from 10-22: one month back to 11-07, then 16 of the 31 days from 10-07.
    by_days = (Decimal("120") * (1 + Decimal(16) / 31)).quantize(Decimal("0.01"))
    assert interest == {
        1: Decimal("60.00"),
        2: Decimal("120.00"),
        3: Decimal("120.00"),
        4: Decimal("0.00"),
        5: by_days,
    }
    assert by_days == Decimal("181.94")
    async with db.engine.connect() as connection:
        assert await connection.run_sync(_schema_diff) == []


async def test_upgrading_a_database_with_data_keeps_every_row(db: Database) -> None:
    """The migrations since 0009 add columns in place: plans, installments, payments and
    their allocation lines, and the methods plans and payments refer to, are all there
    after the upgrade (a table rebuild on SQLite, with foreign keys on,
    would have deleted or nulled them)."""
    async with db.engine.begin() as connection:
        await connection.run_sync(_downgrade_to("0009"))
    await _rows_at_0009(db)
    before = await _row_counts(db)
    assert before["allocation_lines"] > 0
    assert before["plans with an auto-repay method"] > 0

    await db.migrate()

    assert await _row_counts(db) == before
    async with db.uow() as uow:
        accounts = await uow.session.scalars(select(PaymentMethodRow.provider_account))
        assert all(accounts)


NOW_0009 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)


async def _rows_at_0009(db: Database) -> None:
    """A user with a card, a plan auto-repaid from it, a payment from it and its line,
    written with the columns 0009 has."""
    async with db.engine.begin() as connection:
        await _insert(connection, User, telegram_id=1, language="en", timezone="UTC",
                      created_at=NOW_0009, active=True, reminders_enabled=True,
                      remind_days="3,1,0", remind_time=time(9, 0), overdue_daily=True,
                      next_sweep_at=NOW_0009)  # fmt: skip
        await connection.execute(
            text(
                "INSERT INTO payment_methods (id, user_id, kind, label, last4, balance,"
                " is_default, created_at) VALUES (1, 1, 'bank_card', 'B', '1234', 50000,"
                " true, :now)"
            ),
            {"now": NOW_0009},
        )
        await connection.execute(
            text(
                "INSERT INTO plans (id, user_id, provider, title, kind, principal, periods,"
                " method, rate, first_due, repayment_day, start_date, grace_days, tolerance,"
                " penalty_daily_rate, penalty_cap_rate, payoff_policy,"
                " early_repayment_fee_rate, autopay, autopay_method_id, autopay_fallback,"
                " created_at) VALUES (1, 1, 'P', 'T', 'purchase', 120000, 1, 'interest_free',"
                " 0, :due, 7, :start, 3, 1000, 5, 3000, 'waive_future_fees', 0, true, 1,"
                " false, :now)"
            ),
            {"due": date(2026, 12, 7), "start": date(2026, 11, 7), "now": NOW_0009},
        )
        await connection.execute(
            text(
                "INSERT INTO installments (id, plan_id, period, start_date, due_date,"
                " principal, interest, fee) VALUES (10, 1, 1, :start, :due, 120000, 0, 0)"
            ),
            {"due": date(2026, 12, 7), "start": date(2026, 11, 7)},
        )
        await connection.execute(
            text(
                "INSERT INTO payments (id, user_id, idempotency_key, method_id, plan_id, kind,"
                " amount, status, paid_on, created_at) VALUES (1, 1, 'k', 1, 1, 'manual',"
                " 5000, 'succeeded', :paid, :now)"
            ),
            {"paid": date(2026, 11, 30), "now": NOW_0009},
        )
        await connection.execute(
            text(
                "INSERT INTO allocation_lines (payment_id, installment_id, penalty, fee,"
                " interest, principal) VALUES (1, 10, 0, 0, 0, 5000)"
            )
        )


async def _row_counts(db: Database) -> dict[str, int]:
    queries = {
        table: f"SELECT count(*) FROM {table}"
        for table in ("users", "plans", "installments", "payments", "allocation_lines")
    }
    queries["payment_methods"] = "SELECT count(*) FROM payment_methods"
    queries["plans with an auto-repay method"] = (
        "SELECT count(*) FROM plans WHERE autopay_method_id IS NOT NULL"
    )
    queries["payments with a method"] = "SELECT count(*) FROM payments WHERE method_id IS NOT NULL"
    async with db.engine.connect() as connection:
        return {
            name: int((await connection.execute(text(query))).scalar_one())
            for name, query in queries.items()
        }


async def test_a_migration_that_rebuilds_a_table_keeps_the_rows_that_refer_to_it(
    db: Database,
) -> None:
    """0006 rebuilds users (SQLite cannot alter a column's NULL): run with foreign keys
    on, dropping the old table deleted every card, plan and payment of every user. The
    migrations run with them off, and then checked and back on."""
    async with db.engine.begin() as connection:
        await connection.run_sync(_downgrade_to("0005"))
    async with db.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (telegram_id, language, timezone, created_at, active,"
                " reminders_enabled, remind_days, remind_time, overdue_daily) VALUES"
                " (1, 'en', 'UTC', :now, true, true, '3,1,0', :at, true)"
            ),
            {"now": NOW_0009, "at": "09:00:00" if _sqlite(db) else time(9, 0)},
        )
        await connection.execute(
            text(
                "INSERT INTO payment_methods (id, user_id, kind, label, last4, balance,"
                " is_default, created_at) VALUES (1, 1, 'bank_card', 'B', '1234', 100, true,"
                " :now)"
            ),
            {"now": NOW_0009},
        )

    await db.migrate()

    async with db.engine.connect() as connection:
        cards = await connection.execute(text("SELECT count(*) FROM payment_methods"))
        assert cards.scalar_one() == 1
        if connection.dialect.name == "sqlite":
            assert (await connection.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1


def _sqlite(db: Database) -> bool:
    return db.engine.dialect.name == "sqlite"
