"""Quotes: price a choice (bill, next period, payoff, custom amount) and keep it server-side."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import delete, exists, select

from core.db.models import PaymentMethodRow, PaymentRow, QuoteRow
from core.db.uow import UnitOfWork
from core.domain.allocation import AllocationLine, OverpaymentError
from core.domain.ledger import Parts
from core.domain.quotes import (
    Adjustment,
    EarlyFee,
    NothingDue,
    PayoffForbidden,
    Quote,
    QuoteKind,
    ReachesPayoff,
    quote_bill,
    quote_custom,
    quote_early_payoff,
    quote_next_period,
)
from core.money import AmountError, validate_amount
from core.services.books import LoadedPlan, load_plans
from core.services.clock import local_date
from core.services.errors import (
    AbovePayoff,
    InvalidInput,
    MethodRemoved,
    NoPaymentMethod,
    NotFound,
    NothingToPay,
    Overpayment,
    PayoffNotAllowed,
)
from core.services.users import get_user

DEFAULT_TTL = timedelta(minutes=10)
# An expired quote is kept this long, so that a late tap on its Confirm still gets
# "expired, here is a fresh quote" rather than "not found"; then it is purged.
EXPIRED_QUOTE_RETENTION = timedelta(days=7)
PURGE_BATCH = 500  # quotes deleted per call: one short write transaction


@dataclass(frozen=True, slots=True)
class QuoteRequest:
    """What the user chose; the same request re-priced later must give the same quote."""

    kind: QuoteKind
    plan_id: int | None = None
    amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class QuoteView:
    quote_id: str
    request: QuoteRequest
    method_id: int
    amount: Decimal
    breakdown: Parts
    lines: tuple[AllocationLine, ...]
    as_of: date
    expires_at: datetime
    early_fee: EarlyFee | None = None


def price(request: QuoteRequest, plans: list[LoadedPlan], on: date) -> Quote:
    """The domain quote for a request over the user's plans, as service errors."""
    chosen = [p for p in plans if request.plan_id is None or p.row.id == request.plan_id]
    if request.plan_id is not None and not chosen:
        raise NotFound("plan")
    books = [p.book for p in chosen]
    try:
        if request.kind is QuoteKind.BILL:
            return quote_bill(books, on)
        if request.kind is QuoteKind.CUSTOM:
            if request.amount is None:
                raise InvalidInput("amount", "missing")
            return quote_custom(request.amount, books, on)
        if request.plan_id is None:
            raise InvalidInput("plan", "missing")
        if request.kind is QuoteKind.PERIOD:
            return quote_next_period(books[0], on)
        return quote_early_payoff(books[0], on)
    except NothingDue as exc:
        raise NothingToPay(str(exc)) from exc
    except PayoffForbidden as exc:
        raise PayoffNotAllowed(chosen[0].row.payoff_forbidden_reason) from exc
    except OverpaymentError as exc:
        raise Overpayment(exc.owed) from exc
    except ReachesPayoff as exc:
        raise AbovePayoff(exc.plan_key, exc.payoff) from exc


async def usable_method(uow: UnitOfWork, user_id: int, method_id: int | None) -> PaymentMethodRow:
    """The chosen method if it is the user's and not removed, else the default one."""
    if method_id is None:
        method = await uow.session.scalar(
            select(PaymentMethodRow).where(
                PaymentMethodRow.user_id == user_id,
                PaymentMethodRow.is_default.is_(True),
                PaymentMethodRow.removed_at.is_(None),
            )
        )
        if method is None:
            raise NoPaymentMethod()
        return method
    method = await uow.session.get(PaymentMethodRow, method_id)
    if method is None or method.user_id != user_id:
        raise NotFound("payment_method")
    if method.removed_at is not None:
        raise MethodRemoved()
    return method


def lines_to_json(lines: tuple[AllocationLine, ...]) -> list[dict[str, str]]:
    return [
        {
            "installment": str(line.key),
            "penalty": str(line.parts.penalty),
            "fee": str(line.parts.fee),
            "interest": str(line.parts.interest),
            "principal": str(line.parts.principal),
        }
        for line in lines
    ]


def adjustments_to_json(adjustments: tuple[Adjustment, ...]) -> list[dict[str, str]]:
    return [
        {"installment": str(a.key), "interest": str(a.interest), "fee": str(a.fee)}
        for a in adjustments
    ]


