"""Plans: preview and add a plan (credit-line check), list them, show one schedule."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select

from core.db.models import CreditLineRow, InstallmentRow, PlanRow
from core.db.uow import UnitOfWork
from core.domain.apr import annualized_rate
from core.domain.credit import CreditLine, check_new_draw, outstanding_principal, same_provider
from core.domain.ledger import Parts
from core.domain.schedule import ScheduledInstallment, Totals, build_schedule, schedule_totals
from core.domain.status import InstallmentStatus, plan_positions
from core.domain.terms import (
    Method,
    PayoffPolicy,
    PlanKind,
    PlanTerms,
    TermsError,
    validate_new_terms,
)
from core.services.books import LoadedPlan, load_plans
from core.services.clock import local_date
from core.services.errors import InvalidInput, NoCreditLine, NotFound
from core.services.limits import check_first_due, check_periods, ensure_room_for_plan
from core.services.users import get_user, lock_user
from core.services.wakeups import wake


@dataclass(frozen=True, slots=True)
class PlanDraft:
    """A plan as a person or an import file describes it."""

    provider: str
    title: str
    principal: Decimal
    periods: int
    method: Method
    rate: Decimal
    first_due: date
    kind: PlanKind = PlanKind.PURCHASE
    external_id: str | None = None
    start_date: date | None = None
    autopay: bool = False
    payoff_policy: PayoffPolicy = PayoffPolicy.WAIVE_FUTURE_FEES
    early_repayment_fee_rate: Decimal = Decimal("0")
    payoff_forbidden_reason: str | None = None
    rate_known: bool = True  # False: entered from its installments alone (rate unknown)

    def terms(self) -> PlanTerms:
        return PlanTerms(
            principal=self.principal,
            periods=self.periods,
            method=self.method,
            rate=self.rate,
            first_due=self.first_due,
            start_date=self.start_date,
            payoff_policy=self.payoff_policy,
            early_repayment_fee_rate=self.early_repayment_fee_rate,
        )


@dataclass(frozen=True, slots=True)
class PlanPreview:
    schedule: tuple[ScheduledInstallment, ...]
    totals: Totals
    apr: Decimal


def preview_plan(terms: PlanTerms) -> PlanPreview:
    """Schedule, totals and annualized rate of new terms, or ``InvalidInput`` saying what
    is wrong (what /add, import and the ``schedule`` command all show)."""
    try:
        schedule = build_schedule(validate_new_terms(terms))
    except TermsError as exc:
        raise InvalidInput(exc.problem.value, exc.detail) from exc
    return PlanPreview(
        schedule, schedule_totals(schedule), annualized_rate(terms.principal, schedule)
    )


def _check_text(field_name: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value or len(value) > limit:
        raise InvalidInput(field_name, "length")
    return value


async def credit_line(uow: UnitOfWork, user_id: int, provider: str, on: date) -> CreditLine | None:
    """The user's line for ``provider`` (regardless of case), with what its plans use."""
    rows = await uow.session.scalars(select(CreditLineRow).where(CreditLineRow.user_id == user_id))
    row = next((r for r in rows if same_provider(r.provider, provider)), None)
    if row is None:
        return None
    plans = await load_plans(uow.session, user_id)
    books = [p.book for p in plans if same_provider(p.row.provider, row.provider)]
    return CreditLine(row.provider, row.limit, outstanding_principal(books, on), row.frozen)


def new_plan_row(user_id: int, draft: PlanDraft, terms: PlanTerms, now: datetime) -> PlanRow:
    return PlanRow(
        user_id=user_id,
        external_id=draft.external_id,
        provider=draft.provider,
        title=draft.title,
        kind=draft.kind.value,
        principal=terms.principal,
        periods=terms.periods,
        method=terms.method.value,
        rate=terms.rate,
        first_due=terms.first_due,
        repayment_day=terms.day,
        start_date=terms.disbursed_on,
        grace_days=terms.grace_days,
        tolerance=terms.tolerance,
        penalty_daily_rate=terms.penalty_daily_rate,
        penalty_cap_rate=terms.penalty_cap_rate,
        payoff_policy=terms.payoff_policy.value,
        early_repayment_fee_rate=terms.early_repayment_fee_rate,
        payoff_forbidden_reason=draft.payoff_forbidden_reason,
        rate_known=draft.rate_known,
        autopay=draft.autopay,
        created_at=now,
    )


