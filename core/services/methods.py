"""Payment methods (bank card, WeChat Pay, Alipay): add, remove, default, top up, auto-repay.

Each method is an account at the payment provider (opened there on first use with the
method's opening balance); its balance is the provider's, and the row keeps the last one
the provider told (``refresh_balances`` asks again). Nothing asked of the provider runs
inside a transaction.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select, update

from core.db.models import PaymentMethodRow, PlanRow
from core.db.uow import NoProvider, UnitOfWork
from core.gateway.port import OutcomeUnknown, ProviderRefused
from core.money import ZERO, AmountError, validate_amount
from core.services.errors import InvalidInput, MethodRemoved, NotFound, ProviderUnreachable
from core.services.limits import ensure_room_for_method
from core.services.payment_flow import account_of
from core.services.quotes import usable_method
from core.services.users import lock_user
from core.services.wakeups import wake

log = logging.getLogger(__name__)


class MethodKind(StrEnum):
    BANK_CARD = "bank_card"
    WECHAT = "wechat"
    ALIPAY = "alipay"


@dataclass(frozen=True, slots=True)
class MethodView:
    method_id: int
    kind: MethodKind
    label: str
    last4: str | None
    balance: Decimal
    is_default: bool


def _view(row: PaymentMethodRow) -> MethodView:
    return MethodView(
        row.id, MethodKind(row.kind), row.label, row.last4, row.balance, row.is_default
    )


async def list_methods(uow: UnitOfWork, user_id: int) -> list[MethodView]:
    """The user's methods that are not removed, default first."""
    rows = await uow.session.scalars(
        select(PaymentMethodRow)
        .where(PaymentMethodRow.user_id == user_id, PaymentMethodRow.removed_at.is_(None))
        .order_by(PaymentMethodRow.is_default.desc(), PaymentMethodRow.id)
    )
    return [_view(row) for row in rows]


_FOUR_DIGITS = re.compile(r"[0-9]{4}")  # ASCII only: ``\d`` also takes other scripts' digits


def normalize_label(label: str) -> str:
    """A label as stored: compatibility-normalized (full-width letters and digits as
    their ASCII forms, as a phone keyboard may type them) and stripped."""
    return unicodedata.normalize("NFKC", label).strip()


def normalize_last4(last4: str | None) -> str | None:
    """Last four digits as stored: "１２３４" typed full-width is 1234."""
    return None if last4 is None else unicodedata.normalize("NFKC", last4).strip()


def same_method(kind: str, label: str, last4: str | None, row: PaymentMethodRow) -> bool:
    """Whether a live method is the one described (labels compared regardless of case)."""
    return (
        row.kind == kind
        and row.label.casefold() == label.casefold()
        and (row.last4 or None) == (last4 or None)
    )


def new_method_row(
    user_id: int,
    kind: MethodKind,
    label: str,
    last4: str | None,
    now: datetime,
    balance: Decimal = ZERO,
) -> PaymentMethodRow:
    """A validated, not yet saved method (shared by ``add_method`` and import)."""
    label = normalize_label(label)
    if not label or len(label) > 64:
        raise InvalidInput("label", "length")
    last4 = normalize_last4(last4)
    if kind is MethodKind.BANK_CARD and (last4 is None or not _FOUR_DIGITS.fullmatch(last4)):
        raise InvalidInput("last4", "four_digits")
    if kind is not MethodKind.BANK_CARD and last4 is not None and not _FOUR_DIGITS.fullmatch(last4):
        raise InvalidInput("last4", "four_digits")
    if balance < 0:
        raise InvalidInput("balance", "negative")
    return PaymentMethodRow(
        user_id=user_id,
        kind=kind.value,
        label=label,
        last4=last4,
        balance=balance,
        provider_account=f"m-{secrets.token_hex(12)}",
        is_default=False,
        created_at=now,
    )


async def add_method(
    uow: UnitOfWork,
    user_id: int,
    kind: MethodKind,
    label: str,
    last4: str | None,
    now: datetime,
    *,
    make_default: bool = False,
) -> MethodView:
    """Bind a method; the first one becomes the default. ``LimitReached`` when the user
    already has the most methods; ``InvalidInput`` when the same one is bound already."""
    await lock_user(uow, user_id)
    await ensure_room_for_method(uow, user_id)
    row = new_method_row(user_id, kind, label, last4, now)
    live = await uow.session.scalars(
        select(PaymentMethodRow).where(
            PaymentMethodRow.user_id == user_id, PaymentMethodRow.removed_at.is_(None)
        )
    )
    if any(same_method(row.kind, row.label, row.last4, other) for other in live):
        raise InvalidInput("method", "duplicate")
    if make_default or not await list_methods(uow, user_id):
        await _clear_default(uow, user_id)
        row.is_default = True
    uow.session.add(row)
    await uow.commit()
    account = account_of(row)
    try:  # its account at the provider; else it is opened when first used
        await uow.provider.ensure_account(account)
    except NoProvider:  # not running with one (a command, a test): on first use
        pass
    except (OutcomeUnknown, ProviderRefused):
        log.warning("method %s added; its account at the provider not opened yet", row.id)
    return _view(row)


