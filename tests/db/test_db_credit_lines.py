"""Credit lines kept in chat: add (one per lender, whatever the case it is typed in),
change the limit, freeze; a plan's lender matches its line regardless of case."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from core.db.uow import Database
from core.domain.credit import CreditRefused
from core.limits import MAX_CREDIT_LINES
from core.services.credit_lines import add_line, list_lines, set_frozen, set_limit
from core.services.draws import check_draw
from core.services.errors import InvalidInput, LimitReached, NotFound

D = Decimal


async def test_lines_are_added_changed_and_frozen(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    async with db.uow() as uow:
        line_id = await add_line(uow, user, " Xiaomi ", D("20000"))
    for typed in ("xiaomi", "XIAOMI"):
        async with db.uow() as uow:
            with pytest.raises(InvalidInput) as caught:
                await add_line(uow, user, typed, D("1"))
        assert caught.value.problem == "exists"
    for bad in (D("0"), D("-1"), D("0.001")):
        async with db.uow() as uow:
            with pytest.raises(InvalidInput):
                await add_line(uow, user, "Huabei", bad)
    await make.plan(user, make.fee_plan(provider="XIAOMI", principal="1200.00"))
    async with db.uow() as uow:
        [view] = await list_lines(uow, user, now)
    assert (view.line_id, view.line.provider, view.line.limit) == (line_id, "Xiaomi", D("20000"))
    assert view.line.used == D("1200.00")  # the plan's lender, typed in capitals, is its line
    async with db.uow() as uow:
        await set_limit(uow, user, line_id, D("1000"))
    async with db.uow() as uow:
        [view] = await list_lines(uow, user, now)
    assert view.line.available == 0  # below what is used: nothing left, nothing refused
    async with db.uow() as uow:
        await set_limit(uow, user, line_id, D("5000"))
        await set_frozen(uow, user, line_id, True)
    async with db.uow() as uow:
        with pytest.raises(CreditRefused):
            await check_draw(uow, user, "xiaomi", now)  # a frozen line refuses, any case
    other, _ = await make.user()
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await set_frozen(uow, other, line_id, False)


async def test_at_most_the_limit_of_lines(db: Database, make: Any) -> None:
    user, _ = await make.user()
    for n in range(MAX_CREDIT_LINES):
        async with db.uow() as uow:
            await add_line(uow, user, f"Lender {n}", D("100"))
    async with db.uow() as uow:
        with pytest.raises(LimitReached):
            await add_line(uow, user, "One more", D("100"))
