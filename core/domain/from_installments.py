"""A plan as a lender's app shows it mid-way: so much a period, so many periods left —
and, when known, the principal still owed or the total fee — turned into terms.

- With the principal: the rest of what the periods add up to is the fee, charged evenly
  (``fee_per_period`` at the rate that gives it; nothing left over: interest-free).
- With the total fee: the principal is what the periods add up to, less the fee.
- With neither: the periods are all that is known. The plan is kept as what it asks —
  ``interest_free`` over the periods' sum — and its annualized rate is unknown
  (``rate_known`` False), never shown as 0 %.

The fee rate is kept to ``RATE_PLACES`` decimals, so an installment may differ from the
typed amount by a fen through rounding; the preview shows the schedule before saving.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from core.domain.terms import RATE_PLACES, Method
from core.money import ZERO

_RATE_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)


class InstallmentsProblem(ValueError):
    """The figures do not make a plan: more principal or fee than the periods add up to."""


@dataclass(frozen=True, slots=True)
class InstallmentTerms:
    principal: Decimal
    method: Method
    rate: Decimal
    rate_known: bool


def terms_from_installments(
    amount: Decimal,
    periods: int,
    *,
    principal: Decimal | None = None,
    total_fee: Decimal | None = None,
) -> InstallmentTerms:
    """Terms for ``periods`` installments of ``amount`` (each > 0)."""
    if amount <= 0 or periods <= 0:
        raise InstallmentsProblem("an amount and a number of periods above zero")
    repaid = amount * periods
    if principal is None and total_fee is None:
        return InstallmentTerms(repaid, Method.INTEREST_FREE, ZERO, rate_known=False)
    if principal is None:
        assert total_fee is not None
        principal = repaid - total_fee
    fee = repaid - principal
    if principal <= 0 or fee < 0:
        raise InstallmentsProblem(
            "the principal and the fee must fit in what the periods add up to"
        )
    if fee == 0:
        return InstallmentTerms(principal, Method.INTEREST_FREE, ZERO, rate_known=True)
    rate = (fee / periods / principal).quantize(_RATE_QUANTUM, ROUND_HALF_UP)
    return InstallmentTerms(principal, Method.FEE_PER_PERIOD, rate, rate_known=True)
