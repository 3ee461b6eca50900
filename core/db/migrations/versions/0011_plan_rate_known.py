"""plans.rate_known: false for a plan entered from its installments alone (an amount per
period and the periods left), whose principal and annualized rate are not known.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # In place (ALTER TABLE ADD COLUMN): a rebuild of plans would, on SQLite with foreign
    # keys on, delete every installment of every plan (see 0010).
    op.add_column(
        "plans", sa.Column("rate_known", sa.Boolean(), nullable=False, server_default=sa.true())
    )


def downgrade() -> None:
    op.drop_column("plans", "rate_known")
