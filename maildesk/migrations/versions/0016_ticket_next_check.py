"""Each open ticket's next SLA check, so the escalation pass reads only what is due.

Revision ID: 0016
Revises: 0012

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ticket.next_check_at and its index; every open ticket is checked at the next pass."""
    op.add_column("ticket", sa.Column("next_check_at", sa.DateTime(), nullable=True))
    op.create_index("ix_ticket_desk_next_check", "ticket", ["desk_id", "next_check_at"])
    ticket = sa.table(
        "ticket",
        sa.column("state", sa.String),
        sa.column("imported", sa.Boolean),
        sa.column("opened_at", sa.DateTime),
        sa.column("next_check_at", sa.DateTime),
    )
    op.execute(
        ticket.update()
        .where(ticket.c.state != "cerrado", ticket.c.imported == sa.false())
        .values(next_check_at=ticket.c.opened_at)
    )


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_ticket_desk_next_check", table_name="ticket")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("next_check_at")
