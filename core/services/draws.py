"""Whether a new plan can be drawn on the user's credit lines (额度): said while /add is
being answered — before its first question, once the lender is known, once the amount is
— so that nobody answers eight questions to hear no at the end. ``add_plan`` checks again
when the plan is saved."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import CreditLineRow
from core.db.uow import UnitOfWork
from core.domain.credit import (
    CreditLine,
    check_line_open,
    check_new_draw,
    outstanding_principal,
    same_provider,
)
from core.domain.terms import PlanKind
from core.services.books import LoadedPlan, load_plans
from core.services.clock import local_date
from core.services.errors import NoCreditLine
from core.services.plans import credit_line
from core.services.users import get_user


async def credit_lines(
    session: AsyncSession, user_id: int, plans: Sequence[LoadedPlan], on: date
) -> tuple[CreditLine, ...]:
    """The user's lines by provider, each with the principal its plans still use."""
    rows = await session.scalars(
        select(CreditLineRow)
        .where(CreditLineRow.user_id == user_id)
        .order_by(CreditLineRow.provider)
    )
    return tuple(
        CreditLine(
            row.provider,
            row.limit,
            outstanding_principal(
                [p.book for p in plans if same_provider(p.row.provider, row.provider)], on
            ),
            row.frozen,
        )
        for row in rows
    )


async def closed_lines(uow: UnitOfWork, user_id: int, now: datetime) -> tuple[CreditLine, ...]:
    """The lines that can carry no new plan now: frozen, or nothing left available."""
    user = await get_user(uow, user_id)
    plans = await load_plans(uow.session, user_id)
    lines = await credit_lines(uow.session, user_id, plans, local_date(now, user.timezone))
    return tuple(line for line in lines if line.available <= 0)


async def check_draw(
    uow: UnitOfWork,
    user_id: int,
    provider: str,
    now: datetime,
    *,
    kind: PlanKind | None = None,
    principal: Decimal | None = None,
) -> None:
    """Refuse what is known so far: a frozen or exhausted line (``CreditRefused``), a
    principal the line cannot carry, a cash advance from a lender that gave no line
    (``NoCreditLine``). A purchase from a lender without a line needs none."""
    user = await get_user(uow, user_id)
    line = await credit_line(uow, user_id, provider, local_date(now, user.timezone))
    if line is None:
        if kind is PlanKind.CASH_ADVANCE:
            raise NoCreditLine(provider)
        return
    if principal is None:
        check_line_open(line)
    else:
        check_new_draw(line, principal)
