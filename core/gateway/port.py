"""What RepayBot needs from a payment provider, and what it answers.

A provider is outside our database: nothing it does takes part in our transaction. The
bot records a payment's intent (with its reference) before calling, and settles the
payment once from whichever comes first of the answer, a signed notification or a
query (core/services/payment_flow.py). ``docs/provider-api.md`` is the contract; the
sandbox provider is ``repaybot bank`` and the HTTP client ``provider_client.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Protocol

# Why a debit failed, as the provider says it (docs/provider-api.md "Debits").
INSUFFICIENT_BALANCE = "insufficient_balance"
CARD_REMOVED = "card_removed"
RISK_REFUSED = "risk_refused"
PROVIDER_UNAVAILABLE = "provider_unavailable"
FAILURE_REASONS = (INSUFFICIENT_BALANCE, CARD_REMOVED, RISK_REFUSED, PROVIDER_UNAVAILABLE)


class DebitStatus(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class DebitState:
    """A debit as the provider holds it."""

    reference: str
    account: str
    amount: Decimal
    status: DebitStatus
    failure_reason: str | None
    balance_after: Decimal | None

    @property
    def settled(self) -> bool:
        return self.status is not DebitStatus.PROCESSING


class OutcomeUnknown(Exception):
    """No answer was received (timeout, connection lost, a 5xx): what the provider did
    is not known. Retry with the same reference, or query it."""


class ProviderRefused(Exception):
    """The provider refused the request itself (4xx): nothing was done. ``reason`` is
    its error, e.g. ``reference_conflict``, ``account_not_found``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


class PaymentProvider(Protocol):
    """Accounts (one per payment method) and debits under our reference."""

    async def open_account(
        self, account: str, kind: str, label: str, balance: Decimal
    ) -> Decimal: ...

    async def balance(self, account: str) -> Decimal: ...

    async def top_up(self, account: str, amount: Decimal, reference: str) -> Decimal: ...

    async def close_account(self, account: str) -> None: ...

    async def submit_debit(
        self, reference: str, account: str, amount: Decimal, callback_url: str | None = None
    ) -> DebitState: ...

    async def query_debit(self, reference: str) -> DebitState | None: ...
