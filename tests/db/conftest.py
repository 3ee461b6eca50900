"""Fixtures for the database tests: every ``db`` test runs on SQLite (a real file) and on a
real PostgreSQL 15 server (tests/pg.py), against the schema built by the Alembic migrations.

PostgreSQL: the migrations run once per session into a template database; each test gets a
fresh ``CREATE DATABASE ... TEMPLATE`` copy, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Awaitable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import func, select, update

from core.db.models import CreditLineRow, PaymentMethodRow, PlanRow, QuoteRow
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.domain.terms import Method, PlanKind
from core.gateway.bank.embedded import RunningBank, running_bank
from core.services.confirm import confirm_quote
from core.services.methods import MethodKind, add_method, top_up
from core.services.payment_flow import account_of
from core.services.payment_receipts import receipt_shown
from core.services.payments import PaymentOutcome
from core.services.plans import PlanDraft, add_plan
from core.services.quotes import QuoteRequest, QuoteView, create_quote
from core.services.users import ensure_user

# tests/ has no __init__.py: make tests/pg.py importable however pytest was started.
_TESTS = str(Path(__file__).resolve().parent.parent)
if _TESTS not in sys.path:
    sys.path.append(_TESTS)
try:
    from tests.pg import PostgresServer, get_server
except ModuleNotFoundError:  # bare `pytest`: the repository root is not on sys.path
    from pg import PostgresServer, get_server  # type: ignore[no-redef]

T = TypeVar("T")

# 2026-11-22 02:00 UTC is 10:00 on 2026-11-22 in Asia/Shanghai (every user's default zone).
NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
TODAY = date(2026, 11, 22)
BIG_LIMIT = Decimal("10000000.00")


def run_sync(coro: Awaitable[T]) -> T:
    """Run a coroutine to completion on a private loop in a thread (safe inside a loop)."""
    result: list[T] = []
    error: list[BaseException] = []

    def target() -> None:
        async def main() -> T:
            return await coro

        try:
            result.append(asyncio.run(main()))
        except BaseException as exc:
            error.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]


class PgCopies:
    """Fresh copies of the migrated template database, one per test.

    ``CREATE DATABASE ... TEMPLATE`` takes about a quarter of a second, so the next copy is
    made in a background thread while the current test runs.
    """

    def __init__(self, server: PostgresServer, template: str) -> None:
        self.server = server
        self.template = template
        self._next: tuple[str, threading.Thread, list[BaseException]] | None = None

    def _prepare(self) -> None:
        name = f"repaybot_t_{uuid.uuid4().hex[:12]}"
        errors: list[BaseException] = []

        def create() -> None:
            try:
                self.server.create_database(name, template=self.template)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=create, daemon=True)
        thread.start()
        self._next = (name, thread, errors)

    async def take(self) -> str:
        """The name of a new database copied from the template (prepares the one after)."""
        if self._next is None:
            self._prepare()
        assert self._next is not None
        name, thread, errors = self._next
        await asyncio.to_thread(thread.join)
        self._prepare()
        if errors:
            raise errors[0]
        return name

    def close(self) -> None:
        if self._next is not None:
            name, thread, _ = self._next
            thread.join()
            self.server.drop_database(name)
            self._next = None


@pytest.fixture(scope="session")
def pg_copies() -> Iterator[PgCopies]:
    """A database migrated once per session, copied for every PostgreSQL test."""
    server = get_server()
    template = f"repaybot_tpl_{uuid.uuid4().hex[:10]}"
    server.create_database(template)

    async def build() -> None:
        database = Database.from_url(server.url_for(template))
        try:
            await database.migrate()
        finally:
            await database.dispose()  # a template must have no open connections

    copies = PgCopies(server, template)
    try:
        run_sync(build())
        yield copies
    finally:
        copies.close()
        server.drop_database(template)


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path}/repaybot.db"


@pytest.fixture
async def bank(tmp_path: Path) -> AsyncIterator[RunningBank]:
    """A sandbox bank of the test's own (its HTTP API on loopback, its own database)."""
    async with running_bank(tmp_path / "bank.db") as running:
        yield running


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(
    request: pytest.FixtureRequest, tmp_path: Path, bank: RunningBank
) -> AsyncIterator[Database]:
    """A migrated, empty database on each backend, paying through ``bank``."""
    if request.param == "sqlite":
        database = Database.from_url(sqlite_url(tmp_path), provider=bank.link)
        await database.migrate()
        try:
            yield database
        finally:
            await database.dispose()
        return
    copies: PgCopies = request.getfixturevalue("pg_copies")
    name = await copies.take()
    database = Database.from_url(copies.server.url_for(name), provider=bank.link)
    try:
        yield database
    finally:
        await database.dispose()
        await copies.server.adrop_database(name)


