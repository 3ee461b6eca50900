"""core.services.methods against a real database: bind, default, remove, top up, auto-repay."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest

from core.db.uow import Database
from core.domain.quotes import QuoteKind
from core.services.errors import InvalidInput, NotFound
from core.services.methods import (
    MethodKind,
    add_method,
    list_methods,
    remove_method,
    set_autopay,
    set_default,
    top_up,
)
from core.services.overview import status_overview
from core.services.payments import Outcome
from core.services.users import ensure_user

LIMIT = Decimal("50000.00")


async def _listed(db: Database, user: int) -> list[tuple[int, bool, Decimal]]:
    async with db.uow() as uow:
        return [(m.method_id, m.is_default, m.balance) for m in await list_methods(uow, user)]


async def test_first_method_becomes_default(db: Database, make: Any, now: datetime) -> None:
    async with db.uow() as uow:
        await ensure_user(uow, 1, now)
    async with db.uow() as uow:
        first = await add_method(uow, 1, MethodKind.BANK_CARD, " 招商银行 ", "1234", now)
    async with db.uow() as uow:
        second = await add_method(uow, 1, MethodKind.WECHAT, "微信支付", None, now)
    assert first.is_default is True
    assert second.is_default is False
    assert (first.kind, first.label, first.last4, first.balance) == (
        MethodKind.BANK_CARD,
        "招商银行",
        "1234",
        Decimal("0.00"),
    )
    assert await _listed(db, 1) == [
        (first.method_id, True, Decimal("0.00")),
        (second.method_id, False, Decimal("0.00")),
    ]
    async with db.uow() as uow:
        third = await add_method(uow, 1, MethodKind.ALIPAY, "支付宝", None, now, make_default=True)
    assert third.is_default is True
    listed = await _listed(db, 1)
    assert listed[0] == (third.method_id, True, Decimal("0.00"))
    assert [d for _, d, _ in listed] == [True, False, False]


BAD_METHODS = [
    (MethodKind.BANK_CARD, "卡", None, "last4"),
    (MethodKind.BANK_CARD, "卡", "12a4", "last4"),
    (MethodKind.BANK_CARD, "卡", "12345", "last4"),
    (MethodKind.WECHAT, "微信", "12", "last4"),
    (MethodKind.ALIPAY, "   ", None, "label"),
    (MethodKind.ALIPAY, "x" * 65, None, "label"),
]


async def test_add_method_validates(db: Database, now: datetime) -> None:
    async with db.uow() as uow:
        await ensure_user(uow, 1, now)
    for kind, label, last4, field in BAD_METHODS:
        async with db.uow() as uow:
            with pytest.raises(InvalidInput) as caught:
                await add_method(uow, 1, kind, label, last4, now)
        assert caught.value.field == field, (kind, label, last4)
    assert await _listed(db, 1) == []
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await add_method(uow, 2, MethodKind.WECHAT, "微信", None, now)


async def test_set_default(db: Database, make: Any) -> None:
    user, card = await make.user(balance="0")
    wallet = await make.method(user, kind=MethodKind.WECHAT, label="微信", last4=None)
    other, theirs = await make.user()
    async with db.uow() as uow:
        view = await set_default(uow, user, wallet)
    assert view.is_default is True
    assert await _listed(db, user) == [(wallet, True, 0), (card, False, 0)]
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await set_default(uow, user, theirs)
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await set_default(uow, user, 99999)
    assert await _listed(db, user) == [(wallet, True, 0), (card, False, 0)]
    assert [d for _, d, _ in await _listed(db, other)] == [True]
    # A default quote now uses the new default.
    await make.plan(user, make.fee_plan())
    quote = await make.quote(user, QuoteKind.BILL)
    assert quote.method_id == wallet


async def test_remove_method(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user(balance="500.00")
    spare = await make.method(user, balance="300.00", label="建设银行", last4="9999")
    plan = await make.plan(user, make.fee_plan())
    async with db.uow() as uow:
        await set_autopay(uow, user, plan, True, card)
    early_quote = await make.quote(user, QuoteKind.BILL, method_id=card)

    async with db.uow() as uow:
        await remove_method(uow, user, card, now)

    # Not listed; the default moved to the remaining method.
    assert await _listed(db, user) == [(spare, True, Decimal("300.00"))]
    # Auto-repay no longer points at it.
    row = await make.plan_row(plan)
    assert row.autopay_method_id is None
    async with db.uow() as uow:
        overview = await status_overview(uow, user, now)
    # It debits the new default now, and says so (the sweep's rule, debit_order).
    assert [(a.plan_id, a.method_label, a.via_default) for a in overview.autopay] == [
        (plan, "建设银行", True)
    ]
    # Never debited: a quote priced earlier with it fails.
    outcome = await make.confirm(user, early_quote.quote_id)
    assert outcome.outcome is Outcome.FAILED
    assert outcome.failure_reason == "method_removed"
    assert await make.balance(card) == Decimal("500.00")
    # A new quote goes to the new default.
    paid = await make.pay(user, QuoteKind.BILL)
    assert paid.outcome is Outcome.SUCCEEDED
    assert await make.balance(spare) == Decimal("300.00") - paid.amount
    # Removing it again, or using it anywhere, is NotFound.
    for action in (
        lambda uow: remove_method(uow, user, card, now),
        lambda uow: set_default(uow, user, card),
        lambda uow: top_up(uow, user, card, Decimal("1.00"), LIMIT),
        lambda uow: set_autopay(uow, user, plan, True, card),
    ):
        async with db.uow() as uow:
            with pytest.raises(NotFound):
                await action(uow)
    assert await make.balance(card) == Decimal("500.00")


async def test_remove_last_and_non_default_methods(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user(balance="0")
    spare = await make.method(user, label="建设银行", last4="9999")
    async with db.uow() as uow:
        await remove_method(uow, user, spare, now)  # not the default: default stays
    assert await _listed(db, user) == [(card, True, 0)]
    async with db.uow() as uow:
        await remove_method(uow, user, card, now)
    assert await _listed(db, user) == []
    new = await make.method(user, label="农业银行", last4="0001")
    assert await _listed(db, user) == [(new, True, 0)]  # first live method is the default again


async def test_someone_elses_method_is_not_found(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user(balance="10.00")
    other, theirs = await make.user(balance="10.00")
    plan = await make.plan(user, make.fee_plan())
    for action in (
        lambda uow: remove_method(uow, user, theirs, now),
        lambda uow: set_default(uow, user, theirs),
        lambda uow: top_up(uow, user, theirs, Decimal("1.00"), LIMIT),
        lambda uow: set_autopay(uow, user, plan, True, theirs),
    ):
        async with db.uow() as uow:
            with pytest.raises(NotFound):
                await action(uow)
    assert await _listed(db, other) == [(theirs, True, Decimal("10.00"))]
    row = await make.plan_row(plan)
    assert (row.autopay, row.autopay_method_id) == (False, None)


async def test_top_up(db: Database, make: Any) -> None:
    user, card = await make.user(balance="0")
    async with db.uow() as uow:
        view = await top_up(uow, user, card, Decimal("100.50"), LIMIT)
    assert view.balance == Decimal("100.50")
    async with db.uow() as uow:
        view = await top_up(uow, user, card, LIMIT, LIMIT)  # the limit itself is allowed
    assert view.balance == Decimal("50100.50")
    assert await make.balance(card) == Decimal("50100.50")


BAD_AMOUNTS = [
    ("0", "zero"),
    ("0.00", "zero"),
    ("-1.00", "negative"),
    ("10.001", "too_many_decimals"),
    ("50000.01", "too_large"),
    ("10000000.01", "too_large"),
    ("NaN", "not_finite"),
    ("Infinity", "not_finite"),
]


async def test_top_up_refuses_bad_amounts(db: Database, make: Any) -> None:
    user, card = await make.user(balance="20.00")
    for amount, problem in BAD_AMOUNTS:
        async with db.uow() as uow:
            with pytest.raises(InvalidInput) as caught:
                await top_up(uow, user, card, Decimal(amount), LIMIT)
        assert (caught.value.field, caught.value.problem) == ("amount", problem), amount
    assert await make.balance(card) == Decimal("20.00")


async def test_set_autopay(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user()
    wallet = await make.method(user, kind=MethodKind.ALIPAY, label="支付宝", last4=None)
    other, _ = await make.user()
    plan = await make.plan(user, make.fee_plan())
    theirs = await make.plan(other, make.fee_plan())

    async with db.uow() as uow:
        await set_autopay(uow, user, plan, True, wallet, fallback_to_default=True)
    row = await make.plan_row(plan)
    assert (row.autopay, row.autopay_method_id, row.autopay_fallback) == (True, wallet, True)
    async with db.uow() as uow:
        overview = await status_overview(uow, user, now)
    assert [(a.plan_id, a.enabled, a.method_label) for a in overview.autopay] == [
        (plan, True, "支付宝")
    ]

    async with db.uow() as uow:
        await set_autopay(uow, user, plan, False)  # off: the chosen method is kept
    row = await make.plan_row(plan)
    assert (row.autopay, row.autopay_method_id, row.autopay_fallback) == (False, wallet, True)

    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await set_autopay(uow, user, theirs, True, card)
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await set_autopay(uow, other, plan, True)
    assert (await make.plan_row(theirs)).autopay is False
    assert (await make.plan_row(plan)).autopay is False


async def test_typed_forms_are_normalized_and_a_method_is_bound_once(
    db: Database, now: datetime
) -> None:
    """Full-width digits and letters (a phone keyboard's) are stored as ASCII; the same
    method — kind, label regardless of case, last four — cannot be bound twice while it is
    bound; once removed, it can be again."""
    async with db.uow() as uow:
        await ensure_user(uow, 1, now)
    async with db.uow() as uow:
        card = await add_method(uow, 1, MethodKind.BANK_CARD, " ＣＭＢ ", "１２３４", now)
    assert (card.label, card.last4) == ("CMB", "1234")
    for label, last4 in (("cmb", "1234"), ("ＣＭＢ", "１２３４")):
        async with db.uow() as uow:
            with pytest.raises(InvalidInput) as caught:
                await add_method(uow, 1, MethodKind.BANK_CARD, label, last4, now)
        assert caught.value.field == "method"
    async with db.uow() as uow:  # another card of the same bank is another method
        await add_method(uow, 1, MethodKind.BANK_CARD, "CMB", "9999", now)
    async with db.uow() as uow:
        await add_method(uow, 1, MethodKind.WECHAT, "WeChat", None, now)
    async with db.uow() as uow:
        with pytest.raises(InvalidInput):
            await add_method(uow, 1, MethodKind.WECHAT, "wechat", None, now)
    async with db.uow() as uow:
        await remove_method(uow, 1, card.method_id, now)
    async with db.uow() as uow:
        again = await add_method(uow, 1, MethodKind.BANK_CARD, "CMB", "1234", now)
    assert again.method_id != card.method_id
    assert len(await _listed(db, 1)) == 3
