"""Each open ticket's next SLA check, so the escalation pass reads only what is due,
and the SLA rules those checks were set by.

Revision ID: 0015
Revises: 0014

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ticket.next_check_at with its index, and desk.sla_rules: empty, it matches no
    rules, so the first pass looks at every open ticket and sets its next check."""
    op.add_column("ticket", sa.Column("next_check_at", sa.DateTime(), nullable=True))
    op.create_index("ix_ticket_desk_next_check", "ticket", ["desk_id", "next_check_at"])
    op.add_column(
        "desk", sa.Column("sla_rules", sa.String(length=64), nullable=False, server_default="")
    )


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("desk") as batch:
        batch.drop_column("sla_rules")
    op.drop_index("ix_ticket_desk_next_check", table_name="ticket")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("next_check_at")
