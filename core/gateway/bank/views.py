"""Accounts and debits as the bank answers them: immutable values with their JSON."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from core.gateway.bank.tables import AccountRow, DebitRow
from core.gateway.bank.wire import amount_text


def _instant(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(frozen=True, slots=True)
class AccountState:
    account: str
    kind: str
    label: str
    balance: Decimal
    opened_at: datetime
    closed_at: datetime | None

    @classmethod
    def of(cls, row: AccountRow) -> AccountState:
        return cls(row.account, row.kind, row.label, row.balance, row.opened_at, row.closed_at)

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account,
            "kind": self.kind,
            "label": self.label,
            "balance": amount_text(self.balance),
            "status": "open" if self.closed_at is None else "closed",
            "opened_at": _instant(self.opened_at),
            "closed_at": _instant(self.closed_at),
        }


@dataclass(frozen=True, slots=True)
class DebitState:
    reference: str
    account: str
    amount: Decimal
    status: str
    failure_reason: str | None
    balance_after: Decimal | None
    created_at: datetime
    settled_at: datetime | None

    @classmethod
    def of(cls, row: DebitRow) -> DebitState:
        return cls(
            row.reference,
            row.account,
            row.amount,
            row.status,
            row.failure_reason,
            row.balance_after,
            row.created_at,
            row.settled_at,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "account": self.account,
            "amount": amount_text(self.amount),
            "status": self.status,
            "failure_reason": self.failure_reason,
            "balance_after": None
            if self.balance_after is None
            else amount_text(self.balance_after),
            "created_at": _instant(self.created_at),
            "settled_at": _instant(self.settled_at),
        }
