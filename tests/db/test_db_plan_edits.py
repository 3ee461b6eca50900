"""Renaming and deleting a plan: a plan money was paid on through RepayBot stays; one with
only imported records goes, with its installments, reminders and those records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from core.db.models import InstallmentRow, PaymentRow, PlanRow
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.services.errors import InvalidInput, NotFound
from core.services.plan_edits import delete_plan, rename_plan


async def _count(db: Database, model: Any, *where: Any) -> int:
    async with db.uow() as uow:
        return int(
            await uow.session.scalar(select(func.count()).select_from(model).where(*where)) or 0
        )


async def test_rename(db: Database, make: Any) -> None:
    user, _ = await make.user()
    plan = await make.plan(user, make.fee_plan())
    async with db.uow() as uow:
        await rename_plan(uow, user, plan, "  Redmi 14  ")
    assert (await make.plan_row(plan)).title == "Redmi 14"
    for bad in ("", " ", "x" * 65):
        async with db.uow() as uow:
            with pytest.raises(InvalidInput):
                await rename_plan(uow, user, plan, bad)
    other, _ = await make.user()
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await rename_plan(uow, other, plan, "mine")


async def test_a_plan_paid_through_repaybot_stays(db: Database, make: Any) -> None:
    user, _ = await make.user()
    plan = await make.plan(user, make.fee_plan())
    await make.pay(user, QuoteKind.PERIOD, plan_id=plan)
    async with db.uow() as uow:
        with pytest.raises(InvalidInput) as caught:
            await delete_plan(uow, user, plan)
    assert caught.value.problem == "money_moved"
    assert await _count(db, PlanRow, PlanRow.id == plan) == 1


async def test_a_plan_without_money_moved_goes_with_its_records(
    db: Database, make: Any, now: datetime
) -> None:
    from core.importer import import_data

    data = {
        "users": [
            {
                "telegram_id": 7001,
                "language": "en",
                "timezone": "Asia/Shanghai",
                "plans": [
                    {
                        "external_id": "p1",
                        "provider": "Xiaomi",
                        "title": "Phone",
                        "principal": "1200.00",
                        "periods": 12,
                        "method": "interest_free",
                        "first_due": "2026-09-05",
                        "paid_periods": 2,
                    }
                ],
            }
        ]
    }
    await import_data(db, data, now)
    async with db.uow() as uow:
        plan = await uow.session.scalar(select(PlanRow.id).where(PlanRow.user_id == 7001))
    assert plan is not None
    assert await _count(db, PaymentRow, PaymentRow.user_id == 7001) == 2
    async with db.uow() as uow:
        await delete_plan(uow, 7001, plan)
    assert await _count(db, PlanRow, PlanRow.user_id == 7001) == 0
    assert await _count(db, InstallmentRow, InstallmentRow.plan_id == plan) == 0
    assert await _count(db, PaymentRow, PaymentRow.user_id == 7001) == 0
