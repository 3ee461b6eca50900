"""The bot's link to its payment provider: the client, where notifications must go, and
how the provider has been answering (for /healthz).

Accounts are opened at the provider on first use, with the method's opening balance;
opening is idempotent there, so the link only remembers, per process, which it has
opened to save the call.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import TypeVar

from core.gateway.port import DebitState, OutcomeUnknown, PaymentProvider, ProviderRefused

# Our method kinds as the provider names them.
PROVIDER_KINDS = {"bank_card": "bank_card", "wechat": "wechat_pay", "alipay": "alipay"}
MAX_LABEL = 32  # the provider's longest account label
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Account:
    """A payment method as its account at the provider."""

    name: str
    kind: str
    label: str
    opening_balance: Decimal


# How long a submitter has to record the provider's answer before the sweep asks the
# provider itself: past the client's timeout, so the sweep rarely races a live submit (and
# when it does, the reference makes the race harmless).
DEFAULT_LEASE = timedelta(seconds=30)


@dataclass
class ProviderLink:
    provider: PaymentProvider
    callback_url: str | None = None
    lease: timedelta = DEFAULT_LEASE
    _opened: set[str] = field(default_factory=set)
    last_unreachable: float | None = None  # monotonic time of the last unanswered call
    last_answered: float | None = None

    def reachable(self) -> bool:
        """Whether the provider answered the last time it was called."""
        if self.last_unreachable is None:
            return True
        return self.last_answered is not None and self.last_answered > self.last_unreachable

    def _noted(self, ok: bool) -> None:
        if ok:
            self.last_answered = time.monotonic()
        else:
            self.last_unreachable = time.monotonic()

    async def ensure_account(self, account: Account) -> None:
        """Open the account unless this process has seen it open (an account that exists
        already, whatever its opening terms, is open)."""
        if account.name in self._opened:
            return
        kind = PROVIDER_KINDS.get(account.kind, "bank_card")
        try:
            await self._call_open(account, kind)
        except ProviderRefused as exc:
            if exc.reason != "account_exists":
                raise
        self._opened.add(account.name)

    async def _call_open(self, account: Account, kind: str) -> None:
        try:
            await self.provider.open_account(
                account.name, kind, account.label[:MAX_LABEL], account.opening_balance
            )
        except OutcomeUnknown:
            self._noted(False)
            raise
        self._noted(True)

    async def balance(self, account: Account) -> Decimal:
        await self.ensure_account(account)
        return await self._tracked(self.provider.balance(account.name))

    async def top_up(self, account: Account, amount: Decimal, reference: str) -> Decimal:
        await self.ensure_account(account)
        return await self._tracked(self.provider.top_up(account.name, amount, reference))

    async def close(self, account: Account) -> None:
        await self.ensure_account(account)
        await self._tracked(self.provider.close_account(account.name))

    async def submit(self, reference: str, account: Account, amount: Decimal) -> DebitState:
        await self.ensure_account(account)
        return await self._tracked(
            self.provider.submit_debit(reference, account.name, amount, self.callback_url)
        )

    async def query(self, reference: str) -> DebitState | None:
        return await self._tracked(self.provider.query_debit(reference))

    async def _tracked(self, call: Awaitable[T]) -> T:
        try:
            found = await call
        except OutcomeUnknown:
            self._noted(False)
            raise
        self._noted(True)
        return found
