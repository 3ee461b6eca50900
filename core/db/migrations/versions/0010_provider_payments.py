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


def upgrade() -> None:
    with op.batch_alter_table("payment_methods") as batch:
        batch.add_column(sa.Column("provider_account", sa.String(length=64), nullable=True))
        batch.create_unique_constraint("uq_payment_methods_provider_account", ["provider_account"])
    random_hex = (
        "lower(hex(randomblob(8)))"
        if op.get_bind().dialect.name == "sqlite"
        else "substr(md5(random()::text || clock_timestamp()::text), 1, 16)"
    )
    op.execute(f"UPDATE payment_methods SET provider_account = 'm' || id || '-' || {random_hex}")
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("reference", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("checks", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("details", sa.JSON(), nullable=True))
        batch.create_unique_constraint("uq_payments_reference", ["reference"])
        batch.create_index("ix_payments_next_check_at", ["next_check_at"])


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_index("ix_payments_next_check_at")
        batch.drop_constraint("uq_payments_reference", type_="unique")
        batch.drop_column("details")
        batch.drop_column("checks")
        batch.drop_column("next_check_at")
        batch.drop_column("reference")
    with op.batch_alter_table("payment_methods") as batch:
        batch.drop_constraint("uq_payment_methods_provider_account", type_="unique")
        batch.drop_column("provider_account")
