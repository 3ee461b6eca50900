"""What a confirm screen adds for two kinds of payment: an early payoff says what it saves
against paying the schedule out; a custom amount says which plans and periods it pays
(as many as fit, the rest counted)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from bot.fit import BUDGET, fit, visible_length
from bot.texts import esc, money, t
from core.domain.quotes import QuoteKind
from core.money import ZERO
from core.services.plans import PlanView
from core.services.quotes import QuoteView


def with_extras(lang: str, text: str, quote: QuoteView, plans: Sequence[PlanView]) -> str:
    kind = quote.request.kind
    if kind is QuoteKind.PAYOFF:
        plan = next((p for p in plans if p.plan_id == quote.request.plan_id), None)
        if plan is None:
            return text
        saving = max(plan.outstanding - quote.amount, ZERO)
        key = "repay.payoff_saves" if saving > 0 else "repay.payoff_saves_nothing"
        return text + "\n" + t(lang, key, saving=money(saving), owed=money(plan.outstanding))
    if kind is not QuoteKind.CUSTOM:
        return text
    runs = _runs(quote, plans)
    lines = [
        t(lang, "repay.pays_periods", title=esc(title), first=first, last=last, amount=money(a))
        if first != last
        else t(lang, "repay.pays_period", title=esc(title), period=first, amount=money(a))
        for title, first, last, a in runs
    ]
    budget = BUDGET - visible_length(text) - 1
    head = [t(lang, "repay.pays_head")]
    more = fit(head, lines, more=lambda n: t(lang, "fit.more", count=n), budget=budget)
    return text + "\n" + more


def _runs(quote: QuoteView, plans: Sequence[PlanView]) -> list[tuple[str, int, int, Decimal]]:
    """The quote's lines as runs of consecutive periods of one plan: title, first and
    last period, amount."""
    where = {
        i.installment_id: (p.title, p.plan_id, i.period) for p in plans for i in p.installments
    }
    runs: list[tuple[str, int, int, Decimal]] = []
    last_plan = None
    for line in quote.lines:
        title, plan_id, period = where.get(line.key, ("?", 0, 0))
        if runs and last_plan == plan_id and period == runs[-1][2] + 1:
            t0, first, _, amount = runs[-1]
            runs[-1] = (t0, first, period, amount + line.parts.total)
        else:
            runs.append((title, period, period, line.parts.total))
        last_plan = plan_id
    return runs
