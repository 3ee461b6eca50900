"""Credit lines (额度) kept in chat: list them with what each has left, add one for a
lender, change its limit, freeze or unfreeze it. A lender is one line whatever the case
it is typed in ("Xiaomi", "xiaomi")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select

from core.db.models import CreditLineRow
from core.db.uow import UnitOfWork
from core.domain.credit import CreditLine, outstanding_principal, same_provider
from core.limits import MAX_CREDIT_LINES, MAX_PROVIDER_CHARS
from core.money import AmountError, validate_amount
from core.services.books import load_plans
from core.services.clock import local_date
from core.services.errors import InvalidInput, Limit, LimitReached, NotFound
from core.services.users import get_user, lock_user


@dataclass(frozen=True, slots=True)
class LineView:
    line_id: int
    line: CreditLine


async def list_lines(uow: UnitOfWork, user_id: int, now: datetime) -> list[LineView]:
    """The user's lines by lender, each with the principal its plans still use."""
    user = await get_user(uow, user_id)
    on = local_date(now, user.timezone)
    plans = await load_plans(uow.session, user_id)
    rows = await uow.session.scalars(
        select(CreditLineRow)
        .where(CreditLineRow.user_id == user_id)
        .order_by(CreditLineRow.provider)
    )
    return [
        LineView(
            row.id,
            CreditLine(
                row.provider,
                row.limit,
                outstanding_principal(
                    [p.book for p in plans if same_provider(p.row.provider, row.provider)], on
                ),
                row.frozen,
            ),
        )
        for row in rows
    ]


def _limit(value: Decimal) -> Decimal:
    try:
        return validate_amount(value)
    except AmountError as exc:
        raise InvalidInput("limit", exc.problem.value) from exc


async def add_line(uow: UnitOfWork, user_id: int, provider: str, limit: Decimal) -> int:
    """A new line for a lender the user has none for; commits. ``InvalidInput`` for a
    lender already there (field "provider", problem "exists") or a bad name or limit."""
    await lock_user(uow, user_id)
    provider = provider.strip()
    if not provider or len(provider) > MAX_PROVIDER_CHARS:
        raise InvalidInput("provider", "length")
    amount = _limit(limit)
    rows = list(
        await uow.session.scalars(select(CreditLineRow).where(CreditLineRow.user_id == user_id))
    )
    if any(same_provider(row.provider, provider) for row in rows):
        raise InvalidInput("provider", "exists")
    if len(rows) >= MAX_CREDIT_LINES:
        raise LimitReached(Limit.CREDIT_LINES, MAX_CREDIT_LINES)
    row = CreditLineRow(user_id=user_id, provider=provider, limit=amount, frozen=False)
    uow.session.add(row)
    await uow.session.flush()
    await uow.commit()
    return row.id


async def _own(uow: UnitOfWork, user_id: int, line_id: int) -> CreditLineRow:
    row = await uow.session.get(CreditLineRow, line_id, with_for_update=True)
    if row is None or row.user_id != user_id:
        raise NotFound("credit_line")
    return row


async def set_limit(uow: UnitOfWork, user_id: int, line_id: int, limit: Decimal) -> None:
    """A new limit; one below what the plans use leaves nothing available. Commits."""
    row = await _own(uow, user_id, line_id)
    row.limit = _limit(limit)
    await uow.commit()


async def set_frozen(uow: UnitOfWork, user_id: int, line_id: int, frozen: bool) -> None:
    """Freeze (no new plan on it; paying and viewing go on) or unfreeze. Commits."""
    row = await _own(uow, user_id, line_id)
    row.frozen = frozen
    await uow.commit()
