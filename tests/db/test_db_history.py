"""Payment history (SPEC F8) and the CSV export (F13) against a real database."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from core.db.models import PaymentRow
from core.db.uow import Database
from core.domain.ledger import Parts
from core.domain.quotes import QuoteKind
from core.services.errors import InvalidInput, NotFound
from core.services.history import (
    MAX_PAGE_SIZE,
    PAYMENT_COLUMNS,
    SCHEDULE_COLUMNS,
    Page,
    export_rows,
    list_payments,
    to_csv,
    typed_text,
)
from core.services.methods import MethodKind
from core.services.payments import Outcome


async def _page(db: Database, user: int, **kwargs: Any) -> Page:
    async with db.uow() as uow:
        return await list_payments(uow, user, **kwargs)


async def _seven_payments(make: Any, now: datetime) -> tuple[int, list[int]]:
    """Seven custom payments of 1.00 … 7.00, one minute apart; returns their ids in order."""
    user, _ = await make.user()
    await make.plan(user, make.fee_plan())
    ids = []
    for i in range(1, 8):
        outcome = await make.pay(
            user, QuoteKind.CUSTOM, amount=f"{i}.00", now=now + timedelta(minutes=i)
        )
        assert outcome.outcome is Outcome.SUCCEEDED
        ids.append(outcome.payment_id)
    return user, ids


async def test_pagination(db: Database, make: Any, now: datetime) -> None:
    user, ids = await _seven_payments(make, now)
    newest_first = ids[::-1]

    first = await _page(db, user, per_page=3)
    assert (first.page, first.pages, first.total) == (1, 3, 7)
    assert [p.payment_id for p in first.items] == newest_first[:3]
    assert [p.amount for p in first.items] == [Decimal("7.00"), Decimal("6.00"), Decimal("5.00")]
    assert first.items[0].created_at == now + timedelta(minutes=7)
    second = await _page(db, user, page=2, per_page=3)
    assert [p.payment_id for p in second.items] == newest_first[3:6]
    last = await _page(db, user, page=3, per_page=3)
    assert [p.payment_id for p in last.items] == newest_first[6:]

    clamped_high = await _page(db, user, page=99, per_page=3)
    assert (clamped_high.page, [p.payment_id for p in clamped_high.items]) == (3, [ids[0]])
    clamped_low = await _page(db, user, page=0, per_page=3)
    assert (clamped_low.page, [p.payment_id for p in clamped_low.items]) == (1, newest_first[:3])
    default = await _page(db, user)
    assert (len(default.items), default.pages) == (5, 2)
    everything = await _page(db, user, per_page=MAX_PAGE_SIZE)
    assert [p.payment_id for p in everything.items] == newest_first
    exact = await _page(db, user, per_page=7)
    assert (exact.pages, len(exact.items)) == (1, 7)

    for per_page in (0, -1, MAX_PAGE_SIZE + 1):
        with pytest.raises(InvalidInput):
            await _page(db, user, per_page=per_page)


async def test_empty_history_and_isolation(db: Database, make: Any, now: datetime) -> None:
    await _seven_payments(make, now)
    stranger, _ = await make.user()
    empty = await _page(db, stranger, page=5)
    assert (empty.items, empty.page, empty.pages, empty.total) == ((), 1, 1, 0)
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await list_payments(uow, 424242)


async def test_details_and_filter_by_plan(db: Database, make: Any, now: datetime) -> None:
    user, card = await make.user(balance="3000.00")
    poor = await make.method(
        user, kind=MethodKind.WECHAT, label="微信零钱", last4=None, balance="1.00"
    )
    phone = await make.plan(user, make.fee_plan(title="Xiaomi 15"))
    pad = await make.plan(user, make.free_plan(title="Redmi Pad"))
    lonely = await make.plan(user, make.free_plan(title="Untouched"))
    other, _ = await make.user()
    theirs = await make.plan(other, make.fee_plan())

    # 1) A bill spanning all three plans, 2) the phone's next period,
    # 3) a failed attempt at the pad's next period, 4) a payoff of the pad.
    t = [now + timedelta(minutes=i) for i in range(4)]
    bill = await make.pay(user, QuoteKind.BILL, now=t[0])
    period = await make.pay(user, QuoteKind.PERIOD, plan_id=phone, now=t[1])
    failed = await make.pay(user, QuoteKind.PERIOD, plan_id=pad, method_id=poor, now=t[2])
    payoff = await make.pay(user, QuoteKind.PAYOFF, plan_id=pad, now=t[3])
    assert [o.outcome for o in (bill, period, failed, payoff)] == [
        Outcome.SUCCEEDED,
        Outcome.SUCCEEDED,
        Outcome.FAILED,
        Outcome.SUCCEEDED,
    ]
    assert bill.amount == Decimal("107.20") + Decimal("100.00") + Decimal("100.00")

    everything = await _page(db, user, per_page=10)
    assert [p.payment_id for p in everything.items] == [
        payoff.payment_id,
        failed.payment_id,
        period.payment_id,
        bill.payment_id,
    ]
    by_id = {p.payment_id: p for p in everything.items}
    shown_bill = by_id[bill.payment_id]
    assert (shown_bill.kind, shown_bill.status, shown_bill.method_label) == (
        "manual",
        "succeeded",
        "招商银行",
    )
    assert [(a.plan_id, a.plan_title, a.period) for a in shown_bill.allocations] == [
        (phone, "Xiaomi 15", 1),
        (pad, "Redmi Pad", 1),
        (lonely, "Untouched", 1),
    ]
    assert shown_bill.allocations[0].parts == Parts(
        Decimal("0.00"), Decimal("7.20"), Decimal("0.00"), Decimal("100.00")
    )
    assert sum((a.parts.total for a in shown_bill.allocations), Decimal(0)) == bill.amount
    shown_failed = by_id[failed.payment_id]
    assert (shown_failed.status, shown_failed.failure_reason, shown_failed.method_label) == (
        "failed",
        "insufficient_balance",
        "微信零钱",
    )
    assert shown_failed.allocations == ()
    assert by_id[payoff.payment_id].kind == "payoff"

    phone_page = await _page(db, user, plan_id=phone, per_page=10)
    assert [p.payment_id for p in phone_page.items] == [period.payment_id, bill.payment_id]
    assert phone_page.total == 2
    pad_page = await _page(db, user, plan_id=pad, per_page=10)
    assert [p.payment_id for p in pad_page.items] == [
        payoff.payment_id,
        failed.payment_id,
        bill.payment_id,
    ]
    lonely_page = await _page(db, user, plan_id=lonely, per_page=10)
    assert [p.payment_id for p in lonely_page.items] == [bill.payment_id]
    # Even a filtered page shows a bill's whole allocation, not just this plan's part.
    assert len(lonely_page.items[0].allocations) == 3

    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await list_payments(uow, user, plan_id=theirs)
    async with db.uow() as uow:
        with pytest.raises(NotFound):
            await list_payments(uow, user, plan_id=99999)
    assert card


async def test_export_rows_and_csv(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user(balance="1000.00")
    poor = await make.method(
        user, kind=MethodKind.ALIPAY, label="余额宝, 主账户", last4=None, balance="1.00"
    )
    phone = await make.plan(user, make.fee_plan(title='Xiaomi "15"'))
    await make.plan(user, make.free_plan(periods=6, principal="600.00"))
    bill = await make.pay(user, QuoteKind.BILL)
    failed = await make.pay(
        user, QuoteKind.PERIOD, plan_id=phone, method_id=poor, now=now + timedelta(minutes=1)
    )
    async with db.uow() as uow:  # 55 more failed attempts: more than one page of MAX_PAGE_SIZE
        uow.session.add_all(
            PaymentRow(
                user_id=user,
                idempotency_key=f"test:{i}",
                method_id=poor,
                kind="auto",
                amount=Decimal("0.01"),
                status="failed",
                failure_reason="gateway_unavailable",
                paid_on=date(2026, 11, 22),
                created_at=now + timedelta(minutes=2, seconds=i),
                completed_at=now + timedelta(minutes=2, seconds=i),
            )
            for i in range(55)
        )
        await uow.commit()

    async with db.uow() as uow:
        export = await export_rows(uow, user, now + timedelta(hours=1))

    assert len(export.schedule) == 12 + 6
    assert all(len(row) == len(SCHEDULE_COLUMNS) for row in export.schedule)
    first = export.schedule[0]
    assert first == (
        str(phone),
        'Xiaomi "15"',
        "1",
        "2026-11-22",
        "100.00",
        "0.00",
        "7.20",
        "0.00",
        "107.20",
        "0.00",
        "paid",
    )
    assert len(export.payments) == 57
    assert all(len(row) == len(PAYMENT_COLUMNS) for row in export.payments)
    assert len({row[0] for row in export.payments}) == 57  # no payment twice across pages
    rows = {row[0]: row for row in export.payments}
    bill_row = rows[str(bill.payment_id)]
    assert bill_row[1:8] == (
        now.isoformat(),
        "2026-11-22",
        "207.20",
        "manual",
        "succeeded",
        "",
        "招商银行",
    )
    assert bill_row[8:] == ("0.00", "7.20", "0.00", "200.00")
    failed_row = rows[str(failed.payment_id)]
    assert failed_row[5:8] == ("failed", "insufficient_balance", "余额宝, 主账户")
    assert failed_row[8:] == ("0.00", "0.00", "0.00", "0.00")

    for columns, data in ((SCHEDULE_COLUMNS, export.schedule), (PAYMENT_COLUMNS, export.payments)):
        text = to_csv(columns, data)
        assert text.count("\n") == 1 + len(data)
        parsed = list(csv.reader(io.StringIO(text)))
        assert parsed[0] == list(columns)
        assert [tuple(row) for row in parsed[1:]] == [tuple(row) for row in data]
    assert to_csv(PAYMENT_COLUMNS, []) == ",".join(PAYMENT_COLUMNS) + "\n"


async def test_export_makes_typed_formulas_inert(db: Database, make: Any, now: datetime) -> None:
    """A title or card label typed as a spreadsheet formula arrives as text (OWASP CSV
    injection); our own figures, negative ones included, stay numbers."""
    formula = '=HYPERLINK("http://x","y")'
    user, _ = await make.user(label="@SUM(A1:A9)")
    await make.plan(user, make.fee_plan(title=formula))
    await make.plan(user, make.free_plan(title="-Phone", periods=6, principal="600.00"))
    await make.plan(user, make.free_plan(title="a=b+c", periods=6, principal="600.00"))
    bill = await make.pay(user, QuoteKind.BILL)
    async with db.uow() as uow:
        export = await export_rows(uow, user, now + timedelta(hours=1))

    titles = {row[1] for row in export.schedule}
    assert titles == {"'" + formula, "'-Phone", "a=b+c"}
    [paid] = [row for row in export.payments if row[0] == str(bill.payment_id)]
    assert paid[7] == "'@SUM(A1:A9)"
    parsed = list(csv.reader(io.StringIO(to_csv(SCHEDULE_COLUMNS, export.schedule))))
    assert {row[1] for row in parsed[1:]} == titles
    for row in parsed[1:]:  # amounts are written as we format them, never prefixed
        assert all(not cell.startswith("'") for cell in row[4:10])
        assert all(Decimal(cell) >= 0 for cell in row[4:10])
    # Typed text is stripped of surrounding blanks, but an import could still bring these.
    assert [typed_text(s) for s in ("\tx", "\rx", "+1", "x")] == ["'\tx", "'\rx", "'+1", "x"]
