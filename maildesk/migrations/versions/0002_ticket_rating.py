"""The resident's rating of a closed ticket: 1–5, a comment, and when it was given.

Revision ID: 0002
Revises: 0001

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add the rating columns to ticket."""
    op.add_column("ticket", sa.Column("rating", sa.Integer(), nullable=True))
    op.add_column(
        "ticket", sa.Column("rating_comment", sa.Text(), nullable=False, server_default="")
    )
    op.add_column("ticket", sa.Column("rated_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Drop the rating columns."""
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("rated_at")
        batch.drop_column("rating_comment")
        batch.drop_column("rating")
