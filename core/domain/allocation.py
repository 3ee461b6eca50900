"""Allocation of a payment over installments: oldest first, penalty → fee → interest → principal."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from core.domain.ledger import ALLOCATION_ORDER, Component, Parts
from core.money import CENT, ZERO


@dataclass(frozen=True, slots=True)
class Owed:
    """What one installment owes now; ``key`` identifies it to the caller."""

    key: int
    due_date: date
    owed: Parts


@dataclass(frozen=True, slots=True)
class AllocationLine:
    key: int
    parts: Parts


class OverpaymentError(ValueError):
    """The amount exceeds everything owed; refused before any debit."""

    def __init__(self, amount: Decimal, owed: Decimal) -> None:
        super().__init__(f"amount {amount} exceeds everything owed ({owed})")
        self.amount = amount
        self.owed = owed


def allocate_payment(amount: Decimal, owed: Sequence[Owed]) -> tuple[AllocationLine, ...]:
    """Split ``amount`` over ``owed``: oldest due date first, and within one
    installment penalty, then fee, then interest, then principal.

    Every fen of ``amount`` lands on exactly one component; an amount above
    the total owed raises ``OverpaymentError``.
    """
    if amount <= 0 or amount != amount.quantize(CENT):
        raise ValueError("a payment amount must be positive, in fen")
    total = sum((max(item.owed.get(c), ZERO) for item in owed for c in ALLOCATION_ORDER), ZERO)
    if amount > total:
        raise OverpaymentError(amount, total)
    remaining = amount
    lines: list[AllocationLine] = []
    for item in sorted(owed, key=lambda o: (o.due_date, o.key)):
        if remaining <= 0:
            break
        taken: dict[Component, Decimal] = {}
        for component in ALLOCATION_ORDER:
            share = min(remaining, max(item.owed.get(component), ZERO))
            taken[component] = share
            remaining -= share
        parts = Parts(**{component.value: value for component, value in taken.items()})
        if parts.total > 0:
            lines.append(AllocationLine(item.key, parts))
    return tuple(lines)
