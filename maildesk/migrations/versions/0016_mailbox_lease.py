"""A lease per mailbox, so that of several fetch workers on one mailbox one fetches.

Revision ID: 0016
Revises: 0015

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add mailbox_lease: a new table, so workers of the previous release never see it."""
    op.create_table(
        "mailbox_lease",
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("mailbox", sa.String(length=500), nullable=False),
        sa.Column("holder", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desk.id"], name=op.f("fk_mailbox_lease_desk_id_desk")
        ),
        sa.PrimaryKeyConstraint("desk_id", "mailbox", name=op.f("pk_mailbox_lease")),
    )


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_table("mailbox_lease")