async def insert_plan(uow: UnitOfWork, user_id: int, draft: PlanDraft, now: datetime) -> PlanRow:
    """Write a plan and its schedule without committing (shared by ``add_plan`` and import)."""
    terms = draft.terms()
    schedule = preview_plan(terms).schedule
    plan = new_plan_row(user_id, draft, terms, now)
    uow.session.add(plan)
    await uow.session.flush()
    uow.session.add_all(
        InstallmentRow(
            plan_id=plan.id,
            period=item.period,
            start_date=item.start_date,
            due_date=item.due_date,
            principal=item.principal,
            interest=item.interest,
            fee=item.fee,
        )
        for item in schedule
    )
    await uow.session.flush()
    await wake(uow, user_id)  # its reminders and auto-debits may come before the next look
    return plan


async def add_plan(uow: UnitOfWork, user_id: int, draft: PlanDraft, now: datetime) -> int:
    """Save a new plan after the limit and credit-line checks; returns its id.

    A user with the most open plans, or a plan of too many periods, is refused
    (``LimitReached``); a first due date outside ``first_due_range`` is
    ``InvalidInput("first_due", ...)``. A frozen or exhausted line refuses it
    (``CreditRefused``); a cash advance needs a line.
    """
    user = await lock_user(uow, user_id)
    await ensure_room_for_plan(uow, user_id)
    check_periods(draft.periods)
    draft = replace(
        draft,
        provider=_check_text("provider", draft.provider, 64),
        title=_check_text("title", draft.title, 128),
    )
    today = local_date(now, user.timezone)
    check_first_due(draft.first_due, today)
    line = await credit_line(uow, user_id, draft.provider, today)
    if line is None and draft.kind is PlanKind.CASH_ADVANCE:
        raise NoCreditLine(draft.provider)
    if line is not None:
        check_new_draw(line, draft.principal)
    plan = await insert_plan(uow, user_id, draft, now)
    await uow.commit()
    return plan.id


@dataclass(frozen=True, slots=True)
class InstallmentView:
    installment_id: int
    period: int
    due_date: date
    charged: Parts
    penalty: Decimal
    paid: Parts
    owed: Parts
    status: InstallmentStatus
    days_overdue: int


@dataclass(frozen=True, slots=True)
class PlanView:
    plan_id: int
    title: str
    provider: str
    kind: str
    method: str
    principal: Decimal
    periods: int
    rate: Decimal
    apr: Decimal | None  # None: not known (the plan was entered from its installments)
    autopay: bool
    autopay_method_id: int | None
    installments: tuple[InstallmentView, ...]
    autopay_fallback: bool = False  # the default method is tried when its own one fails
    payoff_allowed: bool = True  # the terms allow an early payoff

    @property
    def outstanding(self) -> Decimal:
        return sum((i.owed.total for i in self.installments), Decimal("0.00"))

    @property
    def paid_periods(self) -> int:
        done = (InstallmentStatus.PAID, InstallmentStatus.PAID_LATE)
        return sum(1 for i in self.installments if i.status in done)


def plan_view(loaded: LoadedPlan, on: date) -> PlanView:
    plan, book = loaded.row, loaded.book
    items = tuple(
        InstallmentView(
            pos.ledger.key,
            pos.ledger.installment.period,
            pos.ledger.installment.due_date,
            pos.ledger.charged,
            pos.penalty_accrued.penalty,
            pos.ledger.paid(on),
            pos.owed,
            pos.status,
            pos.days_overdue,
        )
        for pos in plan_positions(book.ledgers, book.terms, on)
    )
    original = build_schedule(book.terms)
    return PlanView(
        plan.id,
        plan.title,
        plan.provider,
        plan.kind,
        plan.method,
        plan.principal,
        plan.periods,
        plan.rate,
        annualized_rate(plan.principal, original) if plan.rate_known else None,
        plan.autopay,
        plan.autopay_method_id,
        items,
        autopay_fallback=plan.autopay_fallback,
        payoff_allowed=plan.payoff_policy != PayoffPolicy.FORBIDDEN.value,
    )


async def list_plans(uow: UnitOfWork, user_id: int, now: datetime) -> list[PlanView]:
    user = await get_user(uow, user_id)
    on = local_date(now, user.timezone)
    return [plan_view(p, on) for p in await load_plans(uow.session, user_id)]


async def get_plan(uow: UnitOfWork, user_id: int, plan_id: int, now: datetime) -> PlanView:
    """One of the user's plans; someone else's id is ``NotFound``."""
    user = await get_user(uow, user_id)
    loaded = await load_plans(uow.session, user_id, [plan_id])
    if not loaded:
        raise NotFound("plan")
    return plan_view(loaded[0], local_date(now, user.timezone))
