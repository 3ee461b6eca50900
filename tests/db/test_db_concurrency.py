"""Exactly-once confirmation under concurrency, and a crash between debit and record
(SPEC §6.2, §6.4, §7): double taps, two devices, two processes, and a process dying mid-payment."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db.models import AllocationLineRow, InstallmentRow, PaymentRow, User
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.gateway.simulated import SimulatedCrash
from core.services import payments as payments_service
from core.services.methods import MethodKind, top_up
from core.services.payments import Outcome, PaymentOutcome, confirm_quote
from core.services.plans import get_plan
from core.services.users import ensure_user

BILL = Decimal("107.20")


async def _confirm(database: Database, user: int, quote_id: str, now: datetime) -> PaymentOutcome:
    async with database.uow() as uow:
        return await confirm_quote(uow, user, quote_id, now)


async def _succeeded_payments(db: Database) -> list[tuple[int, Decimal, str]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(select(PaymentRow).order_by(PaymentRow.id))
        return [(r.id, r.amount, r.status) for r in rows]


async def _allocated(db: Database) -> Decimal:
    async with db.uow() as uow:
        lines = (await uow.session.scalars(select(AllocationLineRow))).all()
        return sum((ln.penalty + ln.fee + ln.interest + ln.principal for ln in lines), Decimal(0))


async def _warm_pool(database: Database, connections: int) -> None:
    """Open connections ahead, so concurrent units of work really start together."""
    opened = [await database.engine.connect() for _ in range(connections)]
    for connection in opened:
        await connection.close()


def _assert_one_payment(outcomes: list[PaymentOutcome]) -> None:
    assert [o.outcome for o in outcomes] == [Outcome.SUCCEEDED] * len(outcomes)
    assert len({o.payment_id for o in outcomes}) == 1
    assert None not in {o.payment_id for o in outcomes}
    assert sorted(o.repeated for o in outcomes) == [False] + [True] * (len(outcomes) - 1)


async def test_double_tap_on_one_database(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    await _warm_pool(db, 2)

    outcomes = list(
        await asyncio.gather(
            _confirm(db, user, quote.quote_id, now), _confirm(db, user, quote.quote_id, now)
        )
    )

    _assert_one_payment(outcomes)
    assert await _succeeded_payments(db) == [(outcomes[0].payment_id, BILL, "succeeded")]
    assert await make.balance(card) == Decimal("500.00") - BILL
    assert await _allocated(db) == BILL


async def test_two_processes_confirm_the_same_quote(
    db: Database, db_url: str, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    first, second = Database.from_url(db_url), Database.from_url(db_url)
    try:
        await _warm_pool(first, 2)
        await _warm_pool(second, 1)
        outcomes = list(
            await asyncio.gather(
                _confirm(first, user, quote.quote_id, now),
                _confirm(second, user, quote.quote_id, now),
                _confirm(first, user, quote.quote_id, now),
            )
        )
    finally:
        await first.dispose()
        await second.dispose()

    _assert_one_payment(outcomes)
    assert len(await _succeeded_payments(db)) == 1
    assert await make.balance(card) == Decimal("500.00") - BILL
    assert await _allocated(db) == BILL


async def test_concurrent_failed_confirmation_is_recorded_once(
    db: Database, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="100.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    await _warm_pool(db, 3)
    outcomes = await asyncio.gather(*(_confirm(db, user, quote.quote_id, now) for _ in range(3)))
    assert {o.outcome for o in outcomes} == {Outcome.FAILED}
    assert {o.failure_reason for o in outcomes} == {"insufficient_balance"}
    assert len({o.payment_id for o in outcomes}) == 1
    assert await make.count(PaymentRow) == 1
    assert await make.balance(card) == Decimal("100.00")


def _rendezvous(
    monkeypatch: pytest.MonkeyPatch, parties: int, wait: float
) -> Callable[..., Awaitable[Any]]:
    """Make confirmations that got as far as paying wait (up to ``wait`` s) for each other.

    Where the database lets two confirmations price the same debt at once, both reach
    this point before either records its payment; where it serializes them, the first
    goes on alone after ``wait`` and the second prices what the first left.
    """
    original = payments_service.execute_payment
    arrived = 0
    everyone = asyncio.Event()

    async def execute_payment(*args: Any, **kwargs: Any) -> Any:
        nonlocal arrived
        arrived += 1
        if arrived >= parties:
            everyone.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone.wait(), wait)
        return await original(*args, **kwargs)

    monkeypatch.setattr(payments_service, "execute_payment", execute_payment)
    return execute_payment


async def test_two_quotes_for_the_same_installment_pay_it_once(
    db: Database, make: Any, now: datetime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bill from one device and 'next period' from another (another card), confirmed at
    the same time: the installment must not be paid twice (the second is refused as changed).

    Both confirmations are held just before paying until the other one gets there too (or
    0.5 s passed), so the outcome does not depend on how the event loop interleaves them."""
    user, card = await make.user(balance="500.00")
    spare = await make.method(
        user, balance="500.00", kind=MethodKind.ALIPAY, label="支付宝", last4=None
    )
    plan = await make.plan(user, make.fee_plan())
    bill = await make.quote(user, QuoteKind.BILL, method_id=card)
    period = await make.quote(user, QuoteKind.PERIOD, plan_id=plan, method_id=spare)
    assert bill.amount == period.amount == BILL
    _rendezvous(monkeypatch, parties=2, wait=0.5)
    await _warm_pool(db, 2)

    results = await asyncio.gather(
        _confirm(db, user, bill.quote_id, now),
        _confirm(db, user, period.quote_id, now),
        return_exceptions=True,
    )

    # The first to pay succeeds. The other one re-prices and is refused as changed: after the
    # bill, "next period" is period 2 (a fresh quote); after period 1, the bill has nothing left.
    labels = sorted(r.outcome.value for r in results)  # type: ignore[union-attr]
    assert labels == ["changed", "succeeded"], results
    assert len(await _succeeded_payments(db)) == 1
    assert await make.balance(card) + await make.balance(spare) == Decimal("1000.00") - BILL
    assert await _allocated(db) == BILL
    async with db.uow() as uow:
        view = await get_plan(uow, user, plan, now)
        paid_fee = await uow.session.scalar(
            select(func.sum(AllocationLineRow.fee))
            .join(InstallmentRow, InstallmentRow.id == AllocationLineRow.installment_id)
            .where(InstallmentRow.period == 1)
        )
    assert paid_fee == Decimal("7.20")
    assert all(i.owed.total >= 0 for i in view.installments)
    assert view.outstanding == Decimal("1286.40") - BILL