@pytest.fixture
async def sqlite_db(tmp_path: Path, bank: RunningBank) -> AsyncIterator[Database]:
    """For the SQLite-only tests (PRAGMAs, busy timeout): a migrated file database."""
    database = Database.from_url(sqlite_url(tmp_path), provider=bank.link)
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def db_url(db: Database) -> str:
    """The URL of ``db`` (for tests that open a second engine on the same database)."""
    return db.engine.url.render_as_string(hide_password=False)


@pytest.fixture
def now() -> datetime:
    return NOW


class Factory:
    """Small helpers that set up users, methods, plans and quotes through the services."""

    def __init__(self, db: Database, now: datetime) -> None:
        self.db = db
        self.now = now
        self._next_user = 1000

    @staticmethod
    def fee_plan(
        *,
        principal: str = "1200.00",
        periods: int = 12,
        rate: str = "0.006",
        first_due: date = TODAY,
        provider: str = "Xiaomi",
        title: str = "Xiaomi 15",
        **more: Any,
    ) -> PlanDraft:
        """A Xiaomi-style interest-free plan with a fixed fee per period (rate of principal)."""
        return PlanDraft(
            provider=provider,
            title=title,
            principal=Decimal(principal),
            periods=periods,
            method=Method.FEE_PER_PERIOD,
            rate=Decimal(rate),
            first_due=first_due,
            **more,
        )

    @staticmethod
    def free_plan(
        *,
        principal: str = "1200.00",
        periods: int = 12,
        first_due: date = TODAY,
        provider: str = "Xiaomi",
        title: str = "Redmi Pad",
        **more: Any,
    ) -> PlanDraft:
        return PlanDraft(
            provider=provider,
            title=title,
            principal=Decimal(principal),
            periods=periods,
            method=Method.INTEREST_FREE,
            rate=Decimal("0"),
            first_due=first_due,
            **more,
        )

    @staticmethod
    def annuity_plan(
        *,
        principal: str = "12000.00",
        periods: int = 12,
        apr: str = "0.12",
        first_due: date = date(2026, 12, 7),
        provider: str = "Bank",
        title: str = "Loan",
        kind: PlanKind = PlanKind.PURCHASE,
        **more: Any,
    ) -> PlanDraft:
        return PlanDraft(
            provider=provider,
            title=title,
            principal=Decimal(principal),
            periods=periods,
            method=Method.ANNUITY,
            rate=Decimal(apr),
            first_due=first_due,
            kind=kind,
            **more,
        )

    async def user(
        self,
        telegram_id: int | None = None,
        *,
        balance: str | Decimal = "100000.00",
        label: str = "招商银行",
        last4: str = "1234",
        language_code: str | None = None,
    ) -> tuple[int, int]:
        """A registered user with one bank card (the default) holding ``balance``."""
        if telegram_id is None:
            self._next_user += 1
            telegram_id = self._next_user
        async with self.db.uow() as uow:
            await ensure_user(uow, telegram_id, self.now, language_code=language_code)
        method_id = await self.method(telegram_id, balance=balance, label=label, last4=last4)
        return telegram_id, method_id

    async def method(
        self,
        user_id: int,
        *,
        balance: str | Decimal = "0",
        kind: MethodKind = MethodKind.BANK_CARD,
        label: str = "工商银行",
        last4: str | None = "5678",
        make_default: bool = False,
    ) -> int:
        async with self.db.uow() as uow:
            view = await add_method(
                uow, user_id, kind, label, last4, self.now, make_default=make_default
            )
        if Decimal(balance) > 0:
            async with self.db.uow() as uow:
                await top_up(uow, user_id, view.method_id, Decimal(balance), BIG_LIMIT)
        return view.method_id

    async def plan(self, user_id: int, draft: PlanDraft | None = None) -> int:
        async with self.db.uow() as uow:
            return await add_plan(uow, user_id, draft or self.fee_plan(), self.now)

    async def credit_line(
        self, user_id: int, provider: str, limit: str, *, frozen: bool = False
    ) -> int:
        async with self.db.uow() as uow:
            row = CreditLineRow(
                user_id=user_id, provider=provider, limit=Decimal(limit), frozen=frozen
            )
            uow.session.add(row)
            await uow.session.flush()
            await uow.commit()
            return row.id

    async def freeze(self, line_id: int, frozen: bool = True) -> None:
        async with self.db.uow() as uow:
            await uow.session.execute(
                update(CreditLineRow).where(CreditLineRow.id == line_id).values(frozen=frozen)
            )
            await uow.commit()

    async def quote(
        self,
        user_id: int,
        kind: QuoteKind = QuoteKind.BILL,
        *,
        plan_id: int | None = None,
        amount: str | Decimal | None = None,
        method_id: int | None = None,
        now: datetime | None = None,
    ) -> QuoteView:
        request = QuoteRequest(kind, plan_id, None if amount is None else Decimal(amount))
        async with self.db.uow() as uow:
            return await create_quote(uow, user_id, request, now or self.now, method_id=method_id)

    async def confirm(
        self, user_id: int, quote_id: str, now: datetime | None = None
    ) -> PaymentOutcome:
        async with self.db.uow() as uow:
            return await confirm_quote(uow, user_id, quote_id, now or self.now)

    async def pay(
        self,
        user_id: int,
        kind: QuoteKind = QuoteKind.BILL,
        *,
        plan_id: int | None = None,
        amount: str | Decimal | None = None,
        method_id: int | None = None,
        now: datetime | None = None,
    ) -> PaymentOutcome:
        """Pay as in chat: quote, confirm, and the reply shows the receipt (so the sweep
        has none to send; ``confirm`` alone leaves it queued)."""
        quote = await self.quote(
            user_id, kind, plan_id=plan_id, amount=amount, method_id=method_id, now=now
        )
        outcome = await self.confirm(user_id, quote.quote_id, now=now)
        if outcome.payment_id is not None:
            async with self.db.uow() as uow:
                await receipt_shown(uow, user_id, outcome.payment_id)
        return outcome

    async def balance(self, method_id: int) -> Decimal:
        """The method's balance as the provider (the bank) holds it."""
        async with self.db.uow() as uow:
            row = await uow.session.get(PaymentMethodRow, method_id)
            assert row is not None
            return await uow.provider.balance(account_of(row))

    async def count(self, model: Any, *where: Any) -> int:
        async with self.db.uow() as uow:
            total = await uow.session.scalar(select(func.count()).select_from(model).where(*where))
            return int(total or 0)

    async def quote_status(self, quote_id: str) -> str:
        async with self.db.uow() as uow:
            row = await uow.session.get(QuoteRow, quote_id)
            assert row is not None
            return row.status

    async def plan_row(self, plan_id: int) -> PlanRow:
        async with self.db.uow() as uow:
            row = await uow.session.get(PlanRow, plan_id)
            assert row is not None
            uow.session.expunge(row)  # keep its loaded values after the unit of work ends
            return row


@pytest.fixture
def make(db: Database, now: datetime) -> Factory:
    return Factory(db, now)