def lines_from_json(rows: list[dict[str, str]]) -> tuple[AllocationLine, ...]:
    return tuple(
        AllocationLine(
            int(row["installment"]),
            Parts(
                Decimal(row["penalty"]),
                Decimal(row["fee"]),
                Decimal(row["interest"]),
                Decimal(row["principal"]),
            ),
        )
        for row in rows
    )


def request_of(row: QuoteRow) -> QuoteRequest:
    return QuoteRequest(QuoteKind(row.kind), row.plan_id, row.requested_amount)


def quote_view(row: QuoteRow) -> QuoteView:
    lines = lines_from_json(row.lines)
    breakdown = sum((line.parts for line in lines), Parts())
    assert row.method_id is not None
    early_fee = None
    if row.early_fee_rate is not None and row.early_fee_base is not None:
        early_fee = EarlyFee(row.early_fee_rate, row.early_fee_base)
    return QuoteView(
        row.id,
        request_of(row),
        row.method_id,
        row.amount,
        breakdown,
        lines,
        row.as_of,
        row.expires_at,
        early_fee,
    )


async def store_quote(
    uow: UnitOfWork,
    user_id: int,
    request: QuoteRequest,
    method_id: int,
    priced: Quote,
    on: date,
    now: datetime,
    ttl: timedelta,
) -> QuoteRow:
    row = QuoteRow(
        id=secrets.token_urlsafe(9),
        user_id=user_id,
        kind=request.kind.value,
        plan_id=request.plan_id,
        method_id=method_id,
        requested_amount=request.amount,
        amount=priced.total,
        as_of=on,
        lines=lines_to_json(priced.lines),
        adjustments=adjustments_to_json(priced.adjustments),
        early_fee_rate=priced.early_fee.rate if priced.early_fee else None,
        early_fee_base=priced.early_fee.base if priced.early_fee else None,
        created_at=now,
        expires_at=now + ttl,
    )
    uow.session.add(row)
    await uow.session.flush()
    return row


async def create_quote(
    uow: UnitOfWork,
    user_id: int,
    request: QuoteRequest,
    now: datetime,
    *,
    method_id: int | None = None,
    ttl: timedelta = DEFAULT_TTL,
) -> QuoteView:
    """Price the request on the user's local date and store it for ``ttl``."""
    user = await get_user(uow, user_id)
    if request.amount is not None:
        try:
            validate_amount(request.amount)
        except AmountError as exc:
            raise InvalidInput("amount", exc.problem.value) from exc
    method = await usable_method(uow, user_id, method_id)
    on = local_date(now, user.timezone)
    priced = price(request, await load_plans(uow.session, user_id), on)
    row = await store_quote(uow, user_id, request, method.id, priced, on, now, ttl)
    await uow.commit()
    return quote_view(row)


async def _own_quote(uow: UnitOfWork, user_id: int, quote_id: str) -> QuoteRow:
    row = await uow.session.get(QuoteRow, quote_id)
    if row is None or row.user_id != user_id:
        raise NotFound("quote")
    return row


async def get_quote(uow: UnitOfWork, user_id: int, quote_id: str) -> QuoteView:
    """One of the user's quotes; someone else's or an unknown id is ``NotFound``."""
    return quote_view(await _own_quote(uow, user_id, quote_id))


async def requote_with_method(
    uow: UnitOfWork, user_id: int, quote_id: str, method_id: int, now: datetime
) -> QuoteView:
    """The same choice as an earlier quote of the user's, priced anew for another method."""
    row = await _own_quote(uow, user_id, quote_id)
    ttl = row.expires_at - row.created_at
    return await create_quote(uow, user_id, request_of(row), now, method_id=method_id, ttl=ttl)


async def purge_expired_quotes(
    uow: UnitOfWork,
    now: datetime,
    *,
    retention: timedelta = EXPIRED_QUOTE_RETENTION,
    batch: int = PURGE_BATCH,
) -> int:
    """Delete up to ``batch`` quotes expired for longer than ``retention``; how many.

    A quote a payment was made from stays: the payment's ``quote_id`` points at it, and
    the quote is the record of what was priced. Callers repeat until it returns fewer
    than ``batch``, each call in a transaction of its own, so no purge holds the write
    lock for long.
    """
    paid_from = exists().where(PaymentRow.quote_id == QuoteRow.id)
    ids = select(QuoteRow.id).where(QuoteRow.expires_at < now - retention, ~paid_from)
    doomed = list(await uow.session.scalars(ids.limit(batch)))
    if doomed:
        await uow.session.execute(delete(QuoteRow).where(QuoteRow.id.in_(doomed)))
    await uow.commit()
    return len(doomed)
