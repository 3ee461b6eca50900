"""What each plan's auto-repay will debit, as the screens say it: on /autopay, and before
a payment method is removed (which plans it changes, and how)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.keyboards import method_label
from bot.texts import esc, t
from core.domain.autopay_cards import debit_order
from core.services.methods import MethodView
from core.services.plans import PlanView


def debited(plan: PlanView, methods: Sequence[MethodView]) -> list[MethodView]:
    """The methods the plan's auto-repay debits, in order (the sweep's rule)."""
    live = {m.method_id: m for m in methods}
    default = next((m.method_id for m in methods if m.is_default), None)
    order = debit_order(plan.autopay_method_id, plan.autopay_fallback, live, default)
    return [live[method_id] for method_id in order]


def paid_from(lang: str, plan: PlanView, methods: Sequence[MethodView]) -> str | None:
    """The method it will debit, named (the default one said as such); None: none."""
    order = debited(plan, methods)
    if not order:
        return None
    label = esc(method_label(lang, order[0]))
    if order[0].method_id != plan.autopay_method_id:
        return t(lang, "autopay.via_default", method=label)
    return label


def removal_effects(
    lang: str, removed: MethodView, plans: Sequence[PlanView], methods: Sequence[MethodView]
) -> list[str]:
    """A line per plan on auto-repay that would debit ``removed``: what it debits after."""
    left = [m for m in methods if m.method_id != removed.method_id]
    if removed.is_default and left:  # the next one becomes the default (remove_method)
        first = min(left, key=lambda m: m.method_id)
        left = [
            MethodView(m.method_id, m.kind, m.label, m.last4, m.balance, m is first) for m in left
        ]
    lines = []
    for plan in plans:
        if not plan.autopay or removed not in debited(plan, methods):
            continue
        after = paid_from(lang, plan, left)
        title = esc(plan.title)
        if after is None:
            lines.append(t(lang, "cards.remove_effect_stops", title=title))
        else:
            lines.append(t(lang, "cards.remove_effect_moves", title=title, method=after))
    return lines
