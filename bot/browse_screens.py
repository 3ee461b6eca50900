"""Screens for browsing: a plan's schedule page and a page of payment history.

Both fit one message whatever the data (``bot.fit``): an early payoff allocates to every
installment left, so a payment's allocation is shown per run of consecutive periods of a
plan, and each payment of a page gets an equal share of the budget."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.fit import BUDGET, fit, visible_length
from bot.texts import breakdown_text, day, esc, moment, money, t
from core.domain.ledger import Parts
from core.domain.status import InstallmentStatus
from core.services.history import AllocationView, Page, PaymentView
from core.services.plans import InstallmentView, PlanView

SCHEDULE_PAGE = 6


def schedule_pages(plan: PlanView) -> int:
    return max(1, -(-len(plan.installments) // SCHEDULE_PAGE))


def plan_screen(lang: str, plan: PlanView, page: int) -> str:
    values = {
        "title": esc(plan.title),
        "provider": esc(plan.provider),
        "principal": money(plan.principal),
        "periods": plan.periods,
        "outstanding": money(plan.outstanding),
    }
    if plan.apr is None:  # entered by its installments: no principal, no rate
        header = t(lang, "plans.header_installments", **values)
    else:
        method = t(lang, f"plans.method.{plan.method}")
        header = t(lang, "plans.header", method=method, apr=f"{plan.apr * 100:.2f}%", **values)
    start = (page - 1) * SCHEDULE_PAGE
    rows = [_row(lang, plan, i) for i in plan.installments[start : start + SCHEDULE_PAGE]]
    footer = t(lang, "plans.page", page=page, pages=schedule_pages(plan))
    return fit([header, ""], rows, ["", footer], more=lambda n: t(lang, "fit.more", count=n))


def _row(lang: str, plan: PlanView, item: InstallmentView) -> str:
    penalty = t(lang, "plans.penalty", amount=money(item.penalty)) if item.penalty else ""
    return t(
        lang,
        "plans.row",
        period=item.period,
        periods=plan.periods,
        date=day(item.due_date, lang),
        principal=money(item.charged.principal),
        interest=money(item.charged.interest),
        fee=money(item.charged.fee),
        penalty=penalty,
        paid=money(item.paid.total),
        status=_status(lang, item),
    )


def _status(lang: str, item: InstallmentView) -> str:
    """Its status; a period paid in part before it is due says what is left of it."""
    part_paid = item.paid.total > 0 and item.owed.total > 0
    if part_paid and item.status in (InstallmentStatus.UPCOMING, InstallmentStatus.DUE):
        return t(lang, "installment.part_paid", owed=money(item.owed.total))
    return t(lang, f"installment.{item.status.value}", days=item.days_overdue)


def history_screen(
    lang: str, page: Page, plan_title: str | None, timezone: str, plan_id: int | None = None
) -> str:
    """A page of payments; for one plan (``plan_id``), each with only its lines."""
    for_plan = t(lang, "history.for_plan", title=esc(plan_title)) if plan_title else ""
    head = [t(lang, "history.title", plan=for_plan, total=page.total)]
    if not page.items:
        head.append(t(lang, "history.none"))
    tail = [t(lang, "plans.page", page=page.page, pages=page.pages)]
    fixed = sum(visible_length(line) + 1 for line in (*head, *tail))
    share = (BUDGET - fixed) // max(len(page.items), 1) - 1
    blocks = [_payment(lang, item, timezone, share, plan_id) for item in page.items]
    return fit(head, blocks, tail, more=lambda n: t(lang, "fit.more", count=n))


def _payment(lang: str, item: PaymentView, timezone: str, budget: int, plan_id: int | None) -> str:
    """A payment's line and its allocation (to ``plan_id`` only, if given, with that
    plan's share when the payment paid others too), within ``budget``."""
    reason = t(lang, f"history.reason.{item.failure_reason}") if item.failure_reason else ""
    method = esc(item.method_label) if item.method_label else t(lang, "history.no_method")
    # A period paid before its import is dated the day it was paid, not the import's time.
    imported = item.kind == "imported"
    row = t(
        lang,
        "history.row",
        when=day(item.paid_on, lang) if imported else moment(item.created_at, lang, timezone),
        amount=money(item.amount),
        method=method,
        kind=t(lang, f"history.kind.{item.kind}"),
        status=t(lang, f"history.status.{item.status}", reason=reason),
    )
    allocations = item.allocations
    if plan_id is not None:
        allocations = tuple(a for a in allocations if a.plan_id == plan_id)
    lines = [_allocation(lang, run) for run in allocation_runs(allocations)]
    if len(allocations) < len(item.allocations):
        share = sum((a.parts.total for a in allocations), Decimal("0.00"))
        lines.insert(0, t(lang, "history.plan_share", amount=money(share)))
    return fit(
        [row], lines, more=lambda n: t(lang, "history.allocation_more", count=n), budget=budget
    )


def allocation_runs(lines: Sequence[AllocationView]) -> list[list[AllocationView]]:
    """Allocation lines grouped into runs of consecutive periods of one plan, in order."""
    runs: list[list[AllocationView]] = []
    for line in lines:
        last = runs[-1][-1] if runs else None
        if last is not None and last.plan_id == line.plan_id and line.period == last.period + 1:
            runs[-1].append(line)
        else:
            runs.append([line])
    return runs


def _allocation(lang: str, run: list[AllocationView]) -> str:
    parts = sum((line.parts for line in run), Parts())
    breakdown = breakdown_text(lang, parts)
    first, last = run[0], run[-1]
    if first is last:
        key, values = "history.allocation", {"period": first.period}
    else:
        key, values = "history.allocation_range", {"first": first.period, "last": last.period}
    return t(lang, key, title=esc(first.plan_title), breakdown=breakdown, **values)
