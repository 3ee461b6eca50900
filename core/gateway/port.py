"""What RepayBot needs from whatever moves money: debit, top up, read a balance."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol


class DebitFailure(StrEnum):
    INSUFFICIENT_BALANCE = "insufficient_balance"
    METHOD_REMOVED = "method_removed"
    GATEWAY_UNAVAILABLE = "gateway_unavailable"


@dataclass(frozen=True, slots=True)
class DebitResult:
    failure: DebitFailure | None
    balance_after: Decimal | None = None

    @property
    def ok(self) -> bool:
        return self.failure is None


class PaymentGateway(Protocol):
    """A debit must take part in the caller's unit of work: it is kept only if that commits."""

    async def debit(self, method_id: int, amount: Decimal, reference: str) -> DebitResult: ...

    async def top_up(self, method_id: int, amount: Decimal) -> Decimal: ...

    async def balance(self, method_id: int) -> Decimal: ...
