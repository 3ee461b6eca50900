"""The bank's rules without I/O: what a debit becomes, and when a notification is retried.

A debit is ``processing`` until it settles, then ``succeeded`` or ``failed`` with a
reason; a final debit never changes again. Whether it succeeds is decided once, at
settlement, against the account as it is then (a processing debit reserves nothing,
as with a real direct debit whose bank decides when it clears).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class AccountKind(StrEnum):
    BANK_CARD = "bank_card"
    WECHAT_PAY = "wechat_pay"
    ALIPAY = "alipay"


class DebitStatus(StrEnum):
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class FailureReason(StrEnum):
    INSUFFICIENT_BALANCE = "insufficient_balance"
    CARD_REMOVED = "card_removed"
    RISK_REFUSED = "risk_refused"
    PROVIDER_UNAVAILABLE = "provider_unavailable"


FINAL = frozenset({DebitStatus.SUCCEEDED, DebitStatus.FAILED})


@dataclass(frozen=True, slots=True)
class Settlement:
    """What settling a debit does: its final status, its reason, the balance after."""

    status: DebitStatus
    reason: FailureReason | None
    balance_after: Decimal


def settle(
    *, balance: Decimal, amount: Decimal, account_open: bool, decline: FailureReason | None
) -> Settlement:
    """The outcome of a debit of ``amount`` from an account holding ``balance``.

    An injected ``decline`` wins (the provider refused before looking at the money);
    then a closed account, then the balance. Only a success moves money.
    """
    if decline is not None:
        return Settlement(DebitStatus.FAILED, decline, balance)
    if not account_open:
        return Settlement(DebitStatus.FAILED, FailureReason.CARD_REMOVED, balance)
    if balance < amount:
        return Settlement(DebitStatus.FAILED, FailureReason.INSUFFICIENT_BALANCE, balance)
    return Settlement(DebitStatus.SUCCEEDED, None, balance - amount)


def can_transition(current: DebitStatus, new: DebitStatus) -> bool:
    """Only ``processing`` moves, and only to a final status."""
    return current is DebitStatus.PROCESSING and new in FINAL


def retry_delay(failed_attempts: int, *, base: float, cap: float) -> float:
    """Seconds before the next delivery of a notification that failed ``failed_attempts``
    times: ``base``, doubling with each failure, never more than ``cap``."""
    if failed_attempts < 1:
        raise ValueError("a retry follows at least one failed attempt")
    # Bounded exponent: 2**64 * base is past any cap, and keeps the float finite.
    return float(min(cap, base * 2 ** min(failed_attempts - 1, 64)))
