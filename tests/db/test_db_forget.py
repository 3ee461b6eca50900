"""/forget against a real database: what is deleted is gone from the SQLite files too, and
with FORGET_KEEPS_PAYMENT_RECORDS the payment records stay, owned by no one we know."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from core.db.models import (
    AllocationLineRow,
    CreditLineRow,
    InstallmentRow,
    PaymentMethodRow,
    PaymentRow,
    PlanRow,
    QuoteRow,
    ReminderLogRow,
    User,
)
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.services.forget import forget_user, scrub
from core.services.methods import MethodKind

TITLE = "Zebraphone-7731"  # unique words, to find in the raw database files
LABEL = "Quokkabank-5519"
PROVIDER = "Lender-Okapi"


async def _person(make: Any, telegram_id: int) -> dict[str, Any]:
    user, card = await make.user(telegram_id, label=LABEL)
    await make.credit_line(user, PROVIDER, "50000.00")
    await make.method(user, label="零钱", kind=MethodKind.WECHAT, last4=None)
    plan = await make.plan(user, make.fee_plan(title=TITLE, provider=PROVIDER))
    await make.plan(user, make.free_plan(title=TITLE + "-b", periods=6, principal="600.00"))
    paid = await make.pay(user, QuoteKind.BILL)
    await make.pay(user, QuoteKind.PERIOD, plan_id=plan)
    await make.quote(user, QuoteKind.CUSTOM, amount="1.00")  # left open
    return {"user": user, "card": card, "plan": plan, "paid": paid}


def _raw(db: Database) -> bytes:
    path = Path(str(db.engine.url.database))
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def _wal_size(db: Database) -> int:
    wal = Path(str(db.engine.url.database) + "-wal")
    return wal.stat().st_size if wal.exists() else 0


async def _count(db: Database, model: Any, *where: Any) -> int:
    async with db.uow() as uow:
        return int(
            await uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0
        )


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
@pytest.mark.parametrize("keep", [False, True], ids=["delete-all", "keep-records"])
async def test_forgotten_text_is_gone_from_the_sqlite_files(
    db: Database, make: Any, keep: bool
) -> None:
    await _person(make, 1001)
    await _person(make, 2002)  # someone else: their rows stay
    raw = _raw(db)
    assert TITLE.encode() in raw  # the search can find them
    assert LABEL.encode() in raw

    async with db.uow() as uow:
        await _rename_2002(uow)
    async with db.uow() as uow:
        assert await forget_user(uow, 1001, make.now, keep_payment_records=keep)
    await scrub(db)

    raw = _raw(db)
    assert raw.count(TITLE.encode()) == 0, "a title of the forgotten user, or 2002's, remains"
    assert raw.count(LABEL.encode()) == 0
    assert b"Renamed-2002" in raw  # 2002's data is intact (renamed below to tell them apart)
    assert _wal_size(db) == 0


async def _rename_2002(uow: Any) -> None:
    """Give user 2002's plans and card other names, so only 1001's text is searched for."""
    await uow.session.execute(
        update(PlanRow).where(PlanRow.user_id == 2002).values(title="Renamed-2002")
    )
    await uow.session.execute(
        update(PaymentMethodRow)
        .where(PaymentMethodRow.user_id == 2002)
        .values(label="Renamed-2002")
    )
    await uow.commit()


async def test_payment_records_can_be_kept_without_the_person(db: Database, make: Any) -> None:
    person = await _person(make, 1001)
    await _person(make, 2002)
    theirs = [PaymentRow.user_id == 1001]
    payments = await _count(db, PaymentRow, *theirs)
    async with db.uow() as uow:
        amounts = sorted(
            (await uow.session.scalars(select(PaymentRow.amount).where(*theirs))).all()
        )
    lines = await _count(db, AllocationLineRow)

    async with db.uow() as uow:
        assert await forget_user(uow, 1001, make.now, keep_payment_records=True)
    await scrub(db)

    async with db.uow() as uow:
        assert await uow.session.get(User, 1001) is None
        [(owner, active, reminded)] = (
            await uow.session.execute(
                select(User.telegram_id, User.active, User.reminders_enabled).where(
                    User.telegram_id < 0
                )
            )
        ).all()
        kept = (
            await uow.session.execute(
                select(PaymentRow.amount, PaymentRow.method_id, PaymentRow.quote_id).where(
                    PaymentRow.user_id == owner
                )
            )
        ).all()
        plans = (
            await uow.session.execute(
                select(
                    PlanRow.provider,
                    PlanRow.title,
                    PlanRow.external_id,
                    PlanRow.closed_at,
                    PlanRow.autopay,
                ).where(PlanRow.user_id == owner)
            )
        ).all()
    assert not active
    assert not reminded
    assert len(kept) == payments
    assert sorted(p.amount for p in kept) == amounts
    assert all(p.method_id is None and p.quote_id is None for p in kept)
    assert await _count(db, AllocationLineRow) == lines  # every allocation line stays
    # The plans stay for their terms and installments (the lines point at them), closed,
    # without the title or the lender's reference, and nothing is auto-debited again.
    assert {p.provider for p in plans} == {PROVIDER, "Xiaomi"}
    assert all(p.title == "" and p.external_id is None for p in plans)
    assert all(p.closed_at is not None and not p.autopay for p in plans)
    assert await _count(db, InstallmentRow, InstallmentRow.plan_id == person["plan"]) == 12
    for model in (CreditLineRow, PaymentMethodRow, QuoteRow, ReminderLogRow):
        assert await _count(db, model, model.user_id.in_([1001, owner])) == 0
    async with db.uow() as uow:  # 2002's books still add up
        succeeded = sum(
            (
                await uow.session.scalars(
                    select(PaymentRow.amount).where(PaymentRow.status == "succeeded")
                )
            ).all(),
            Decimal(0),
        )
        allocated = sum(
            (
                ln.penalty + ln.fee + ln.interest + ln.principal
                for ln in (await uow.session.scalars(select(AllocationLineRow))).all()
            ),
            Decimal(0),
        )
    assert allocated == succeeded
