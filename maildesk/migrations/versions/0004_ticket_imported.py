"""Tickets opened from mail that was already in the mailbox are marked imported.

Revision ID: 0004
Revises: 0003

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ticket.imported (false for every existing ticket)."""
    op.add_column(
        "ticket",
        sa.Column("imported", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    """Drop ticket.imported."""
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("imported")
