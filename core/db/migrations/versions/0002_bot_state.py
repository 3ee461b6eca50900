"""bot state

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bot_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bot_state")),
        sa.UniqueConstraint("kind", "name", "key", name=op.f("uq_bot_state_kind_name_key")),
    )
    with op.batch_alter_table("bot_state", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_bot_state_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("bot_state", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_bot_state_user_id"))
    op.drop_table("bot_state")
