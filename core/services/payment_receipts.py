"""The receipt of a confirmed payment, kept in the outbox as the confirm's fallback reply.

A confirm commits the payment, then its handler edits the confirmation into the receipt.
Should the process die between the two (or the edit fail), the user would never hear how
the payment went. So the receipt is queued in the payment's own transaction, like an
auto-repay receipt, but due only after a grace: the handler that showed the receipt
withholds it (:func:`receipt_shown`), and the sweep sends only what no reply showed. A
crash between the edit and the withholding is the one case where it goes out twice.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import update

from core.db.models import ReminderLogRow, User
from core.db.uow import UnitOfWork

RECEIPT = "receipt"  # the reminder_log kind every receipt shares; its offset: the payment id
# How long the confirm's own reply has to show the outcome before the sweep sends it: the
# send lease's default, the time any sender has between taking a message and recording it
# (the bot passes its SEND_LEASE_SECONDS).
RECEIPT_GRACE = timedelta(minutes=2)
_SOURCE = "confirm"  # marks the payload, beside auto-repay receipts in the same outbox
_PENDING, _SUPERSEDED = "pending", "superseded"


@dataclass(frozen=True, slots=True)
class PaymentReceipt:
    """What the confirm's reply said about a payment, as of its commit."""

    payment_id: int
    succeeded: bool
    amount: Decimal
    failure_reason: str | None
    method_kind: str
    method_label: str
    method_last4: str | None
    balance: Decimal | None  # the method's, after the payment
    outstanding: Decimal | None  # everything still owed, after the payment
    confirmed_at: datetime
    # The confirm's reply said "processing": this receipt is the first word of the outcome.
    after_processing: bool = False

    def to_payload(self) -> dict[str, Any]:
        values = asdict(self) | {"source": _SOURCE, "confirmed_at": self.confirmed_at.isoformat()}
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in values.items()}

    @staticmethod
    def is_payload(data: dict[str, Any]) -> bool:
        return data.get("source") == _SOURCE

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> PaymentReceipt:
        def amount(name: str) -> Decimal | None:
            value = data.get(name)
            return None if value is None else Decimal(value)

        return cls(
            payment_id=int(data["payment_id"]),
            succeeded=bool(data["succeeded"]),
            amount=Decimal(data["amount"]),
            failure_reason=data.get("failure_reason"),
            method_kind=str(data["method_kind"]),
            method_label=str(data["method_label"]),
            method_last4=data.get("method_last4"),
            balance=amount("balance"),
            outstanding=amount("outstanding"),
            confirmed_at=datetime.fromisoformat(data["confirmed_at"]),
            after_processing=bool(data.get("after_processing", False)),
        )


def queue_receipt(
    uow: UnitOfWork, user: User, installment_id: int, receipt: PaymentReceipt, grace: timedelta
) -> None:
    """Queue the receipt, due after ``grace``, in the payment's transaction (not committed).

    ``user`` is the payer's row, locked by the confirm; ``installment_id`` one the payment
    was for (the outbox's rows hang off an installment).
    """
    fire_at = receipt.confirmed_at + grace
    uow.session.add(
        ReminderLogRow(
            user_id=user.telegram_id,
            installment_id=installment_id,
            kind=RECEIPT,
            offset=receipt.payment_id,
            fire_at=fire_at,
            status=_PENDING,
            attempts=0,
            created_at=receipt.confirmed_at,
            payload=receipt.to_payload(),
        )
    )
    # The sweep looks at a user only when due (core/services/wakeups.py): be due by then.
    user.next_sweep_at = min(user.next_sweep_at, fire_at)


async def receipt_shown(uow: UnitOfWork, user_id: int, payment_id: int) -> bool:
    """The confirm's reply showed the payment's outcome: the sweep need not send it.
    Commits; False if there was nothing to withhold (already sent, or never queued)."""
    withheld = await uow.session.scalars(
        update(ReminderLogRow)
        .where(
            ReminderLogRow.user_id == user_id,
            ReminderLogRow.kind == RECEIPT,
            ReminderLogRow.offset == payment_id,
            ReminderLogRow.status == _PENDING,
        )
        .values(status=_SUPERSEDED, payload=None)  # nothing left to send: keep no copy
        .returning(ReminderLogRow.id)
    )
    found = bool(withheld.all())
    await uow.commit()
    return found
