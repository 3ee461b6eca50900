"""The bank's own tables, on their own metadata: created at start, never migrated with
the bot's schema, never in the bot's database.

Money is stored as integer fen and instants in UTC, with the bot's column types.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.db.types import Money, UTCDateTime


class BankBase(DeclarativeBase):
    metadata = MetaData()
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        Decimal: Money(),
        datetime: UTCDateTime(),
    }


class AccountRow(BankBase):
    __tablename__ = "bank_accounts"

    account: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(64))
    balance: Mapped[Decimal]
    opening_balance: Mapped[Decimal]
    opened_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class TopUpRow(BankBase):
    __tablename__ = "bank_top_ups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account: Mapped[str] = mapped_column(ForeignKey("bank_accounts.account"), index=True)
    # The caller's reference makes a retried top-up count once; None: not idempotent.
    reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal]
    balance_after: Mapped[Decimal]
    created_at: Mapped[datetime]


class DebitRow(BankBase):
    __tablename__ = "bank_debits"

    reference: Mapped[str] = mapped_column(String(64), primary_key=True)
    account: Mapped[str] = mapped_column(ForeignKey("bank_accounts.account"), index=True)
    amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(16))
    failure_reason: Mapped[str | None] = mapped_column(String(32))
    balance_after: Mapped[Decimal | None]
    callback_url: Mapped[str | None] = mapped_column(String(512))
    created_at: Mapped[datetime]
    settle_at: Mapped[datetime | None]  # when a processing debit is due to settle
    settled_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_bank_debits_settle", "status", "settle_at"),)


class NotificationRow(BankBase):
    __tablename__ = "bank_notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(ForeignKey("bank_debits.reference"), index=True)
    url: Mapped[str] = mapped_column(String(512))
    # The exact bytes sent on every attempt, so a retry or a duplicate verifies alike.
    body: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]  # None once delivered or lost
    delivered_at: Mapped[datetime | None]
    lost: Mapped[bool] = mapped_column(default=False)  # dropped on purpose by a fault
    last_error: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_bank_notifications_due", "next_attempt_at"),)


async def create_tables(engine: AsyncEngine) -> None:
    """Create what is missing; an existing bank database is kept as it is."""
    async with engine.begin() as connection:
        await connection.run_sync(BankBase.metadata.create_all)
