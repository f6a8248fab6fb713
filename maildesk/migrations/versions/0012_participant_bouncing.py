"""A participant whose address the relay refused is marked bouncing.

Revision ID: 0012
Revises: 0011

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add participant.bouncing (false for every existing participant)."""
    op.add_column(
        "participant",
        sa.Column("bouncing", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    """Drop participant.bouncing."""
    with op.batch_alter_table("participant") as batch:
        batch.drop_column("bouncing")
