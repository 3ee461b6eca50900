"""The tables. Balances are never stored twice: what an installment owes is derived
from its charges and the allocation lines of payments that succeeded or are in flight."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Time,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from core.db.types import ExactDecimal, Money, UTCDateTime

# users.next_sweep_at of a user the sweep must look at as soon as it can.
AT_ONCE = datetime(1970, 1, 1, tzinfo=UTC)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        Decimal: Money(),
        datetime: UTCDateTime(),
        date: Date(),
        time: Time(),
        dict[str, Any]: JSON(),
        list[dict[str, str]]: JSON(),
    }


def _user_fk() -> Mapped[int]:
    return mapped_column(
        BigInteger, ForeignKey("users.telegram_id", ondelete="CASCADE"), index=True
    )


class User(Base):
    __tablename__ = "users"

    telegram_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    language: Mapped[str] = mapped_column(String(8))
    timezone: Mapped[str] = mapped_column(String(64))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    reminders_enabled: Mapped[bool] = mapped_column(default=True)
    remind_days: Mapped[str] = mapped_column(String(32), default="3,1,0")
    remind_time: Mapped[time] = mapped_column(default=time(9, 0))
    overdue_daily: Mapped[bool] = mapped_column(default=True)
    # When the sweep must next look at this user (AT_ONCE: at once). Kept by the sweeps;
    # any change that can bring something due sooner resets it (core/services/wakeups.py).
    next_sweep_at: Mapped[datetime] = mapped_column(default=lambda: AT_ONCE, index=True)


class CreditLineRow(Base):
    __tablename__ = "credit_lines"
    __table_args__ = (UniqueConstraint("user_id", "provider"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    provider: Mapped[str] = mapped_column(String(64))
    limit: Mapped[Decimal]
    frozen: Mapped[bool] = mapped_column(default=False)


class PaymentMethodRow(Base):
    __tablename__ = "payment_methods"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    kind: Mapped[str] = mapped_column(String(16))
    label: Mapped[str] = mapped_column(String(64))
    last4: Mapped[str | None] = mapped_column(String(4))
    # The opening balance, then the balance as the provider last told it (the provider's
    # account is the truth: core/services/provider_accounts.py).
    balance: Mapped[Decimal]
    # The method's account at the payment provider, opened there on first use.
    provider_account: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]


class PlanRow(Base):
    __tablename__ = "plans"
    __table_args__ = (UniqueConstraint("user_id", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    external_id: Mapped[str | None] = mapped_column(String(128))
    provider: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))
    principal: Mapped[Decimal]
    periods: Mapped[int]
    method: Mapped[str] = mapped_column(String(20))
    rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    first_due: Mapped[date]
    repayment_day: Mapped[int]
    start_date: Mapped[date]
    grace_days: Mapped[int]
    tolerance: Mapped[Decimal]
    penalty_daily_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    penalty_cap_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    payoff_policy: Mapped[str] = mapped_column(String(24))
    early_repayment_fee_rate: Mapped[Decimal] = mapped_column(ExactDecimal())
    payoff_forbidden_reason: Mapped[str | None] = mapped_column(String(200))
    # False: the plan was entered from its installments alone (so much a period, so many
    # periods); its principal and so its annualized rate are not known.
    rate_known: Mapped[bool] = mapped_column(server_default=true())
    autopay: Mapped[bool] = mapped_column(default=False)
    autopay_method_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_methods.id", ondelete="SET NULL")
    )
    autopay_fallback: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]


class InstallmentRow(Base):
    """One period as charged now (an early payoff lowers interest and fees of later periods)."""

    __tablename__ = "installments"
    __table_args__ = (
        UniqueConstraint("plan_id", "period"),
        Index("ix_installments_due", "due_date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    period: Mapped[int]
    start_date: Mapped[date]
    due_date: Mapped[date]
    principal: Mapped[Decimal]
    interest: Mapped[Decimal]
    fee: Mapped[Decimal]


class QuoteRow(Base):
    """A priced choice, kept server-side so buttons carry its id and never an amount."""

    __tablename__ = "quotes"

    id: Mapped[str] = mapped_column(String(24), primary_key=True)
    user_id: Mapped[int] = _user_fk()
    kind: Mapped[str] = mapped_column(String(16))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    method_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_methods.id", ondelete="SET NULL")
    )
    requested_amount: Mapped[Decimal | None]
    amount: Mapped[Decimal]
    as_of: Mapped[date]
    lines: Mapped[list[dict[str, str]]]
    adjustments: Mapped[list[dict[str, str]]]
    # A payoff's early-repayment fee: rate × base (the principal not yet due), so the
    # confirmation can say what the fee is charged on (issue 11 §5).
    early_fee_rate: Mapped[Decimal | None] = mapped_column(ExactDecimal())
    early_fee_base: Mapped[Decimal | None]
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="open")


class PaymentRow(Base):
    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    quote_id: Mapped[str | None] = mapped_column(ForeignKey("quotes.id", ondelete="SET NULL"))
    method_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_methods.id", ondelete="SET NULL")
    )
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    amount: Mapped[Decimal]
    status: Mapped[str] = mapped_column(String(12))
    failure_reason: Mapped[str | None] = mapped_column(String(40))
    paid_on: Mapped[date]
    created_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # Our reference at the payment provider (its idempotency key); None for payments that
    # move no money through it (imported, self-reported).
    reference: Mapped[str | None] = mapped_column(String(64), index=True, unique=True)
    # While unsettled: when the sweep next asks the provider (core/services/reconcile.py).
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    checks: Mapped[int] = mapped_column(server_default="0")
    # What settling needs besides the lines: a payoff's adjustments (with the values they
    # replaced) and an auto-repay attempt's place among its attempts.
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AllocationLineRow(Base):
    __tablename__ = "allocation_lines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    payment_id: Mapped[int] = mapped_column(
        ForeignKey("payments.id", ondelete="CASCADE"), index=True
    )
    installment_id: Mapped[int] = mapped_column(
        ForeignKey("installments.id", ondelete="CASCADE"), index=True
    )
    penalty: Mapped[Decimal]
    fee: Mapped[Decimal]
    interest: Mapped[Decimal]
    principal: Mapped[Decimal]


class BotStateRow(Base):
    """Conversation states and per-user scratch data of the chat adapter, kept across restarts."""

    __tablename__ = "bot_state"
    __table_args__ = (UniqueConstraint("kind", "name", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # user_data | conversation
    name: Mapped[str] = mapped_column(String(32))  # conversation name, "" for user_data
    key: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(BigInteger, index=True)  # whose, for /forget
    data: Mapped[dict[str, Any]]


class ProcessedUpdateRow(Base):
    """A Telegram update id taken on by some instance: a redelivered update is skipped."""

    __tablename__ = "processed_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    taken_at: Mapped[datetime] = mapped_column(index=True)


class ReminderLogRow(Base):
    """One message to a user about one installment — a reminder, a snoozed reminder coming
    back, or an auto-repay receipt — and how its sending went.

    pending (to send at ``fire_at``) → claimed (by a sweep, under a lease) → sent, failed or
    superseded. The unique key (installment, kind, offset) is what makes each go out at most
    once: offset is the days before/after the due date for reminders, the snoozed row's id
    for a snooze, the payment's id for a receipt.
    """

    __tablename__ = "reminder_log"
    __table_args__ = (
        UniqueConstraint("installment_id", "kind", "offset"),
        Index("ix_reminder_log_status_fire_at", "status", "fire_at"),
        Index("ix_reminder_log_user_id_message_id", "user_id", "message_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = _user_fk()
    installment_id: Mapped[int] = mapped_column(ForeignKey("installments.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    offset: Mapped[int]
    fire_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12))  # pending|claimed|sent|superseded|failed
    lease_until: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    failure: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    payload: Mapped[dict[str, Any] | None]  # a receipt's figures, as strings


class CalendarFeedRow(Base):
    """A user's private calendar subscription link: only the SHA-256 of its secret token is
    kept, so the database alone cannot serve anyone's calendar. One link per user; making a
    new one replaces it, and the row goes with the user (``/forget``)."""

    __tablename__ = "calendar_feeds"

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("users.telegram_id", ondelete="CASCADE"), primary_key=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
