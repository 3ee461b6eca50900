"""Screens for browsing: a plan's schedule page and a page of payment history."""

from __future__ import annotations

from bot.texts import day, esc, moment, money, t
from core.services.history import Page
from core.services.plans import InstallmentView, PlanView

SCHEDULE_PAGE = 6


def schedule_pages(plan: PlanView) -> int:
    return max(1, -(-len(plan.installments) // SCHEDULE_PAGE))


def plan_screen(lang: str, plan: PlanView, page: int) -> str:
    header = t(
        lang,
        "plans.header",
        title=esc(plan.title),
        provider=esc(plan.provider),
        principal=money(plan.principal),
        periods=plan.periods,
        method=t(lang, f"plans.method.{plan.method}"),
        apr=f"{plan.apr * 100:.2f}%",
        outstanding=money(plan.outstanding),
    )
    start = (page - 1) * SCHEDULE_PAGE
    rows = [_row(lang, plan, i) for i in plan.installments[start : start + SCHEDULE_PAGE]]
    footer = t(lang, "plans.page", page=page, pages=schedule_pages(plan))
    return "\n".join([header, "", *rows, "", footer])


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
        status=t(lang, f"installment.{item.status.value}", days=item.days_overdue),
    )


def history_screen(lang: str, page: Page, plan_title: str | None, timezone: str) -> str:
    for_plan = t(lang, "history.for_plan", title=esc(plan_title)) if plan_title else ""
    lines = [t(lang, "history.title", plan=for_plan, total=page.total)]
    if not page.items:
        lines.append(t(lang, "history.none"))
    for item in page.items:
        reason = t(lang, f"history.reason.{item.failure_reason}") if item.failure_reason else ""
        method = esc(item.method_label) if item.method_label else t(lang, "history.no_method")
        lines.append(
            t(
                lang,
                "history.row",
                when=moment(item.created_at, lang, timezone),
                amount=money(item.amount),
                method=method,
                kind=t(lang, f"history.kind.{item.kind}"),
                status=t(lang, f"history.status.{item.status}", reason=reason),
            )
        )
        for line in item.allocations:
            breakdown = t(
                lang,
                "repay.breakdown",
                penalty=money(line.parts.penalty),
                fee=money(line.parts.fee),
                interest=money(line.parts.interest),
                principal=money(line.parts.principal),
            )
            lines.append(
                t(
                    lang,
                    "history.allocation",
                    title=esc(line.plan_title),
                    period=line.period,
                    breakdown=breakdown,
                )
            )
    lines.append(t(lang, "plans.page", page=page.page, pages=page.pages))
    return "\n".join(lines)
