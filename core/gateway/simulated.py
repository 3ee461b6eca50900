"""A simulated gateway: each payment method is an account with a balance in our database.

The balance lives in the same transaction as the payment record, so a crash between
the debit and the record rolls both back: no money moves without its record.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db.models import PaymentMethodRow
from core.gateway.port import DebitFailure, DebitResult


class SimulatedCrash(RuntimeError):
    """Raised on purpose to test that an interrupted payment leaves nothing behind."""


@dataclass
class GatewayFaults:
    """Faults a test or the sandbox injects into the simulated gateway."""

    unavailable: bool = False
    crash_after_debit: bool = False


class SimulatedGateway:
    def __init__(self, session: AsyncSession, faults: GatewayFaults | None = None) -> None:
        self._session = session
        self._faults = faults or GatewayFaults()

    async def _method(self, method_id: int) -> PaymentMethodRow | None:
        query = (
            select(PaymentMethodRow)
            .where(PaymentMethodRow.id == method_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self._session.execute(query)).scalar_one_or_none()

    async def debit(self, method_id: int, amount: Decimal, reference: str) -> DebitResult:
        if self._faults.unavailable:
            return DebitResult(DebitFailure.GATEWAY_UNAVAILABLE)
        method = await self._method(method_id)
        if method is None or method.removed_at is not None:
            return DebitResult(DebitFailure.METHOD_REMOVED)
        if method.balance < amount:
            return DebitResult(DebitFailure.INSUFFICIENT_BALANCE, method.balance)
        method.balance -= amount
        await self._session.flush()
        if self._faults.crash_after_debit:
            raise SimulatedCrash(f"crash after debiting {reference}")
        return DebitResult(None, method.balance)

    async def top_up(self, method_id: int, amount: Decimal) -> Decimal:
        method = await self._method(method_id)
        if method is None or method.removed_at is not None:
            raise LookupError("no such payment method")
        method.balance += amount
        await self._session.flush()
        return method.balance

    async def balance(self, method_id: int) -> Decimal:
        method = await self._method(method_id)
        if method is None:
            raise LookupError("no such payment method")
        return method.balance
