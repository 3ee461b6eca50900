"""What to pay off first: each open plan's true cost (its annualized rate, the IRR of its
dated cash flows), what paying it off today saves against paying the schedule out, and
an order — highest true cost first (avalanche), or smallest balance first (snowball).

A plan whose payoff saves nothing (its future fees are charged in full) or whose terms
forbid paying off early goes last whatever its rate: paying it off early buys nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.domain.ledger import PlanBook
from core.domain.quotes import payoff_amount, total_owed
from core.money import ZERO

# The line Chinese regulators draw for consumer credit (terms.HIGH_COST_APR) is shown
# next to each plan by the caller.


class Strategy(StrEnum):
    AVALANCHE = "avalanche"  # highest true cost first: saves the most
    SNOWBALL = "snowball"  # smallest balance first: a plan gone soonest


@dataclass(frozen=True, slots=True)
class PlanCost:
    """One plan as the advice sees it."""

    key: int
    apr: Decimal | None  # annualized rate, the IRR of its dated cash flows; None: unknown
    owed: Decimal  # everything still owed if paid as scheduled (penalties so far included)
    payoff: Decimal | None  # paying it off today; None: its terms forbid it
    last_due: date  # its last due date: when it is done if paid as scheduled

    @property
    def saving(self) -> Decimal:
        """What paying it off today saves against paying the schedule out (never < 0)."""
        if self.payoff is None:
            return ZERO
        return max(self.owed - self.payoff, ZERO)


def plan_cost(key: int, book: PlanBook, apr: Decimal | None, on: date) -> PlanCost | None:
    """The plan's cost on ``on``; None when nothing is owed."""
    owed = total_owed([book], on)
    if owed <= 0:
        return None
    last = max(ledger.installment.due_date for ledger in book.ledgers)
    return PlanCost(key, apr, owed, payoff_amount(book, on), last)


def rank(costs: Sequence[PlanCost], strategy: Strategy) -> list[PlanCost]:
    """The plans in the order to pay them off. Those whose payoff saves nothing last
    (smallest balance first among them, which frees a credit line soonest)."""
    worth = [c for c in costs if c.saving > 0]
    rest = sorted((c for c in costs if c.saving <= 0), key=lambda c: (c.owed, c.key))
    if strategy is Strategy.AVALANCHE:  # an unknown rate: after every known one
        worth.sort(key=lambda c: (c.apr is None, -(c.apr or 0), -c.saving, c.key))
    else:
        worth.sort(key=lambda c: (c.owed, c.key))
    return [*worth, *rest]


def debt_free_on(costs: Sequence[PlanCost]) -> date | None:
    """When everything is paid if every plan is paid as scheduled."""
    return max((c.last_due for c in costs), default=None)
