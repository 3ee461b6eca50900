"""Payments through a provider outside our database: each payment method names its
account at the provider; each payment its reference there (the provider's idempotency
key), when the sweep next asks the provider about it while it is unsettled, and what
settling it needs.

Methods that exist already get an account name here; their accounts are opened at the
provider on first use, with the balance they had.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Columns and indexes are added in place (ALTER TABLE ADD COLUMN, CREATE INDEX), never by
# rebuilding a table: on SQLite a rebuild drops the old table, and with foreign keys on
# that deletes or nulls every row that refers to it (allocation lines, installments …).


def upgrade() -> None:
    op.add_column("payment_methods", sa.Column("provider_account", sa.String(64), nullable=True))
    random_hex = (
        "lower(hex(randomblob(8)))"
        if op.get_bind().dialect.name == "sqlite"
        else "substr(md5(random()::text || clock_timestamp()::text), 1, 16)"
    )
    op.execute(f"UPDATE payment_methods SET provider_account = 'm' || id || '-' || {random_hex}")
    op.create_index(
        "ix_payment_methods_provider_account",
        "payment_methods",
        ["provider_account"],
        unique=True,
    )
    op.add_column("payments", sa.Column("reference", sa.String(64), nullable=True))
    op.add_column("payments", sa.Column("next_check_at", sa.DateTime(timezone=True)))
    op.add_column("payments", sa.Column("checks", sa.Integer(), nullable=False, server_default="0"))
    op.add_column("payments", sa.Column("details", sa.JSON(), nullable=True))
    op.create_index("ix_payments_reference", "payments", ["reference"], unique=True)
    op.create_index("ix_payments_next_check_at", "payments", ["next_check_at"])


def downgrade() -> None:
    op.drop_index("ix_payments_next_check_at", "payments")
    op.drop_index("ix_payments_reference", "payments")
    for column in ("details", "checks", "next_check_at", "reference"):
        op.drop_column("payments", column)
    op.drop_index("ix_payment_methods_provider_account", "payment_methods")
    op.drop_column("payment_methods", "provider_account")
