"""core.services.users against a real database: registration, language, activity, /forget."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from core.db.models import (
    AllocationLineRow,
    CreditLineRow,
    InstallmentRow,
    PaymentMethodRow,
    PaymentRow,
    PlanRow,
    QuoteRow,
    User,
)
from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.services.errors import InvalidInput, NotFound
from core.services.forget import forget_user
from core.services.methods import MethodKind
from core.services.payments import Outcome
from core.services.users import (
    ensure_user,
    get_user,
    normalize_language,
    set_active,
    set_language,
)

ALL_TABLES: tuple[Any, ...] = (
    User,
    CreditLineRow,
    PaymentMethodRow,
    PlanRow,
    InstallmentRow,
    QuoteRow,
    PaymentRow,
    AllocationLineRow,
)


async def _user_row(db: Database, telegram_id: int) -> tuple[str, str, bool, datetime] | None:
    async with db.uow() as uow:
        user = await uow.session.get(User, telegram_id)
        if user is None:
            return None
        return user.language, user.timezone, user.active, user.created_at


async def test_ensure_user_creates_once(db: Database, now: datetime) -> None:
    async with db.uow() as uow:
        first = await ensure_user(uow, 42, now, language_code="en-US")
    async with db.uow() as uow:
        again = await ensure_user(uow, 42, now + timedelta(days=1), language_code="zh-hans")
    assert first.created is True
    assert again.created is False
    assert (again.telegram_id, again.language, again.timezone) == (42, "en", "Asia/Shanghai")
    async with db.uow() as uow:
        count = len((await uow.session.scalars(select(User))).all())
    assert count == 1
    assert await _user_row(db, 42) == ("en", "Asia/Shanghai", True, now)  # first contact kept


@pytest.mark.parametrize(
    ("code", "default", "expected"),
    [
        ("zh-hans", "en", "zh"),
        ("zh-Hant-TW", "en", "zh"),
        ("zh_CN", "en", "zh"),
        ("en-US", "zh", "en"),
        ("EN", "zh", "en"),
        ("fr", "zh", "zh"),
        ("fr", "en", "en"),
        ("", "zh", "zh"),
        (None, "en", "en"),
    ],
)
def test_normalize_language(code: str | None, default: str, expected: str) -> None:
    assert normalize_language(code, default) == expected


@pytest.mark.parametrize(
    ("code", "expected"), [("zh-hans", "zh"), ("en-US", "en"), ("pt-BR", "zh"), (None, "zh")]
)
async def test_ensure_user_stores_normalized_language(
    db: Database, now: datetime, code: str | None, expected: str
) -> None:
    async with db.uow() as uow:
        view = await ensure_user(uow, 7, now, language_code=code)
    assert view.language == expected
    stored = await _user_row(db, 7)
    assert stored is not None
    assert stored[0] == expected


async def test_ensure_user_defaults_and_bad_zone(db: Database, now: datetime) -> None:
    async with db.uow() as uow:
        view = await ensure_user(
            uow, 8, now, language_code="de", default_language="en", default_timezone="Europe/Paris"
        )
    assert (view.language, view.timezone) == ("en", "Europe/Paris")
    async with db.uow() as uow:
        with pytest.raises(InvalidInput) as caught:
            await ensure_user(uow, 9, now, default_timezone="Mars/Olympus")
    assert caught.value.field == "timezone"
    assert await _user_row(db, 9) is None


async def test_set_language(db: Database, now: datetime) -> None:
    async with db.uow() as uow:
        await ensure_user(uow, 5, now, language_code="zh")
    async with db.uow() as uow:
        view = await set_language(uow, 5, "en")
    assert view.language == "en"
    stored = await _user_row(db, 5)
    assert stored is not None
    assert stored[0] == "en"
    async with db.uow() as uow:
        with pytest.raises(InvalidInput):
            await set_language(uow, 5, "fr")
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await set_language(uow, 6, "en")
    stored = await _user_row(db, 5)
    assert stored is not None
    assert stored[0] == "en"


async def test_set_active_and_reactivation(db: Database, now: datetime) -> None:
    async with db.uow() as uow:
        await ensure_user(uow, 5, now)
    async with db.uow() as uow:
        assert await set_active(uow, 5, False) is True
    stored = await _user_row(db, 5)
    assert stored is not None
    assert stored[2] is False
    async with db.uow() as uow:
        assert await set_active(uow, 999, False) is False
    assert await _user_row(db, 999) is None
    async with db.uow() as uow:  # writing to the bot again marks the chat active
        view = await ensure_user(uow, 5, now)
    assert view.active is True
    assert view.created is False
    stored = await _user_row(db, 5)
    assert stored is not None
    assert stored[2] is True


async def _counts(db: Database) -> dict[str, int]:
    counts = {}
    async with db.uow() as uow:
        for model in ALL_TABLES:
            counts[model.__tablename__] = len((await uow.session.scalars(select(model))).all())
    return counts


async def _populate(make: Any, telegram_id: int) -> None:
    """A user with something in every table: a credit line, two methods, two plans, quotes,
    a succeeded payment (allocation lines, payoff adjustments) and a failed one."""
    user, _card = await make.user(telegram_id)
    await make.credit_line(user, "Xiaomi", "50000.00")
    poor = await make.method(user, label="零钱", kind=MethodKind.WECHAT, last4=None)
    plan = await make.plan(user, make.fee_plan())
    await make.plan(user, make.annuity_plan(provider="Xiaomi"))
    assert (await make.pay(user, QuoteKind.BILL)).outcome is Outcome.SUCCEEDED
    assert (await make.pay(user, QuoteKind.PAYOFF, plan_id=plan)).outcome is Outcome.SUCCEEDED
    failed = await make.pay(user, QuoteKind.CUSTOM, amount="10.00", method_id=poor)
    assert failed.outcome is Outcome.FAILED
    await make.quote(user, QuoteKind.CUSTOM, amount="1.00")  # left open


async def test_forget_user_deletes_everything_of_theirs_only(db: Database, make: Any) -> None:
    await _populate(make, 2002)  # someone else, who must be left alone
    before = await _counts(db)
    await _populate(make, 1001)
    with_both = await _counts(db)
    assert all(with_both[name] > before[name] for name in before), (before, with_both)

    async with db.uow() as uow:
        assert await forget_user(uow, 1001, make.now) is True

    assert await _counts(db) == before
    assert await _user_row(db, 1001) is None
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await get_user(uow, 1001)
        assert await forget_user(uow, 1001, make.now) is False
    # The other user's books are intact and still add up.
    async with db.uow() as uow:
        payments = (await uow.session.scalars(select(PaymentRow))).all()
        assert {p.user_id for p in payments} == {2002}
        succeeded = sum((p.amount for p in payments if p.status == "succeeded"), Decimal(0))
        lines = (await uow.session.scalars(select(AllocationLineRow))).all()
        allocated = sum((ln.penalty + ln.fee + ln.interest + ln.principal for ln in lines), 0)
        assert allocated == succeeded


async def test_forgotten_user_starts_afresh(db: Database, make: Any, now: datetime) -> None:
    await _populate(make, 1001)
    async with db.uow() as uow:
        await forget_user(uow, 1001, make.now)
    async with db.uow() as uow:
        view = await ensure_user(uow, 1001, now, language_code="en")
    assert view.created is True
    counts = await _counts(db)
    assert counts["users"] == 1
    assert {name: n for name, n in counts.items() if name != "users"} == {
        name: 0 for name in counts if name != "users"
    }
