"""The bot's client of a payment provider's HTTP API (``docs/provider-api.md``; the
sandbox one is ``repaybot bank``): open and read accounts, submit a debit under our
reference, query it by that reference.

Nothing here takes part in our database transaction: the caller records its intent
(with the reference) before calling, and treats every answer it did not get — a
timeout, a dropped connection, a 5xx — as :class:`OutcomeUnknown`: the debit may or
may not have happened; retry with the same reference or query it, never assume. A
debit answered ``processing`` is not yet known either; its outcome comes by a signed
notification or a later query.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import aiohttp

from core.gateway.port import (
    DebitState,
    DebitStatus,
    OutcomeUnknown,
    ProviderRefused,
)

DEFAULT_TIMEOUT = 10.0  # seconds for one call, connecting included


class ProviderClient:
    """One provider at ``base_url``; use as an async context manager (one HTTP session)."""

    def __init__(self, base_url: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self._base = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ProviderClient:
        self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def open_account(self, account: str, kind: str, label: str, balance: Decimal) -> Decimal:
        """Open ``account`` with its opening balance (opening it again with the same terms
        is harmless); its balance as the provider holds it."""
        body = {"account": account, "kind": kind, "label": label, "balance": _money(balance)}
        found = await self._call("POST", "/accounts", body)
        return Decimal(found["balance"])

    async def balance(self, account: str) -> Decimal:
        found = await self._call("GET", f"/accounts/{account}")
        return Decimal(found["balance"])

    async def top_up(self, account: str, amount: Decimal, reference: str) -> Decimal:
        """Add to the balance; a retry with the same ``reference`` counts once."""
        body = {"amount": _money(amount), "reference": reference}
        found = await self._call("POST", f"/accounts/{account}/top-ups", body)
        return Decimal(found["balance"])

    async def close_account(self, account: str) -> None:
        """The method is removed: every later debit of it fails."""
        await self._call("POST", f"/accounts/{account}/close", {})

    async def submit_debit(
        self, reference: str, account: str, amount: Decimal, callback_url: str | None = None
    ) -> DebitState:
        """Debit ``amount`` under our ``reference`` (the idempotency key: submitting it
        again debits nothing more and answers the debit as it stands)."""
        body: dict[str, Any] = {"reference": reference, "account": account}
        body["amount"] = _money(amount)
        if callback_url is not None:
            body["callback_url"] = callback_url
        return debit_state(await self._call("POST", "/debits", body))

    async def query_debit(self, reference: str) -> DebitState | None:
        """The debit under ``reference``; None when the provider never recorded one (it
        was never received, or refused before it was recorded)."""
        try:
            return debit_state(await self._call("GET", f"/debits/{reference}"))
        except ProviderRefused as exc:
            if exc.status == 404 and exc.reason == "debit_not_found":
                return None
            raise

    async def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self._session is not None, "use ProviderClient as an async context manager"
        data = None if body is None else json.dumps(body)
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            async with self._session.request(
                method, self._base + path, data=data, headers=headers
            ) as answer:
                text = await answer.text()
                status = answer.status
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise OutcomeUnknown(f"{method} {path}: {type(exc).__name__}") from exc
        if status >= 500:
            raise OutcomeUnknown(f"{method} {path}: {status}")
        try:
            found = json.loads(text)
        except ValueError as exc:
            raise OutcomeUnknown(f"{method} {path}: an answer that is not JSON") from exc
        if status >= 400:
            reason = found.get("error", "") if isinstance(found, dict) else ""
            raise ProviderRefused(status, str(reason))
        return found


def _money(amount: Decimal) -> str:
    """Money on the wire: a string with two decimals, never a JSON number."""
    return f"{amount.quantize(Decimal('0.01')):f}"


def debit_state(found: dict[str, Any]) -> DebitState:
    """A debit as the provider's JSON writes it (answers and notifications)."""
    balance = found.get("balance_after")
    return DebitState(
        reference=str(found["reference"]),
        account=str(found["account"]),
        amount=Decimal(found["amount"]),
        status=DebitStatus(found["status"]),
        failure_reason=found.get("failure_reason"),
        balance_after=None if balance is None else Decimal(balance),
    )
