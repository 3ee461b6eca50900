"""users.next_sweep_at NOT NULL: the epoch, not NULL, means "look at once"

An ``IS NULL OR <=`` condition kept SQLite from using the column's index (it scanned every
user each sweep); with one comparison both backends read just the users that are due.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AT_ONCE = datetime(1970, 1, 1, tzinfo=UTC)  # core.db.models.AT_ONCE, frozen here


def upgrade() -> None:
    users = sa.table("users", sa.column("next_sweep_at", sa.DateTime(timezone=True)))
    op.execute(
        users.update()
        .where(users.c.next_sweep_at.is_(None))
        .values(next_sweep_at=AT_ONCE if op.get_bind().dialect.name != "sqlite" else _naive())
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "next_sweep_at", existing_type=sa.DateTime(timezone=True), nullable=False
        )


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.alter_column(
            "next_sweep_at", existing_type=sa.DateTime(timezone=True), nullable=True
        )


def _naive() -> datetime:
    """SQLite keeps instants as naive UTC text (core.db.types.UTCDateTime)."""
    return AT_ONCE.replace(tzinfo=None)
