"""The annualized rate (年化利率) of a plan: the IRR of its dated cash flows, fees included.

Chinese regulators require lenders to disclose this figure next to the headline
per-period rate; it is the monthly internal rate of return times 12. The cash flows
are placed at their real dates, counted in months of the repayment calendar
(``months_between``): the disbursement at 0, the first payment at the length of the
first period (1 when regular, in proportion to its days otherwise), each later one a
month after the one before.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal, localcontext

from core.domain.dates import months_between
from core.domain.schedule import ScheduledInstallment

RATE_QUANTUM = Decimal("0.0001")
_TOLERANCE = Decimal("1e-12")


def _value_and_slope(
    payments: Sequence[Decimal], monthly: Decimal, first: Decimal
) -> tuple[Decimal, Decimal]:
    """Present value of the payments at ``monthly`` and its derivative in the rate; the
    k-th payment (1-based) falls ``first + k - 1`` months after the disbursement."""
    factor = 1 / (1 + monthly)
    discount = factor**first
    value = slope = Decimal(0)
    for period, amount in enumerate(payments):
        when = first + period
        value += amount * discount
        slope -= when * amount * discount * factor
        discount *= factor
    return value, slope


def monthly_irr(
    principal: Decimal, payments: Sequence[Decimal], first: Decimal = Decimal(1)
) -> Decimal:
    """The monthly rate at which the payments' present value equals the principal, the
    first payment ``first`` months after the disbursement and each later one a month on.

    The present value is convex and falls as the rate rises, so Newton's method
    started at 0 (left of the root) climbs to the unique root without overshooting.
    """
    if principal <= 0:
        raise ValueError("principal must be positive")
    if first <= 0:
        raise ValueError("the first payment must come after the disbursement")
    if sum(payments, Decimal(0)) <= principal:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 34
        rate = Decimal(0)
        for _ in range(100):
            value, slope = _value_and_slope(payments, rate, first)
            step = (value - principal) / slope
            rate -= step
            if abs(step) < _TOLERANCE:
                break
        return rate


def annualized_rate(principal: Decimal, installments: Sequence[ScheduledInstallment]) -> Decimal:
    """年化利率 of a schedule: monthly IRR of its dated cash flows × 12, rounded to 0.01 %.

    The disbursement is on period 1's ``start_date``."""
    first = installments[0]
    months = months_between(first.start_date, first.due_date)
    monthly = monthly_irr(principal, [item.total for item in installments], months)
    return (monthly * 12).quantize(RATE_QUANTUM, rounding=ROUND_HALF_UP)
