"""reminder outbox: pending sends (snoozes, retries, receipts) and their lookups

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_log", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.JSON(), nullable=True))
        batch_op.create_index("ix_reminder_log_status_fire_at", ["status", "fire_at"], unique=False)
        batch_op.create_index(
            "ix_reminder_log_user_id_message_id", ["user_id", "message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder_log", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_log_user_id_message_id")
        batch_op.drop_index("ix_reminder_log_status_fire_at")
        batch_op.drop_column("payload")