async def test_crash_between_debit_and_record_leaves_nothing(
    db: Database, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    db.faults.crash_after_debit = True
    try:
        with pytest.raises(SimulatedCrash):
            await _confirm(db, user, quote.quote_id, now)
    finally:
        db.faults.crash_after_debit = False

    assert await make.balance(card) == Decimal("500.00")
    assert await make.count(PaymentRow) == 0
    assert await make.count(AllocationLineRow) == 0
    assert await make.quote_status(quote.quote_id) == "open"

    outcome = await _confirm(db, user, quote.quote_id, now)
    assert outcome.outcome is Outcome.SUCCEEDED
    assert outcome.repeated is False
    again = await _confirm(db, user, quote.quote_id, now)
    assert again.repeated is True
    assert again.payment_id == outcome.payment_id
    assert await make.balance(card) == Decimal("500.00") - BILL
    assert await make.count(PaymentRow) == 1
    assert await _allocated(db) == BILL


async def test_crash_in_one_process_does_not_block_another(
    db: Database, db_url: str, make: Any, now: datetime
) -> None:
    """A process that dies mid-payment releases its locks; another can then pay the quote."""
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    crashing, healthy = Database.from_url(db_url), Database.from_url(db_url)
    crashing.faults.crash_after_debit = True
    try:
        with pytest.raises(SimulatedCrash):
            await _confirm(crashing, user, quote.quote_id, now)
        outcome = await _confirm(healthy, user, quote.quote_id, now)
    finally:
        await crashing.dispose()
        await healthy.dispose()
    assert outcome.outcome is Outcome.SUCCEEDED
    assert await make.balance(card) == Decimal("500.00") - BILL
    assert await make.count(PaymentRow) == 1


async def _top_up(database: Database, user: int, method_id: int, amount: str) -> Decimal:
    async with database.uow() as uow:
        view = await top_up(uow, user, method_id, Decimal(amount), Decimal("50000.00"))
        return view.balance


async def test_concurrent_top_ups_both_count(db: Database, make: Any) -> None:
    user, card = await make.user(balance="500.00")
    await _warm_pool(db, 2)
    await asyncio.gather(_top_up(db, user, card, "100.00"), _top_up(db, user, card, "10.00"))
    assert await make.balance(card) == Decimal("610.00")


async def test_top_up_during_a_payment_loses_neither(
    db: Database, make: Any, now: datetime
) -> None:
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    await _warm_pool(db, 2)
    outcome, _ = await asyncio.gather(
        _confirm(db, user, quote.quote_id, now), _top_up(db, user, card, "100.00")
    )
    assert outcome.outcome is Outcome.SUCCEEDED
    assert await make.balance(card) == Decimal("600.00") - BILL


async def test_first_contact_twice_at_once(db: Database, now: datetime) -> None:
    """Two updates from a new user handled at the same time (two workers or instances)."""

    async def start() -> bool:
        async with db.uow() as uow:
            return (await ensure_user(uow, 77, now, language_code="en")).created

    await _warm_pool(db, 2)
    created = await asyncio.gather(start(), start())
    assert sorted(created) == [False, True]
    async with db.uow() as uow:
        assert len((await uow.session.scalars(select(User))).all()) == 1
