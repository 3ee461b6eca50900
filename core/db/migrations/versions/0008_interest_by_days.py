"""Interest by days for an irregular first period; a payoff quote's early-repayment fee base

Issue 11 §4: a first period shorter or longer than a month is charged interest for its
days (one month's interest × days / the days of the month it falls in), no longer a full
month's. Stored schedules were written by the old rule, so period 1 of every
interest-bearing plan (``annuity``, ``equal_principal``, rate > 0) whose disbursement is
not one month before its first due date is recomputed here — only while nothing has been
paid on it: an installment with a succeeded payment keeps what it was charged (a payment
is never reversed silently). Principal and the later periods do not change.

Issue 11 §5: ``quotes.early_fee_rate`` and ``quotes.early_fee_base`` (nullable) keep what
a payoff's early-repayment fee is charged on, for its confirmation screen.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

import calendar
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INTEREST_BEARING = ("annuity", "equal_principal")


# core.domain.dates.add_months and months_between, frozen here: the migration must keep
# meaning what it meant when it ran, whatever the domain becomes.
def _add_months(start: date, months: int) -> date:
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(start.day, calendar.monthrange(year, month + 1)[1]))


def _months_between(start: date, end: date) -> Decimal:
    whole = (end.year - start.year) * 12 + end.month - start.month
    while _add_months(end, -whole) < start:
        whole -= 1
    anchor, before = _add_months(end, -whole), _add_months(end, -whole - 1)
    return whole + Decimal((anchor - start).days) / Decimal((anchor - before).days)


def first_period_interest_fen(principal_fen: int, rate: str, start: date, due: date) -> int:
    """Period 1's interest by days, in fen (money is stored as integer fen)."""
    interest = Decimal(principal_fen) / 100 * Decimal(rate) * _months_between(start, due) / 12
    return int(interest.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP) * 100)


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def upgrade() -> None:
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("early_fee_rate", sa.String(24), nullable=True))
        batch_op.add_column(sa.Column("early_fee_base", sa.BigInteger(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT i.id, p.principal, p.rate, p.start_date, p.first_due, i.interest"
            " FROM plans p JOIN installments i ON i.plan_id = p.id AND i.period = 1"
            " WHERE p.method IN ('annuity', 'equal_principal')"
            " AND NOT EXISTS (SELECT 1 FROM allocation_lines a"
            " JOIN payments m ON m.id = a.payment_id"
            " WHERE a.installment_id = i.id AND m.status = 'succeeded')"
        )
    ).all()
    for key, principal, rate, start, first_due, interest in rows:
        if Decimal(rate) == 0:
            continue
        fen = first_period_interest_fen(principal, rate, _as_date(start), _as_date(first_due))
        if fen != interest:
            bind.execute(
                sa.text("UPDATE installments SET interest = :fen WHERE id = :id"),
                {"fen": fen, "id": key},
            )


def downgrade() -> None:
    # The recomputed interest stays: the old full-month charge was the bug.
    with op.batch_alter_table("quotes", schema=None) as batch_op:
        batch_op.drop_column("early_fee_base")
        batch_op.drop_column("early_fee_rate")
