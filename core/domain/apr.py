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


def _value_and_slope(payments: Sequence[Decimal], monthly: Decimal) -> tuple[Decimal, Decimal]:
    """Present value of the payments at ``monthly`` and its derivative in the rate."""
    factor = 1 / (1 + monthly)
    discount = Decimal(1)
    value = slope = Decimal(0)
    for period, amount in enumerate(payments, start=1):
        discount *= factor
        value += amount * discount
        slope -= period * amount * discount * factor
    return value, slope


def monthly_irr(principal: Decimal, payments: Sequence[Decimal]) -> Decimal:
    """The monthly rate at which the payments' present value equals the principal.

    The present value is convex and falls as the rate rises, so Newton's method
    started at 0 (left of the root) climbs to the unique root without overshooting.
    """
    if principal <= 0:
        raise ValueError("principal must be positive")
    if sum(payments, Decimal(0)) <= principal:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 34
        rate = Decimal(0)
        for _ in range(100):
            value, slope = _value_and_slope(payments, rate)
            step = (value - principal) / slope
            rate -= step
            if abs(step) < _TOLERANCE:
                break
        return rate


def annualized_rate(principal: Decimal, installments: Sequence[ScheduledInstallment]) -> Decimal:
    """年化利率 of a schedule: monthly IRR × 12, rounded to 0.01 %."""
    monthly = monthly_irr(principal, [item.total for item in installments])
    return (monthly * 12).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
