"""A stored mail whose try did not finish waits before its next one (`inbound.next_attempt_at`).

Revision ID: 0020
Revises: 0019

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | Sequence[str] | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add inbound.next_attempt_at, empty: every pending mail is due, as before, and the
    previous release's workers, which never set it, go on as they did."""
    op.add_column("inbound", sa.Column("next_attempt_at", sa.DateTime(), nullable=True))


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("inbound") as batch:
        batch.drop_column("next_attempt_at")
