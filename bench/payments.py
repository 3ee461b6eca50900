"""Benchmark: payments through a provider outside our database (issue 12).

Run: .venv/bin/python bench/payments.py [--quick] [--confirms 500] [--in-flight 10000]

A real `repaybot bank` process on loopback (its own SQLite database) and the bot's
SQLite database, on the real services:

1. confirm to receipt: ``confirm_quote`` of a stored quote — intent committed, debit
   submitted to the bank, answer settled — until the outcome the receipt shows, for
   ``--confirms`` payments one after another (each user pays ¥10 of a 12-period plan);
   p50, p99, max.
2. the reconciliation sweep with ``--in-flight`` payments in flight (intents committed,
   never submitted — what a crash of the submitter leaves): (a) a sweep when none of
   them is due for a check yet (the steady-state cost of having them in flight: the
   claim query), 20 times; (b) the sweeps after their lease, each checking a batch of
   ``reconcile.BATCH`` (query, not found, submit again under the reference, settle),
   until none is left: per sweep p50/max and payments settled per second; then that
   the bank holds one succeeded debit per payment and ours agree.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time as clock
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, select

from bench._harness import machine, ms, percentile
from core.db.models import PaymentRow
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.domain.terms import Method
from core.gateway.link import ProviderLink
from core.gateway.provider_client import ProviderClient
from core.services.books import load_plans
from core.services.confirm import confirm_quote
from core.services.methods import MethodKind, add_method, top_up
from core.services.payment_flow import record_intent
from core.services.payments import IN_FLIGHT, SUCCEEDED, Outcome, PaymentKind
from core.services.plans import PlanDraft, add_plan
from core.services.quotes import QuoteRequest, create_quote, price
from core.services.reconcile import BATCH, reconcile
from core.services.users import ensure_user
from tests.bank.bank_process import BankProcess

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
AMOUNT = Decimal("10.00")


async def add_users(db: Database, count: int, first: int) -> list[tuple[int, int]]:
    """``count`` users, each with a funded card and a 12-period plan due from next week."""
    users = []
    for user_id in range(first, first + count):
        async with db.uow() as uow:
            await ensure_user(uow, user_id, NOW)
        async with db.uow() as uow:
            card = await add_method(uow, user_id, MethodKind.BANK_CARD, "Bench Bank", "1234", NOW)
        async with db.uow() as uow:
            await top_up(uow, user_id, card.method_id, Decimal("5000.00"), Decimal("5000.00"))
        draft = PlanDraft(
            provider="Bench",
            title="Phone",
            principal=Decimal("2400.00"),
            periods=12,
            method=Method.FEE_PER_PERIOD,
            rate=Decimal("0.006"),
            first_due=(NOW + timedelta(days=7)).date(),
        )
        async with db.uow() as uow:
            await add_plan(uow, user_id, draft, NOW)
        users.append((user_id, card.method_id))
    return users


async def confirm_latency(db: Database, confirms: int) -> list[float]:
    users = await add_users(db, confirms, 1_000_000)
    took = []
    for user_id, card in users:
        async with db.uow() as uow:
            request = QuoteRequest(QuoteKind.CUSTOM, amount=AMOUNT)
            quote = await create_quote(uow, user_id, request, NOW, method_id=card)
        started = clock.perf_counter()
        async with db.uow() as uow:
            outcome = await confirm_quote(uow, user_id, quote.quote_id, NOW)
        took.append(clock.perf_counter() - started)
        assert outcome.outcome is Outcome.SUCCEEDED, outcome
    return took


async def commit_intents(db: Database, count: int) -> None:
    """``count`` intents, ten per user, committed and never submitted."""
    users = await add_users(db, max(1, count // 10), 2_000_000)
    made = 0
    for user_id, card in users:
        for n in range(10):
            if made == count:
                return
            async with db.uow() as uow:
                plans = await load_plans(uow.session, user_id)
                priced = price(QuoteRequest(QuoteKind.CUSTOM, amount=AMOUNT), plans, NOW.date())
                await record_intent(
                    uow,
                    user_id=user_id,
                    method_id=card,
                    priced=priced,
                    kind=PaymentKind.MANUAL,
                    key=f"bench:{user_id}:{n}",
                    paid_on=NOW.date(),
                    now=NOW,
                )
                await uow.commit()
            made += 1


async def in_flight(db: Database) -> int:
    async with db.uow() as uow:
        found = await uow.session.scalar(
            select(func.count()).select_from(PaymentRow).where(PaymentRow.status.in_(IN_FLIGHT))
        )
    return int(found or 0)


async def main(args: argparse.Namespace) -> None:
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="repaybot-bench-payments-") as folder:
        bank = BankProcess(Path(folder) / "bank.db").start()
        try:
            async with ProviderClient(bank.url) as client:
                db = Database.from_url(
                    f"sqlite+aiosqlite:///{folder}/bot.db", provider=ProviderLink(client)
                )
                await db.migrate()
                await run(db, args)
                await db.dispose()
        finally:
            bank.stop()


async def run(db: Database, args: argparse.Namespace) -> None:
    took = await confirm_latency(db, args.confirms)
    print(
        f"1. confirm to receipt, {len(took)} payments, bank on loopback: "
        f"p50 {ms(percentile(took, 50))}, p99 {ms(percentile(took, 99))}, max {ms(max(took))}"
    )

    started = clock.perf_counter()
    await commit_intents(db, args.in_flight)
    waiting = await in_flight(db)
    print(f"2. {waiting} intents committed in {clock.perf_counter() - started:.1f} s")
    idle = []
    for _ in range(20):
        began = clock.perf_counter()
        report = await reconcile(db, NOW + timedelta(seconds=1))  # before their lease
        idle.append(clock.perf_counter() - began)
        assert report.checked == 0
    print(
        f"   a. sweep with {waiting} in flight, none due: "
        f"p50 {ms(percentile(idle, 50))}, max {ms(max(idle))}"
    )
    sweeps = []
    drained = clock.perf_counter()
    later = NOW + timedelta(minutes=1)
    while await in_flight(db):
        began = clock.perf_counter()
        report = await reconcile(db, later)
        sweeps.append(clock.perf_counter() - began)
        assert report.checked, "in flight yet none due"
    total = clock.perf_counter() - drained
    print(
        f"   b. {len(sweeps)} sweeps of up to {BATCH} checks settled {waiting} payments in "
        f"{total:.1f} s ({waiting / total:.0f}/s): per sweep p50 "
        f"{ms(percentile(sweeps, 50))}, max {ms(max(sweeps))}"
    )
    async with db.uow() as uow:
        rows = list(await uow.session.scalars(select(PaymentRow)))
        assert all(row.status == SUCCEEDED for row in rows)
        for row in rows[:: max(1, len(rows) // 200)]:  # a sample: the bank has each once
            assert row.reference is not None
            debit = await uow.provider.query(row.reference)
            assert debit is not None
            assert (debit.status.value, debit.amount) == (SUCCEEDED, row.amount)
    print(
        f"   every payment succeeded; a sample of {len(rows[:: max(1, len(rows) // 200)])} "
        "checked against the bank's ledger"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--confirms", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=10_000)
    parsed = parser.parse_args()
    if parsed.quick:
        parsed.confirms, parsed.in_flight = 50, 1000
    asyncio.run(main(parsed))
