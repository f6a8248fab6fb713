"""What `/metrics` reads at every scrape, kept cheap: the IMAP watcher's reconnections
beside its last good pass, and an index that counts stored mail by desk and status
without reading the raw mail.

Revision ID: 0017
Revises: 0016

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | Sequence[str] | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add mailbox_position.reconnects (0 so far) and the index on inbound(desk_id, status)."""
    op.add_column(
        "mailbox_position",
        sa.Column("reconnects", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_index("ix_inbound_desk_status", "inbound", ["desk_id", "status"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_inbound_desk_status", table_name="inbound")
    with op.batch_alter_table("mailbox_position") as batch:
        batch.drop_column("reconnects")
