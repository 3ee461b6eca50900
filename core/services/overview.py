"""The `/status` overview: what is owed, credit lines, credit record, auto-repay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from core.db.models import PaymentMethodRow
from core.db.uow import UnitOfWork
from core.domain.credit import CreditLine, CreditRecord, credit_record
from core.domain.overview import Summary, summarize
from core.services.books import load_plans
from core.services.clock import local_date
from core.services.draws import credit_lines
from core.services.users import get_user


@dataclass(frozen=True, slots=True)
class AutopayView:
    plan_id: int
    title: str
    enabled: bool
    method_label: str | None


@dataclass(frozen=True, slots=True)
class Overview:
    summary: Summary
    credit_lines: tuple[CreditLine, ...]
    record: CreditRecord
    autopay: tuple[AutopayView, ...]
    open_plans: int


async def status_overview(uow: UnitOfWork, user_id: int, now: datetime) -> Overview:
    user = await get_user(uow, user_id)
    on = local_date(now, user.timezone)
    plans = await load_plans(uow.session, user_id)
    credit = await credit_lines(uow.session, user_id, plans, on)
    methods = await uow.session.execute(
        select(PaymentMethodRow.id, PaymentMethodRow.label).where(
            PaymentMethodRow.user_id == user_id, PaymentMethodRow.removed_at.is_(None)
        )
    )
    labels = {row.id: row.label for row in methods}
    open_plans = [p for p in plans if p.row.closed_at is None]
    autopay = tuple(
        AutopayView(p.row.id, p.row.title, p.row.autopay, labels.get(p.row.autopay_method_id or 0))
        for p in open_plans
    )
    books = [p.book for p in plans]
    return Overview(
        summarize(books, on), credit, credit_record(books, on), autopay, len(open_plans)
    )
