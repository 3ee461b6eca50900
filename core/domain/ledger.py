"""An installment with the receipts paid against it, and the four components of money owed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum

from core.domain.schedule import ScheduledInstallment
from core.domain.terms import PlanTerms
from core.money import ZERO


class Component(StrEnum):
    PENALTY = "penalty"
    FEE = "fee"
    INTEREST = "interest"
    PRINCIPAL = "principal"


# Fineract's "penalties, fees, interest, principal order".
ALLOCATION_ORDER = (Component.PENALTY, Component.FEE, Component.INTEREST, Component.PRINCIPAL)


@dataclass(frozen=True, slots=True)
class Parts:
    """An amount split into the four components."""

    penalty: Decimal = ZERO
    fee: Decimal = ZERO
    interest: Decimal = ZERO
    principal: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.penalty + self.fee + self.interest + self.principal

    @property
    def base(self) -> Decimal:
        """Principal, interest and fee: what penalties accrue on."""
        return self.fee + self.interest + self.principal

    def get(self, component: Component) -> Decimal:
        value: Decimal = getattr(self, component.value)
        return value

    def __add__(self, other: Parts) -> Parts:
        return Parts(
            self.penalty + other.penalty,
            self.fee + other.fee,
            self.interest + other.interest,
            self.principal + other.principal,
        )

    def __sub__(self, other: Parts) -> Parts:
        return Parts(
            self.penalty - other.penalty,
            self.fee - other.fee,
            self.interest - other.interest,
            self.principal - other.principal,
        )


NOTHING = Parts()


def sum_parts(items: Iterable[Parts]) -> Parts:
    total = Parts()
    for item in items:
        total = total + item
    return total


@dataclass(frozen=True, slots=True)
class Receipt:
    """What one succeeded payment put on one installment, on a calendar date."""

    on: date
    parts: Parts


@dataclass(frozen=True, slots=True)
class InstallmentLedger:
    """An installment as charged now, and the receipts against it.

    ``key`` identifies the installment to the caller (a database id, or the period).
    """

    key: int
    installment: ScheduledInstallment
    receipts: tuple[Receipt, ...] = ()

    @property
    def charged(self) -> Parts:
        item = self.installment
        return Parts(ZERO, item.fee, item.interest, item.principal)

    def paid(self, on: date | None = None) -> Parts:
        """Receipts up to and including ``on`` (all of them when ``on`` is None)."""
        if not self.receipts:  # most installments: a sweep asks this of every one
            return NOTHING
        return sum_parts(r.parts for r in self.receipts if on is None or r.on <= on)

    def unpaid_base_before(self, day: date) -> Decimal:
        """Principal + interest + fee still unpaid at the start of ``day``."""
        if not self.receipts:
            return self.installment.total
        paid = sum(
            (r.parts.base for r in self.receipts if r.on < day),
            ZERO,
        )
        return self.installment.total - paid


@dataclass(frozen=True, slots=True)
class PlanBook:
    """A plan's terms and the ledgers of its installments, period 1 first."""

    key: int
    terms: PlanTerms
    ledgers: tuple[InstallmentLedger, ...] = field(default_factory=tuple)
