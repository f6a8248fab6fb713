"""A ticket whose personal data was purged keeps the time it happened.

Revision ID: 0010
Revises: 0009

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ticket.purged_at (null: nothing purged)."""
    op.add_column("ticket", sa.Column("purged_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Drop ticket.purged_at.

    A plain DROP COLUMN (SQLite 3.35+): a batch copy of `ticket` would trip the foreign
    keys of the rows that point at it.
    """
    op.drop_column("ticket", "purged_at")
