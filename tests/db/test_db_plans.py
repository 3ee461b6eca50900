"""core.services.plans against a real database: schedules, credit-line checks, listing."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.db.models import InstallmentRow, PlanRow
from core.db.uow import Database
from core.domain.credit import CreditRefusal, CreditRefused
from core.domain.quotes import QuoteKind
from core.domain.schedule import build_schedule
from core.domain.status import InstallmentStatus
from core.domain.terms import Method, PayoffPolicy, PlanKind
from core.services.errors import InvalidInput, NoCreditLine, NotFound
from core.services.overview import status_overview
from core.services.payments import Outcome
from core.services.plans import PlanDraft, add_plan, get_plan, list_plans


async def _installments(db: Database, plan_id: int) -> list[tuple[Any, ...]]:
    async with db.uow() as uow:
        rows = await uow.session.scalars(
            select(InstallmentRow)
            .where(InstallmentRow.plan_id == plan_id)
            .order_by(InstallmentRow.period)
        )
        return [(r.period, r.start_date, r.due_date, r.principal, r.interest, r.fee) for r in rows]


async def _plan_count(db: Database) -> int:
    async with db.uow() as uow:
        return len((await uow.session.scalars(select(PlanRow))).all())


def _drafts(make: Any) -> list[PlanDraft]:
    return [
        make.fee_plan(principal="3999.00", periods=12, rate="0.0072"),
        make.annuity_plan(principal="10000.00", periods=6, apr="0.18"),
        PlanDraft(
            provider="JD",
            title="白条",
            principal=Decimal("5000.00"),
            periods=3,
            method=Method.EQUAL_PRINCIPAL,
            rate=Decimal("0.24"),
            first_due=date(2026, 1, 31),  # month-end fallback in February
            start_date=date(2025, 12, 31),
        ),
        make.free_plan(principal="1000.00", periods=3),
    ]


@pytest.mark.parametrize("which", [0, 1, 2, 3], ids=["fee", "annuity", "equal_principal", "free"])
async def test_add_plan_stores_the_domain_schedule(
    db: Database, make: Any, now: datetime, which: int
) -> None:
    user, _ = await make.user()
    draft = _drafts(make)[which]
    plan_id = await make.plan(user, draft)
    expected = [
        (i.period, i.start_date, i.due_date, i.principal, i.interest, i.fee)
        for i in build_schedule(draft.terms())
    ]
    stored = await _installments(db, plan_id)
    assert stored == expected
    assert sum(row[3] for row in stored) == draft.principal
    row = await make.plan_row(plan_id)
    assert (row.user_id, row.provider, row.title, row.kind) == (
        user,
        draft.provider,
        draft.title,
        draft.kind.value,
    )
    assert (row.principal, row.periods, row.method, row.rate) == (
        draft.principal,
        draft.periods,
        draft.method.value,
        draft.rate,
    )
    assert row.first_due == draft.first_due
    assert row.repayment_day == draft.first_due.day
    assert row.start_date == draft.terms().disbursed_on
    assert row.created_at == now
    assert row.closed_at is None


async def test_month_end_due_dates_fall_back(db: Database, make: Any) -> None:
    user, _ = await make.user()
    plan_id = await make.plan(user, _drafts(make)[2])
    dues = [row[2] for row in await _installments(db, plan_id)]
    assert dues == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31)]


async def test_add_plan_refuses_bad_input(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    bad = [
        (make.fee_plan(title="   "), "title"),
        (make.fee_plan(provider="x" * 65), "provider"),
        (make.fee_plan(periods=0), "periods"),
        (make.fee_plan(principal="100.001"), "principal"),
        (make.fee_plan(rate="0.05"), "rate"),
        (make.free_plan(first_due=date(2026, 12, 1), start_date=date(2026, 12, 1)), "start_date"),
    ]
    for draft, field in bad:
        async with db.uow() as uow:
            with pytest.raises(InvalidInput) as caught:
                await add_plan(uow, user, draft, now)
        assert caught.value.field == field
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await add_plan(uow, 123456789, make.fee_plan(), now)
    assert await _plan_count(db) == 0


async def test_frozen_line_refuses_new_plans(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    await make.credit_line(user, "Xiaomi", "50000.00", frozen=True)
    async with db.uow() as uow:
        with pytest.raises(CreditRefused) as caught:
            await add_plan(uow, user, make.fee_plan(), now)
    assert caught.value.refusal is CreditRefusal.FROZEN
    assert caught.value.line.available == 0
    assert await _plan_count(db) == 0
    # Another provider's plan is not affected by this line.
    await make.plan(user, make.fee_plan(provider="JD"))
    assert await _plan_count(db) == 1


async def test_exhausted_and_insufficient_lines_refuse(
    db: Database, make: Any, now: datetime
) -> None:
    user, _ = await make.user()
    await make.credit_line(user, "Xiaomi", "2000.00")
    await make.plan(user, make.fee_plan(principal="1200.00"))  # uses 1200 of 2000
    async with db.uow() as uow:
        with pytest.raises(CreditRefused) as caught:
            await add_plan(uow, user, make.fee_plan(principal="800.01"), now)
    assert caught.value.refusal is CreditRefusal.INSUFFICIENT
    assert caught.value.line.used == Decimal("1200.00")
    assert caught.value.line.available == Decimal("800.00")
    await make.plan(user, make.fee_plan(principal="800.00", periods=8))  # exactly what is left
    async with db.uow() as uow:
        with pytest.raises(CreditRefused) as caught:
            await add_plan(uow, user, make.fee_plan(principal="100.00", periods=1), now)
    assert caught.value.refusal is CreditRefusal.EXHAUSTED
    assert await _plan_count(db) == 2


async def test_repaid_principal_frees_the_line(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    await make.credit_line(user, "Xiaomi", "1200.00")
    await make.plan(user, make.fee_plan(principal="1200.00"))
    async with db.uow() as uow:
        with pytest.raises(CreditRefused):
            await add_plan(uow, user, make.free_plan(principal="100.00", periods=1), now)
    paid = await make.pay(user, QuoteKind.BILL)  # period 1: 100.00 principal + 7.20 fee
    assert paid.outcome is Outcome.SUCCEEDED
    assert paid.amount == Decimal("107.20")
    async with db.uow() as uow:
        with pytest.raises(CreditRefused):
            await add_plan(uow, user, make.free_plan(principal="100.01", periods=1), now)
    await make.plan(user, make.free_plan(principal="100.00", periods=1))
    assert await _plan_count(db) == 2


async def test_cash_advance_needs_a_credit_line(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    advance = make.annuity_plan(provider="Xiaomi", principal="3000.00", kind=PlanKind.CASH_ADVANCE)
    async with db.uow() as uow:
        with pytest.raises(NoCreditLine):
            await add_plan(uow, user, advance, now)
    await make.credit_line(user, "JD", "50000.00")  # another provider's line does not count
    async with db.uow() as uow:
        with pytest.raises(NoCreditLine):
            await add_plan(uow, user, advance, now)
    assert await _plan_count(db) == 0
    await make.credit_line(user, "Xiaomi", "2999.99")
    async with db.uow() as uow:
        with pytest.raises(CreditRefused) as caught:
            await add_plan(uow, user, advance, now)
    assert caught.value.refusal is CreditRefusal.INSUFFICIENT
    line = await make.credit_line(user, "Bank", "3000.00")
    assert line
    plan_id = await make.plan(
        user, make.annuity_plan(principal="3000.00", kind=PlanKind.CASH_ADVANCE)
    )
    assert (await make.plan_row(plan_id)).kind == "cash_advance"


async def test_repaying_on_a_frozen_line_works(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user(balance="5000.00")
    line = await make.credit_line(user, "Xiaomi", "3000.00")
    plan_id = await make.plan(user, make.fee_plan())
    await make.freeze(line)

    bill = await make.pay(user, QuoteKind.BILL)
    period = await make.pay(user, QuoteKind.PERIOD, plan_id=plan_id)
    payoff = await make.pay(user, QuoteKind.PAYOFF, plan_id=plan_id)

    assert [bill.outcome, period.outcome, payoff.outcome] == [Outcome.SUCCEEDED] * 3
    assert bill.amount == Decimal("107.20")
    assert period.amount == Decimal("107.20")  # paid ahead: period 2
    assert payoff.amount == Decimal("1000.00")  # future fees waived
    assert await make.balance(card) == Decimal("5000.00") - Decimal("1214.40")
    async with db.uow() as uow:
        overview = await status_overview(uow, user, now)
    assert overview.summary.outstanding == 0
    (xiaomi,) = overview.credit_lines
    assert (xiaomi.frozen, xiaomi.used, xiaomi.available) == (True, Decimal("0.00"), 0)


async def test_list_and_get_plans(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    other, _ = await make.user()
    first = await make.plan(user, make.free_plan(first_due=date(2026, 11, 10)))
    second = await make.plan(user, make.fee_plan(payoff_policy=PayoffPolicy.FORBIDDEN))
    theirs = await make.plan(other, make.fee_plan(title="Not yours"))

    async with db.uow() as uow:
        plans = await list_plans(uow, user, now)
        one = await get_plan(uow, user, first, now)
    assert [p.plan_id for p in plans] == [first, second]
    assert one == plans[0]
    assert (one.title, one.provider, one.method, one.periods) == (
        "Redmi Pad",
        "Xiaomi",
        "interest_free",
        12,
    )
    assert one.apr == 0
    assert plans[1].apr > Decimal("0.12")  # 0.6 % per period is about 13 % a year
    statuses = [i.status for i in one.installments]
    assert statuses[:3] == [
        InstallmentStatus.OVERDUE,
        InstallmentStatus.DUE,
        InstallmentStatus.UPCOMING,
    ]
    assert one.installments[0].days_overdue == 12
    assert one.installments[0].penalty == Decimal("0.60")  # 100 × 0.05 % × 12 days
    assert one.outstanding == Decimal("1200.60")
    assert plans[1].outstanding == Decimal("1200.00") + 12 * Decimal("7.20")
    assert one.paid_periods == 0

    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await get_plan(uow, user, theirs, now)
        with pytest.raises(NotFound):
            await get_plan(uow, other, first, now)
        with pytest.raises(NotFound):
            await get_plan(uow, user, 99999, now)
        theirs_listed = await list_plans(uow, other, now)
    assert [p.plan_id for p in theirs_listed] == [theirs]


async def test_long_rate_is_refused_or_kept_exactly(db: Database, make: Any, now: datetime) -> None:
    """A rate typed (or imported) with many digits must get a clear answer on both backends:
    refused as bad input, or stored exactly — never a database error."""
    user, _ = await make.user()
    rate = Decimal(1) / Decimal(3) / Decimal(100)  # 0.003333… (30 significant digits)
    draft = make.fee_plan(rate=str(rate))
    refused: InvalidInput | None = None
    plan_id = None
    try:
        async with db.uow() as uow:
            plan_id = await add_plan(uow, user, draft, now)
    except InvalidInput as exc:
        refused = exc
    if refused is not None:
        assert refused.field == "rate"
        assert await _plan_count(db) == 0
    else:
        assert plan_id is not None
        assert (await make.plan_row(plan_id)).rate == rate
