"""Sent mail's bodies are pruned after a retention period; the row records when.

Revision ID: 0011
Revises: 0010

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add outbox.pruned_at (null: the body is still there)."""
    op.add_column("outbox", sa.Column("pruned_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Drop outbox.pruned_at."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("pruned_at")
