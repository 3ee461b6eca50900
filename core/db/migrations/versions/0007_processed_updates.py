"""processed_updates: every Telegram update id this bot has taken on, so an update that
Telegram delivers again (after a lost answer, a restart, or to a second instance) has its
effect once. Rows older than the retention window are purged by the sweep.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "processed_updates",
        sa.Column("update_id", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_processed_updates_taken_at", "processed_updates", ["taken_at"])


def downgrade() -> None:
    op.drop_index("ix_processed_updates_taken_at", table_name="processed_updates")
    op.drop_table("processed_updates")
