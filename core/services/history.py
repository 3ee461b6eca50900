"""Payment history (paginated, filterable by plan) and the export of schedules and payments."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import ColumnElement, func, or_, select

from core.db.models import AllocationLineRow, InstallmentRow, PaymentMethodRow, PaymentRow, PlanRow
from core.db.uow import UnitOfWork
from core.domain.ledger import Parts
from core.services.errors import InvalidInput, NotFound
from core.services.plans import list_plans
from core.services.users import get_user

MAX_PAGE_SIZE = 50
# A cell starting with one of these is run as a formula by spreadsheet programs (OWASP
# "CSV Injection"): a typed title like =HYPERLINK(...) must arrive as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, slots=True)
class AllocationView:
    plan_id: int
    plan_title: str
    period: int
    parts: Parts


@dataclass(frozen=True, slots=True)
class PaymentView:
    payment_id: int
    created_at: datetime
    paid_on: date
    amount: Decimal
    kind: str
    status: str
    failure_reason: str | None
    method_label: str | None
    allocations: tuple[AllocationView, ...]


@dataclass(frozen=True, slots=True)
class Page:
    items: tuple[PaymentView, ...]
    page: int
    pages: int
    total: int


def _touches_plan(plan_id: int) -> ColumnElement[bool]:
    on_plan = (
        select(AllocationLineRow.id)
        .join(InstallmentRow, InstallmentRow.id == AllocationLineRow.installment_id)
        .where(AllocationLineRow.payment_id == PaymentRow.id, InstallmentRow.plan_id == plan_id)
        .exists()
    )
    return or_(PaymentRow.plan_id == plan_id, on_plan)


async def list_payments(
    uow: UnitOfWork, user_id: int, *, page: int = 1, per_page: int = 5, plan_id: int | None = None
) -> Page:
    """Every payment attempt (or those that touch ``plan_id``), newest paid first; ``page``
    is 1-based and clamped to the last page."""
    if not 1 <= per_page <= MAX_PAGE_SIZE:
        raise InvalidInput("per_page", "range")
    await get_user(uow, user_id)
    where = [PaymentRow.user_id == user_id]
    if plan_id is not None:
        plan = await uow.session.get(PlanRow, plan_id)
        if plan is None or plan.user_id != user_id:
            raise NotFound("plan")
        where.append(_touches_plan(plan_id))
    total = await uow.session.scalar(select(func.count()).select_from(PaymentRow).where(*where))
    pages = max(1, -(-(total or 0) // per_page))
    page = min(max(page, 1), pages)
    rows = (
        await uow.session.execute(
            select(PaymentRow, PaymentMethodRow.label)
            .outerjoin(PaymentMethodRow, PaymentMethodRow.id == PaymentRow.method_id)
            .where(*where)
            # By the day paid, then the moment recorded: periods paid before an import
            # are recorded at the import, but dated the day they were paid.
            .order_by(PaymentRow.paid_on.desc(), PaymentRow.created_at.desc(), PaymentRow.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    ).all()
    allocations = await _allocations(uow, [row.id for row, _ in rows])
    items = tuple(
        PaymentView(
            p.id,
            p.created_at,
            p.paid_on,
            p.amount,
            p.kind,
            p.status,
            p.failure_reason,
            label,
            tuple(allocations[p.id]),
        )
        for p, label in rows
    )
    return Page(items, page, pages, total or 0)


async def _allocations(uow: UnitOfWork, payment_ids: list[int]) -> dict[int, list[AllocationView]]:
    found: dict[int, list[AllocationView]] = defaultdict(list)
    if not payment_ids:
        return found
    query = (
        select(AllocationLineRow, InstallmentRow.period, PlanRow.id, PlanRow.title)
        .join(InstallmentRow, InstallmentRow.id == AllocationLineRow.installment_id)
        .join(PlanRow, PlanRow.id == InstallmentRow.plan_id)
        .where(AllocationLineRow.payment_id.in_(payment_ids))
        .order_by(AllocationLineRow.id)
    )
    for line, period, plan_id, title in (await uow.session.execute(query)).all():
        parts = Parts(line.penalty, line.fee, line.interest, line.principal)
        found[line.payment_id].append(AllocationView(plan_id, title, period, parts))
    return found


SCHEDULE_COLUMNS = (
    "plan_id",
    "plan",
    "period",
    "due_date",
    "principal",
    "interest",
    "fee",
    "penalty",
    "paid",
    "owed",
    "status",
)
PAYMENT_COLUMNS = (
    "payment_id",
    "created_at",
    "paid_on",
    "amount",
    "kind",
    "status",
    "failure_reason",
    "method",
    "penalty",
    "fee",
    "interest",
    "principal",
)


@dataclass(frozen=True, slots=True)
class Export:
    schedule: list[tuple[str, ...]]
    payments: list[tuple[str, ...]]


async def export_rows(uow: UnitOfWork, user_id: int, now: datetime) -> Export:
    """Rows of every installment and every payment attempt, as text, for a CSV document."""
    schedule: list[tuple[str, ...]] = [
        (
            str(plan.plan_id),
            typed_text(plan.title),
            str(i.period),
            i.due_date.isoformat(),
            str(i.charged.principal),
            str(i.charged.interest),
            str(i.charged.fee),
            str(i.penalty),
            str(i.paid.total),
            str(i.owed.total),
            i.status.value,
        )
        for plan in await list_plans(uow, user_id, now)
        for i in plan.installments
    ]
    payments: list[tuple[str, ...]] = []
    page = await list_payments(uow, user_id, per_page=MAX_PAGE_SIZE)
    while True:
        payments.extend(_payment_row(item) for item in page.items)
        if page.page >= page.pages:
            break
        page = await list_payments(uow, user_id, page=page.page + 1, per_page=MAX_PAGE_SIZE)
    return Export(schedule, payments)


def _payment_row(item: PaymentView) -> tuple[str, ...]:
    parts = sum((a.parts for a in item.allocations), Parts())
    return (
        str(item.payment_id),
        item.created_at.isoformat(),
        item.paid_on.isoformat(),
        str(item.amount),
        item.kind,
        item.status,
        item.failure_reason or "",
        typed_text(item.method_label or ""),
        str(parts.penalty),
        str(parts.fee),
        str(parts.interest),
        str(parts.principal),
    )


def typed_text(value: str) -> str:
    """A cell of text the user typed, made inert for spreadsheets: a leading apostrophe
    before a formula character. Only typed text gets it: amounts are ours and a negative
    one must stay a number."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def to_csv(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()
