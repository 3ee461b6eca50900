"""The bank's ledger in its database: accounts, top-ups, debits and their settlement.

Each operation is one transaction (SQLite's BEGIN IMMEDIATE makes writers take turns),
so two submissions of one reference, even at the same instant, see each other: the
second finds the first's debit and answers it instead of debiting again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from core.db.engine import session_factory
from core.gateway.bank import outbox
from core.gateway.bank.faults import Faults
from core.gateway.bank.ledger import AccountKind, DebitStatus, can_transition, settle
from core.gateway.bank.tables import AccountRow, DebitRow, TopUpRow
from core.gateway.bank.views import AccountState, DebitState
from core.gateway.bank.wire import MAX_BALANCE

SETTLE_BATCH = 100


class Refused(Exception):
    """A well-formed request the bank's state refuses: ``status`` (404 or 409) and ``reason``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DebitRequest:
    reference: str
    account: str
    amount: Decimal
    callback_url: str | None


@dataclass(frozen=True, slots=True)
class Submitted:
    debit: DebitState
    replayed: bool  # the reference was known: nothing new happened
    notification: int | None  # queued by this submission (settled at once)


class BankStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self._sessions = session_factory(engine)

    # --- accounts -----------------------------------------------------------------------

    async def open_account(
        self, account: str, kind: AccountKind, label: str, balance: Decimal, now: datetime
    ) -> tuple[AccountState, bool]:
        """Open ``account``; opening it again with the same terms answers it as it is."""
        async with self._sessions() as session, session.begin():
            row = await session.get(AccountRow, account)
            if row is not None:
                if row.closed_at is not None:
                    raise Refused(409, "account_closed")
                same = (row.kind, row.label, row.opening_balance) == (kind.value, label, balance)
                if not same:
                    raise Refused(409, "account_exists")
                return AccountState.of(row), False
            row = AccountRow(
                account=account,
                kind=kind.value,
                label=label,
                balance=balance,
                opening_balance=balance,
                opened_at=now,
                closed_at=None,
            )
            session.add(row)
            return AccountState.of(row), True

    async def account(self, account: str) -> AccountState:
        async with self._sessions() as session, session.begin():
            return AccountState.of(await _account(session, account))

    async def top_up(
        self, account: str, amount: Decimal, reference: str | None, now: datetime
    ) -> tuple[AccountState, bool]:
        """Add ``amount``; with a ``reference`` a retried top-up counts once."""
        async with self._sessions() as session, session.begin():
            row = await _account(session, account)
            if reference is not None:
                query = select(TopUpRow).where(TopUpRow.reference == reference)
                earlier = (await session.scalars(query)).first()
                if earlier is not None:
                    if (earlier.account, earlier.amount) != (account, amount):
                        raise Refused(409, "reference_conflict")
                    return AccountState.of(row), True
            if row.closed_at is not None:
                raise Refused(409, "account_closed")
            if row.balance + amount > MAX_BALANCE:
                raise Refused(409, "balance_limit")
            row.balance += amount
            session.add(
                TopUpRow(
                    account=account,
                    reference=reference,
                    amount=amount,
                    balance_after=row.balance,
                    created_at=now,
                )
            )
            return AccountState.of(row), False

    async def close_account(self, account: str, now: datetime) -> AccountState:
        """Close ``account`` (the card is removed): every later debit of it fails."""
        async with self._sessions() as session, session.begin():
            row = await _account(session, account)
            if row.closed_at is None:
                row.closed_at = now
            return AccountState.of(row)

    # --- debits -------------------------------------------------------------------------

    async def submit_debit(self, request: DebitRequest, now: datetime, faults: Faults) -> Submitted:
        try:
            return await self._submit(request, now, faults)
        except IntegrityError:
            # Another writer recorded this reference first (only on databases without
            # SQLite's one-writer lock): answer what it recorded.
            return await self._submit(request, now, faults)

    async def _submit(self, request: DebitRequest, now: datetime, faults: Faults) -> Submitted:
        async with self._sessions() as session, session.begin():
            earlier = await session.get(DebitRow, request.reference)
            if earlier is not None:
                if (earlier.account, earlier.amount) != (request.account, request.amount):
                    raise Refused(409, "reference_conflict")
                return Submitted(DebitState.of(earlier), True, None)
            account = await _account(session, request.account)
            row = DebitRow(
                reference=request.reference,
                account=request.account,
                amount=request.amount,
                status=DebitStatus.PROCESSING.value,
                failure_reason=None,
                balance_after=None,
                callback_url=request.callback_url,
                created_at=now,
                settle_at=None,
                settled_at=None,
            )
            session.add(row)
            if faults.settlement_delay > 0:
                row.settle_at = now + timedelta(seconds=faults.settlement_delay)
                await session.flush()
                return Submitted(DebitState.of(row), False, None)
            notification = await _settle(session, row, account, now, faults)
            return Submitted(DebitState.of(row), False, notification)

    async def debit(self, reference: str) -> DebitState:
        async with self._sessions() as session, session.begin():
            row = await session.get(DebitRow, reference)
            if row is None:
                raise Refused(404, "debit_not_found")
            return DebitState.of(row)

    async def settle_due(self, now: datetime, faults: Faults) -> int:
        """Settle processing debits whose time has come; returns how many settled."""
        async with self._sessions() as session, session.begin():
            query = (
                select(DebitRow)
                .where(DebitRow.status == DebitStatus.PROCESSING.value)
                .where(DebitRow.settle_at <= now)
                .order_by(DebitRow.settle_at, DebitRow.reference)
                .limit(SETTLE_BATCH)
            )
            rows = list((await session.scalars(query)).all())
            for row in rows:
                await _settle(session, row, await _account(session, row.account), now, faults)
            return len(rows)

    async def next_settlement(self) -> datetime | None:
        async with self._sessions() as session, session.begin():
            query = (
                select(DebitRow.settle_at)
                .where(DebitRow.status == DebitStatus.PROCESSING.value)
                .order_by(DebitRow.settle_at)
                .limit(1)
            )
            return (await session.scalars(query)).first()


async def _account(session: AsyncSession, account: str) -> AccountRow:
    row = await session.get(AccountRow, account)
    if row is None:
        raise Refused(404, "account_not_found")
    return row


async def _settle(
    session: AsyncSession, row: DebitRow, account: AccountRow, now: datetime, faults: Faults
) -> int | None:
    """Decide ``row`` against ``account`` as it is now; queue its notification."""
    outcome = settle(
        balance=account.balance,
        amount=row.amount,
        account_open=account.closed_at is None,
        decline=faults.take_decline(account.account),
    )
    if not can_transition(DebitStatus(row.status), outcome.status):  # pragma: no cover
        raise AssertionError(f"debit {row.reference} is already {row.status}")
    account.balance = outcome.balance_after
    row.status = outcome.status.value
    row.failure_reason = None if outcome.reason is None else outcome.reason.value
    row.balance_after = outcome.balance_after
    row.settle_at = None
    row.settled_at = now
    await session.flush()
    if row.callback_url is None:
        return None
    delay = faults.notify.delay
    return await outbox.enqueue(session, DebitState.of(row), row.callback_url, now=now, delay=delay)
