"""The annualized rate (年化利率) of a plan: the IRR of its cash flows, fees included.

Chinese regulators require lenders to disclose this figure next to the headline
per-period rate; it is the monthly internal rate of return times 12.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext

from core.domain.schedule import ScheduledInstallment

RATE_QUANTUM = Decimal("0.0001")
_TOLERANCE = Decimal("1e-12")


def _present_value(payments: Sequence[Decimal], monthly: Decimal) -> Decimal:
    factor = 1 / (1 + monthly)
    discount = Decimal(1)
    total = Decimal(0)
    for amount in payments:
        discount *= factor
        total += amount * discount
    return total


def monthly_irr(principal: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """The monthly rate at which the payments' present value equals the principal.

    Bisection: the present value falls as the rate rises, so the root is unique.
    """
    if principal <= 0:
        raise ValueError("principal must be positive")
    if sum(payments, Decimal(0)) <= principal:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 34
        low, high = Decimal(0), Decimal(1)
        while _present_value(payments, high) > principal:
            high *= 2
        while high - low > _TOLERANCE:
            middle = (low + high) / 2
            if _present_value(payments, middle) > principal:
                low = middle
            else:
                high = middle
        return (low + high) / 2


def annualized_rate(principal: Decimal, installments: Sequence[ScheduledInstallment]) -> Decimal:
    """年化利率 of a schedule: monthly IRR × 12, rounded to 0.01 %."""
    monthly = monthly_irr(principal, [item.total for item in installments])
    return (monthly * 12).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
