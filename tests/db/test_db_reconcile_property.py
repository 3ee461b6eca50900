"""Reconciliation as a property: payments through a real (in-process) sandbox bank, with
random interleavings of intents, submits whose answers are lost, notifications lost,
duplicated, concurrent or early, the sweep's queries and crashes (a crash is an answer
never recorded: everything we know is in the database) — and afterwards the bank's
ledger and ours agree to the fen and no payment is allocated twice.

Each example has a database and a bank of its own (SQLite files in a scratch folder).
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from core.db.models import AllocationLineRow, PaymentMethodRow, PaymentRow
from core.db.uow import Database
from core.domain.quotes import QuoteKind, total_owed
from core.gateway.bank.embedded import running_bank
from core.gateway.bank.faults import Faults
from core.services.books import load_plans
from core.services.methods import top_up
from core.services.payment_flow import account_of, record_intent, submission, submit
from core.services.payments import FAILED, IN_FLIGHT, SUCCEEDED, PaymentKind
from core.services.quotes import QuoteRequest, price
from core.services.reconcile import check, reconcile
from core.services.settlement import drive_all, mark_processing, settle
from tests.db.conftest import Factory

NOW = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)
LATER = datetime(2100, 1, 1, tzinfo=UTC)
OPENING = Decimal("40.00")  # the card: some payments fail for want of money
SLOTS = 4  # payments per example

slot = st.integers(min_value=0, max_value=SLOTS - 1)
step = st.one_of(
    st.tuples(st.just("intent"), slot, st.integers(min_value=5, max_value=25)),
    st.tuples(st.just("submit"), slot, st.booleans()),  # True: the answer is lost
    st.tuples(st.just("notify"), slot, st.integers(min_value=0, max_value=3)),  # copies
    st.tuples(st.just("check"), slot),
    st.tuples(st.just("top_up"), st.integers(min_value=1, max_value=30)),
)


async def _run(steps: list[tuple[Any, ...]], delay: float, folder: Path) -> None:
    async with running_bank(folder / "bank.db", faults=Faults(settlement_delay=delay)) as bank:
        db = Database.from_url(f"sqlite+aiosqlite:///{folder / 'bot.db'}", provider=bank.link)
        try:
            await db.migrate()
            topped = await _play(db, steps)
            # The bank settles what it still holds; the sweep checks until nothing is left.
            while await bank.server.store.settle_due(LATER, Faults()):
                pass
            for _ in range(3):
                await reconcile(db, NOW + timedelta(hours=2))
            await _agree(db, topped)
        finally:
            await db.dispose()


async def _play(db: Database, steps: list[tuple[Any, ...]]) -> Decimal:
    """Play the steps; what was topped up meanwhile."""
    make = Factory(db, NOW)
    topped = Decimal(0)
    user, card = await make.user(balance=OPENING)
    await make.plan(user, make.fee_plan())
    intents: dict[int, int] = {}  # slot -> payment id
    for action, *args in steps:
        if action == "intent" and args[0] not in intents:
            found = await _intent(db, user, card, Decimal(args[1]), len(intents))
            if found is not None:
                intents[args[0]] = found
        elif action == "top_up":
            async with db.uow() as uow:
                await top_up(uow, user, card, Decimal(args[0]), Decimal(1000))
            topped += Decimal(args[0])
        elif args[0] in intents:
            await _act(db, action, intents[args[0]], args[1:])
    return topped


async def _intent(db: Database, user: int, card: int, amount: Decimal, n: int) -> int | None:
    """The intent of paying ``amount`` (committed, not submitted); None when nothing is
    left to pay that much on."""
    async with db.uow() as uow:
        try:
            priced = price(
                QuoteRequest(QuoteKind.CUSTOM, amount=amount),
                await load_plans(uow.session, user),
                NOW.date(),
            )
        except Exception:
            return None
        payment = await record_intent(
            uow,
            user_id=user,
            method_id=card,
            priced=priced,
            kind=PaymentKind.MANUAL,
            key=f"test:{n}",
            paid_on=NOW.date(),
            now=NOW,
        )
        await uow.commit()
        return payment.id


async def _act(db: Database, action: str, payment_id: int, args: list[Any]) -> None:
    if action == "submit":
        async with db.uow() as uow:
            sent = await submission(uow, payment_id)
            await uow.rollback()
            assert sent is not None
            state = await submit(uow, sent)
            if args[0] or state is None:  # the answer is lost: a crash, a timeout
                return
            if state.settled:
                await drive_all(uow, (await settle(uow, payment_id, state, NOW)).created, NOW)
            else:
                await mark_processing(uow, payment_id, NOW)
    elif action == "notify":
        await asyncio.gather(*(_notify(db, payment_id) for _ in range(args[0])))
    else:
        async with db.uow() as uow:
            await check(uow, payment_id, NOW + timedelta(minutes=5))


async def _notify(db: Database, payment_id: int) -> None:
    """What the bank's notification carries, if it has the debit settled: settled here as
    the notification endpoint settles it (several at once, for duplicates)."""
    async with db.uow() as uow:
        payment = await uow.session.get(PaymentRow, payment_id)
        assert payment is not None
        assert payment.reference is not None
        reference = payment.reference
        await uow.rollback()
        state = await uow.provider.query(reference)
        if state is not None and state.settled:
            await settle(uow, payment_id, state, NOW)


async def _agree(db: Database, topped: Decimal) -> None:
    async with db.uow() as uow:
        payments = list(await uow.session.scalars(select(PaymentRow).order_by(PaymentRow.id)))
        method = await uow.session.scalar(select(PaymentMethodRow))
        assert method is not None
        spent = Decimal(0)
        for payment in payments:
            assert payment.status not in IN_FLIGHT  # every intent ended
            assert payment.reference is not None
            debit = await uow.provider.query(payment.reference)
            lines = await uow.session.scalars(
                select(AllocationLineRow).where(AllocationLineRow.payment_id == payment.id)
            )
            allocated = sum(
                (line.penalty + line.fee + line.interest + line.principal for line in lines),
                Decimal(0),
            )
            if payment.status == SUCCEEDED:
                assert debit is not None
                assert debit.status.value == SUCCEEDED
                assert debit.amount == payment.amount
                assert Decimal(allocated) == payment.amount  # allocated once, in full
                spent += payment.amount
            else:
                assert payment.status == FAILED
                assert debit is None or debit.status.value == FAILED  # the bank took nothing
                assert Decimal(allocated) == 0
        balance = await uow.provider.balance(account_of(method))
        plans = await load_plans(uow.session, method.user_id)
        assert total_owed([p.book for p in plans], NOW.date()) >= 0
        assert all(
            receipt.parts.total >= 0
            for p in plans
            for ledger in p.book.ledgers
            for receipt in ledger.receipts
        )
    assert balance == OPENING + topped - spent


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    steps=st.lists(step, min_size=1, max_size=24),
    delay=st.sampled_from([0.0, 0.0, 0.01]),
)
def test_the_two_ledgers_converge_and_nothing_is_allocated_twice(
    steps: list[tuple[Any, ...]], delay: float
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_run(steps, delay, Path(folder)))