async def _own(uow: UnitOfWork, user_id: int, method_id: int) -> PaymentMethodRow:
    try:
        return await usable_method(uow, user_id, method_id)
    except MethodRemoved as exc:
        raise NotFound("payment_method") from exc


async def _clear_default(uow: UnitOfWork, user_id: int) -> None:
    await uow.session.execute(
        update(PaymentMethodRow)
        .where(PaymentMethodRow.user_id == user_id)
        .values(is_default=False)
        .execution_options(synchronize_session="fetch")
    )


async def set_default(uow: UnitOfWork, user_id: int, method_id: int) -> MethodView:
    row = await _own(uow, user_id, method_id)
    await _clear_default(uow, user_id)
    row.is_default = True
    await uow.commit()
    return _view(row)


async def remove_method(uow: UnitOfWork, user_id: int, method_id: int, now: datetime) -> None:
    """Unbind a method: it is never debited again, and auto-repay stops pointing at it.

    The row stays (removed) so payment history keeps its label.
    """
    row = await _own(uow, user_id, method_id)
    row.removed_at, was_default, row.is_default = now, row.is_default, False
    await uow.session.execute(
        update(PlanRow)
        .where(PlanRow.autopay_method_id == method_id)
        .values(autopay_method_id=None)
        .execution_options(synchronize_session="fetch")
    )
    await uow.session.flush()
    account = account_of(row)
    if was_default:
        remaining = await list_methods(uow, user_id)
        if remaining:
            await set_default(uow, user_id, remaining[0].method_id)
    await uow.commit()
    try:  # never debited again by us; closing it at the provider makes sure of it
        await uow.provider.close(account)
    except (OutcomeUnknown, ProviderRefused):
        log.warning("method %s removed; its account at the provider not closed", method_id)


async def top_up(
    uow: UnitOfWork, user_id: int, method_id: int, amount: Decimal, limit: Decimal
) -> MethodView:
    """Add money to the method's account at the provider; one top-up is at most ``limit``.
    ``ProviderUnreachable`` if the provider does not answer (asked twice, under one
    reference: it counts once however many times it arrived)."""
    try:
        validate_amount(amount)
    except AmountError as exc:
        raise InvalidInput("amount", exc.problem.value) from exc
    if amount > limit:
        raise InvalidInput("amount", "too_large")
    account = account_of(await _own(uow, user_id, method_id))
    await uow.rollback()
    reference = f"top-{secrets.token_hex(12)}"
    for attempt in range(2):
        try:
            balance = await uow.provider.top_up(account, amount, reference)
            break
        except OutcomeUnknown as exc:
            if attempt:
                raise ProviderUnreachable() from exc
        except ProviderRefused as exc:
            if exc.reason == "account_closed":
                raise MethodRemoved() from exc
            raise
    row = await _own(uow, user_id, method_id)
    row.balance = balance
    await uow.commit()
    return _view(row)


async def refresh_balances(uow: UnitOfWork, user_id: int) -> bool:
    """Ask the provider for the balance of each of the user's methods and keep it; False
    when it did not answer for some (they keep the last balance it told)."""
    accounts = {
        m.method_id: account_of(await _own(uow, user_id, m.method_id))
        for m in await list_methods(uow, user_id)
    }
    await uow.rollback()
    found: dict[int, Decimal] = {}
    for method_id, account in accounts.items():
        try:
            found[method_id] = await uow.provider.balance(account)
        except (OutcomeUnknown, ProviderRefused):
            log.warning("balance of method %s not read from the provider", method_id)
    for method_id, balance in found.items():
        (await _own(uow, user_id, method_id)).balance = balance
    await uow.commit()
    return len(found) == len(accounts)


async def set_autopay(
    uow: UnitOfWork,
    user_id: int,
    plan_id: int,
    enabled: bool,
    method_id: int | None = None,
    *,
    fallback_to_default: bool | None = None,
) -> None:
    """Turn auto-repay of a plan on or off, optionally choosing its method."""
    plan = await uow.session.get(PlanRow, plan_id)
    if plan is None or plan.user_id != user_id:
        raise NotFound("plan")
    if method_id is not None:
        plan.autopay_method_id = (await _own(uow, user_id, method_id)).id
    plan.autopay = enabled
    if fallback_to_default is not None:
        plan.autopay_fallback = fallback_to_default
    await wake(uow, user_id)
    await uow.commit()
