"""The `/status` overview: what is owed, credit lines, credit record, auto-repay."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import func, select

from core.db.models import CreditLineRow, PaymentMethodRow, PaymentRow
from core.db.uow import UnitOfWork
from core.domain.autopay_cards import debit_order
from core.domain.credit import (
    CreditLine,
    CreditRecord,
    outstanding_principal,
    record_of,
    same_provider,
)
from core.domain.ledger import PlanBook
from core.domain.overview import Summary, summarize_open
from core.domain.quotes import open_of
from core.domain.status import position
from core.money import ZERO
from core.services.books import load_plans
from core.services.clock import local_date
from core.services.payments import IN_FLIGHT
from core.services.users import get_user


@dataclass(frozen=True, slots=True)
class AutopayView:
    plan_id: int
    title: str
    enabled: bool
    method_label: str | None  # what it debits first; None: nothing, it cannot run
    via_default: bool = False  # the default method, the plan having none of its own


@dataclass(frozen=True, slots=True)
class Overview:
    summary: Summary
    credit_lines: tuple[CreditLine, ...]
    record: CreditRecord
    autopay: tuple[AutopayView, ...]
    open_plans: int
    in_flight: Decimal = ZERO  # payments the provider has not settled: counted as paid


@dataclass(frozen=True, slots=True)
class OverviewPlan:
    """What the overview needs of one plan, as plain values (no ORM object)."""

    plan_id: int
    title: str
    provider: str
    open: bool
    autopay: bool
    autopay_method_id: int | None
    autopay_fallback: bool
    book: PlanBook


@dataclass(frozen=True, slots=True)
class OverviewBooks:
    """What the overview is computed from, read in one transaction. Computing it is pure
    work proportional to the account's installments (1,200 at the limits), which a caller
    may do after its transaction ends and off the event loop (bot/handlers/status.py)."""

    on: date
    plans: tuple[OverviewPlan, ...]
    credit_lines: tuple[tuple[str, Decimal, bool], ...]  # provider, limit, frozen
    method_labels: dict[int, str]
    default_method: int | None
    in_flight: Decimal = ZERO

    def overview(self) -> Overview:
        on, plans = self.on, self.plans
        credit = tuple(
            CreditLine(
                provider,
                limit,
                outstanding_principal(
                    [p.book for p in plans if same_provider(p.provider, provider)], on
                ),
                frozen,
            )
            for provider, limit, frozen in self.credit_lines
        )
        open_plans = [p for p in plans if p.open]
        autopay = tuple(self._autopay(p) for p in open_plans)
        # Every installment's position once, for the summary and the record alike.
        positions = [position(ledger, p.book.terms, on) for p in plans for ledger in p.book.ledgers]
        return Overview(
            summarize_open(open_of(positions), on),
            credit,
            record_of(positions),
            autopay,
            len(open_plans),
            self.in_flight,
        )

    def _autopay(self, plan: OverviewPlan) -> AutopayView:
        order = debit_order(
            plan.autopay_method_id, plan.autopay_fallback, self.method_labels, self.default_method
        )
        if not order or not plan.autopay:
            return AutopayView(plan.plan_id, plan.title, plan.autopay, None)
        first = order[0]
        via_default = first != plan.autopay_method_id
        return AutopayView(
            plan.plan_id, plan.title, plan.autopay, self.method_labels[first], via_default
        )


async def read_overview(uow: UnitOfWork, user_id: int, now: datetime) -> OverviewBooks:
    """Everything the overview shows, read (nothing computed yet)."""
    user = await get_user(uow, user_id)
    on = local_date(now, user.timezone)
    plans = tuple(
        OverviewPlan(
            p.row.id,
            p.row.title,
            p.row.provider,
            p.row.closed_at is None,
            p.row.autopay,
            p.row.autopay_method_id,
            p.row.autopay_fallback,
            p.book,
        )
        for p in await load_plans(uow.session, user_id)
    )
    lines = await uow.session.execute(
        select(CreditLineRow.provider, CreditLineRow.limit, CreditLineRow.frozen)
        .where(CreditLineRow.user_id == user_id)
        .order_by(CreditLineRow.provider)
    )
    methods = (
        await uow.session.execute(
            select(PaymentMethodRow.id, PaymentMethodRow.label, PaymentMethodRow.is_default).where(
                PaymentMethodRow.user_id == user_id, PaymentMethodRow.removed_at.is_(None)
            )
        )
    ).all()
    return OverviewBooks(
        on,
        plans,
        tuple((provider, limit, frozen) for provider, limit, frozen in lines.all()),
        {row.id: row.label for row in methods},
        next((row.id for row in methods if row.is_default), None),
        await in_flight(uow, user_id),
    )


async def in_flight(uow: UnitOfWork, user_id: int) -> Decimal:
    """What the user's payments still in flight at the provider add up to."""
    total = await uow.session.scalar(
        select(func.sum(PaymentRow.amount)).where(
            PaymentRow.user_id == user_id, PaymentRow.status.in_(IN_FLIGHT)
        )
    )
    return total if total is not None else ZERO


async def status_overview(uow: UnitOfWork, user_id: int, now: datetime) -> Overview:
    return (await read_overview(uow, user_id, now)).overview()
