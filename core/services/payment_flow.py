"""Moving money through the provider: commit the intent, submit it, settle it once.

1. :func:`record_intent` writes the payment (``pending``, with a fresh reference that is
   the provider's idempotency key) and what it pays, in the caller's transaction; the
   caller commits it before anything is sent.
2. ``settlement.drive`` submits it and settles it from the answer. No answer (a timeout, a
   dropped connection, a 5xx) leaves it ``processing``; so does an answer of
   ``processing``. Its outcome then comes by the provider's signed notification
   (bot/provider_notifications.py) or the sweep's query (core/services/reconcile.py),
   whichever is first; settling is idempotent, so the others change nothing.

A crash anywhere leaves a committed intent the sweep finds: it asks the provider by
the reference, and submits it again under the same reference if the provider never
got it — so the provider debits each reference at most once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from core.db.models import PaymentMethodRow, PaymentRow
from core.db.uow import UnitOfWork
from core.domain.quotes import Quote
from core.gateway.link import DEFAULT_LEASE, Account
from core.gateway.port import (
    CARD_REMOVED,
    PROVIDER_UNAVAILABLE,
    DebitState,
    DebitStatus,
    OutcomeUnknown,
    ProviderRefused,
)
from core.services.payments import PENDING, PaymentKind, reserve

log = logging.getLogger(__name__)

PAYMENT_LEASE = DEFAULT_LEASE  # unless the link says otherwise (PAYMENT_LEASE_SECONDS)


def new_reference() -> str:
    """A reference no other payment has, in this database or any earlier one the
    provider saw (a reused reference would answer that old debit)."""
    return f"rb-{secrets.token_hex(12)}"


def account_of(method: PaymentMethodRow) -> Account:
    assert method.provider_account is not None
    return Account(method.provider_account, method.kind, method.label, method.balance)


async def record_intent(
    uow: UnitOfWork,
    *,
    user_id: int,
    method_id: int,
    priced: Quote,
    kind: PaymentKind,
    key: str,
    paid_on: date,
    now: datetime,
    plan_id: int | None = None,
    quote_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> PaymentRow:
    """Write the payment's intent and reserve what it pays. Does not commit."""
    payment = PaymentRow(
        user_id=user_id,
        idempotency_key=key,
        quote_id=quote_id,
        method_id=method_id,
        plan_id=plan_id,
        kind=kind.value,
        amount=priced.total,
        status=PENDING,
        paid_on=paid_on,
        created_at=now,
        reference=new_reference(),
        next_check_at=now + uow.provider.lease,
        checks=0,
        details=details,
    )
    uow.session.add(payment)
    await uow.session.flush()
    await reserve(uow, payment, priced)
    return payment


@dataclass(frozen=True, slots=True)
class Submission:
    """What submitting needs, read from a committed intent."""

    payment_id: int
    reference: str
    account: Account
    amount: Decimal


async def submission(uow: UnitOfWork, payment_id: int) -> Submission | None:
    """The committed intent ``payment_id`` as the provider is to get it (None: gone)."""
    payment = await uow.session.get(PaymentRow, payment_id, populate_existing=True)
    if payment is None or payment.reference is None or payment.method_id is None:
        return None
    method = await uow.session.get(PaymentMethodRow, payment.method_id)
    if method is None:
        return None
    return Submission(payment.id, payment.reference, account_of(method), payment.amount)


async def submit(uow: UnitOfWork, sent: Submission) -> DebitState | None:
    """Send the debit; its state, or None when no answer came (the outcome is unknown).
    A refusal (the provider recorded nothing) is a failed debit."""
    try:
        return await uow.provider.submit(sent.reference, sent.account, sent.amount)
    except OutcomeUnknown as exc:
        log.warning("payment %s: no answer from the provider (%s)", sent.payment_id, exc)
        return None
    except ProviderRefused as exc:
        log.error("payment %s: the provider refused the debit: %s", sent.payment_id, exc)
        # A refusal recorded nothing: the debit failed (a closed account: the card is gone).
        reason = CARD_REMOVED if exc.reason == "account_closed" else PROVIDER_UNAVAILABLE
        return DebitState(
            sent.reference, sent.account.name, sent.amount, DebitStatus.FAILED, reason, None
        )
