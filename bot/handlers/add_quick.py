"""The answers a plan given on one line or read from a repayment notice fills in, as the
steps of /add store them (core/domain/quick_plan.py, notices.py, from_installments.py)."""

from __future__ import annotations

from decimal import Decimal

from core.domain.from_installments import InstallmentsProblem, terms_from_installments
from core.domain.quick_plan import QuickPlan
from core.limits import MAX_PROVIDER_CHARS, MAX_TITLE_CHARS


def quick_fields(quick: QuickPlan) -> dict[str, str]:
    """The answers a one-line plan gives, as the steps store them (the lender's name is
    its title too, until changed)."""
    fields: dict[str, str] = {}
    if quick.provider is not None:
        fields["provider"] = quick.provider[:MAX_PROVIDER_CHARS]
        fields["title"] = quick.provider[:MAX_TITLE_CHARS]
        fields["kind"] = quick.kind.value
    if quick.principal is not None:
        fields["principal"] = str(quick.principal)
    if quick.periods is not None:
        fields["periods"] = str(quick.periods)
    if quick.method is not None and quick.rate is not None:
        fields["method"] = quick.method.value
        fields["rate"] = str(quick.rate)
    if quick.per_period is not None and quick.periods is not None:
        fields |= _from_installments(quick.per_period, quick.periods, quick)
    if quick.first_due is not None:
        fields["first_due"] = quick.first_due.isoformat()
    return fields


def _from_installments(amount: Decimal, periods: int, quick: QuickPlan) -> dict[str, str]:
    """So much a period for so many periods: the terms they make (rate unknown without a
    principal or a total fee); nothing when the figures do not fit together."""
    try:
        found = terms_from_installments(
            amount, periods, principal=quick.stated_principal, total_fee=quick.total_fee
        )
    except InstallmentsProblem:
        return {}
    fields = {
        "principal": str(found.principal),
        "method": found.method.value,
        "rate": str(found.rate),
        "per_period": str(amount),
    }
    if not found.rate_known:
        fields["rate_known"] = "no"
    return fields
