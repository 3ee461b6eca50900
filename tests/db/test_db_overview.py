"""The /status overview (SPEC F1, F9, F10, F12) on a hand-worked example."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from core.db.uow import Database
from core.domain.credit import CreditLine, Health
from core.domain.quotes import QuoteKind
from core.domain.status import Bucket
from core.services.methods import set_autopay
from core.services.overview import AutopayView, Overview, status_overview
from core.services.payments import Outcome
from core.services.reminders import update_reminder_settings


async def _overview(db: Database, user: int, now: datetime) -> Overview:
    async with db.uow() as uow:
        return await status_overview(uow, user, now)


async def test_hand_worked_overview(db: Database, make: Any, now: datetime) -> None:
    """On 2026-11-22 (Shanghai):

    phone, Xiaomi, interest free, 1,200.00 over 12, due on the 10th: period 1 (100.00, due
    11-10, grace to 11-13) is 12 days overdue, penalty 100.00 × 0.05 % × 12 = 0.60;
    period 2 (due 12-10) is the current period.
    laptop, JD, 600.00 over 6 at 0.6 % a period (fee 3.60), period 1 (103.60) due today.
    """
    user, card = await make.user(balance="1000.00")
    phone = await make.plan(
        user, make.free_plan(title="phone", provider="Xiaomi", first_due=date(2026, 11, 10))
    )
    laptop = await make.plan(
        user, make.fee_plan(title="laptop", provider="JD", principal="600.00", periods=6)
    )
    await make.credit_line(user, "Xiaomi", "5000.00")
    await make.credit_line(user, "JD", "2000.00", frozen=True)
    async with db.uow() as uow:
        await set_autopay(uow, user, phone, True, card)

    overview = await _overview(db, user, now)

    summary = overview.summary
    assert summary.outstanding == Decimal("1822.20")  # 1,200.60 + 600.00 + 6 × 3.60
    assert summary.current_bill == Decimal("304.20")  # 100.60 + 100.00 + 103.60
    assert summary.next_due_date == date(2026, 11, 22)
    assert summary.next_due_amount == Decimal("103.60")
    assert summary.overdue_amount == Decimal("100.60")
    assert summary.overdue_days == 12
    assert summary.penalty == Decimal("0.60")
    assert overview.credit_lines == (
        CreditLine("JD", Decimal("2000.00"), Decimal("600.00"), frozen=True),
        CreditLine("Xiaomi", Decimal("5000.00"), Decimal("1200.00"), frozen=False),
    )
    assert [line.available for line in overview.credit_lines] == [0, Decimal("3800.00")]
    record = overview.record
    assert (record.on_time, record.late, record.overdue_installments, record.overdue_days) == (
        0,
        0,
        1,
        12,
    )
    assert record.bucket is Bucket.M1
    assert record.health is Health.OVERDUE
    assert overview.autopay == (
        AutopayView(phone, "phone", True, "招商银行"),
        AutopayView(laptop, "laptop", False, None),
    )
    assert overview.open_plans == 2

    # Paying the overdue installment (penalty first) leaves a late but clean record.
    paid = await make.pay(user, QuoteKind.CUSTOM, amount="100.60")
    assert paid.outcome is Outcome.SUCCEEDED
    after = await _overview(db, user, now)
    assert after.summary.outstanding == Decimal("1721.60")
    assert after.summary.current_bill == Decimal("203.60")
    assert (after.summary.overdue_amount, after.summary.overdue_days) == (0, 0)
    assert after.summary.penalty == 0
    assert (after.record.late, after.record.overdue_installments) == (1, 0)
    assert after.record.health is Health.RECOVERED
    assert after.record.bucket is None
    assert [line.used for line in after.credit_lines] == [Decimal("600.00"), Decimal("1100.00")]

    # Paying the laptop off closes it: it leaves the auto-repay list and the open count.
    payoff = await make.pay(user, QuoteKind.PAYOFF, plan_id=laptop)
    assert payoff.amount == Decimal("600.00") + Decimal("3.60")  # later fees waived
    final = await _overview(db, user, now)
    assert final.open_plans == 1
    assert [a.plan_id for a in final.autopay] == [phone]
    assert final.summary.outstanding == Decimal("1100.00")
    assert final.record.on_time == 6  # the laptop's periods, all paid before due


async def test_empty_overview(db: Database, make: Any, now: datetime) -> None:
    user, _ = await make.user()
    overview = await _overview(db, user, now)
    assert overview.summary.outstanding == 0
    assert overview.summary.next_due_date is None
    assert overview.credit_lines == ()
    assert overview.autopay == ()
    assert overview.open_plans == 0
    assert overview.record.health is Health.CLEAN


async def test_overview_uses_the_users_calendar_date(db: Database, make: Any) -> None:
    """2026-11-21 17:00 UTC is already 11-22 in Shanghai but still 11-21 in New York.
    Due 11-18 with 3 days of grace: overdue (4 days, penalty 0.20) only in Shanghai."""
    instant = datetime(2026, 11, 21, 17, 0, tzinfo=UTC)
    user, _ = await make.user()
    await make.plan(user, make.free_plan(first_due=date(2026, 11, 18)))

    shanghai = await _overview(db, user, instant)
    assert (shanghai.summary.overdue_days, shanghai.summary.penalty) == (4, Decimal("0.20"))
    assert shanghai.record.overdue_installments == 1

    async with db.uow() as uow:
        await update_reminder_settings(uow, user, timezone="America/New_York")
    new_york = await _overview(db, user, instant)
    assert (new_york.summary.overdue_days, new_york.summary.penalty) == (0, 0)
    assert new_york.record.overdue_installments == 0
    assert new_york.summary.outstanding == Decimal("1200.00")
