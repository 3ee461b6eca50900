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
from core.failpoints import PAYMENT_AFTER_SUBMIT, PAYMENT_BEFORE_SUBMIT
from core.services import confirm as confirm_service
from core.services import settlement
from core.services.confirm import confirm_quote
from core.services.methods import MethodKind, top_up
from core.services.payment_flow import PAYMENT_LEASE
from core.services.payments import Outcome, PaymentOutcome
from core.services.plans import get_plan
from core.services.reconcile import reconcile
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
    """One payment; the tap that made it saw it succeed, the others saw it succeeded or,
    while it was with the provider, processing."""
    assert [o.outcome for o in outcomes if not o.repeated] == [Outcome.SUCCEEDED]
    assert {o.outcome for o in outcomes} <= {Outcome.SUCCEEDED, Outcome.PROCESSING}
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
    first = Database.from_url(db_url, provider=db.provider)
    second = Database.from_url(db_url, provider=db.provider)
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
    assert [o.outcome for o in outcomes if not o.repeated] == [Outcome.FAILED]
    assert {o.outcome for o in outcomes} <= {Outcome.FAILED, Outcome.PROCESSING}
    assert {o.failure_reason for o in outcomes} <= {"insufficient_balance", None}
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
    original = confirm_service.record_intent
    arrived = 0
    everyone = asyncio.Event()

    async def record_intent(*args: Any, **kwargs: Any) -> Any:
        nonlocal arrived
        arrived += 1
        if arrived >= parties:
            everyone.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(everyone.wait(), wait)
        return await original(*args, **kwargs)

    monkeypatch.setattr(confirm_service, "record_intent", record_intent)
    return record_intent


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


class Died(BaseException):
    """Stands in for the process dying at a failpoint (tests/crash kills it for real)."""


def _die_at(monkeypatch: pytest.MonkeyPatch, point: str) -> None:
    def failpoint(name: str) -> None:
        if name == point:
            raise Died(name)

    monkeypatch.setattr(settlement, "failpoint", failpoint)


@pytest.mark.parametrize("point", [PAYMENT_BEFORE_SUBMIT, PAYMENT_AFTER_SUBMIT])
async def test_a_crash_around_the_submit_ends_in_one_debit_and_one_payment(
    db: Database, make: Any, now: datetime, monkeypatch: pytest.MonkeyPatch, point: str
) -> None:
    """The intent is committed before the provider is called; dying before the call or
    after the provider debited (its answer unrecorded) leaves it in flight, counted as
    paid; the sweep's check after the lease settles it from the provider's ledger."""
    user, card = await make.user(balance="500.00")
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    _die_at(monkeypatch, point)
    with pytest.raises(Died):
        await _confirm(db, user, quote.quote_id, now)
    monkeypatch.undo()

    debited = point == PAYMENT_AFTER_SUBMIT
    assert await make.balance(card) == Decimal("500.00") - (BILL if debited else 0)
    assert await _succeeded_payments(db) == [(1, BILL, "pending")]
    assert await _allocated(db) == BILL  # reserved: nothing asks for it again
    assert await make.quote_status(quote.quote_id) == "used"
    again = await _confirm(db, user, quote.quote_id, now)  # the user taps again
    assert (again.outcome, again.repeated) == (Outcome.PROCESSING, True)

    assert (await reconcile(db, now + PAYMENT_LEASE)).settled == 1
    assert (await reconcile(db, now + PAYMENT_LEASE * 10)).checked == 0
    assert await make.balance(card) == Decimal("500.00") - BILL
    assert await _succeeded_payments(db) == [(1, BILL, "succeeded")]
    assert await _allocated(db) == BILL
    shown = await _confirm(db, user, quote.quote_id, now)
    assert (shown.outcome, shown.repeated) == (Outcome.SUCCEEDED, True)


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
