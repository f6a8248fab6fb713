"""The staff console: used sign-in links, each ticket's next SLA deadline, board indexes.

Revision ID: 0005
Revises: 0004

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add staff_link_use, ticket.due_at and the board's indexes."""
    op.create_table(
        "staff_link_use",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_link_use")),
        sa.UniqueConstraint("nonce", name=op.f("uq_staff_link_use_nonce")),
    )
    op.add_column("ticket", sa.Column("due_at", sa.DateTime(), nullable=True))
    op.create_index("ix_ticket_desk_state_opened", "ticket", ["desk_id", "state", "opened_at"])
    op.create_index("ix_ticket_desk_opened", "ticket", ["desk_id", "opened_at"])
    op.create_index("ix_ticket_desk_due", "ticket", ["desk_id", "due_at"])
    op.create_index("ix_ticket_desk_assignee", "ticket", ["desk_id", "assignee"])
    op.create_index("ix_ticket_desk_team", "ticket", ["desk_id", "team"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_ticket_desk_team", table_name="ticket")
    op.drop_index("ix_ticket_desk_assignee", table_name="ticket")
    op.drop_index("ix_ticket_desk_due", table_name="ticket")
    op.drop_index("ix_ticket_desk_opened", table_name="ticket")
    op.drop_index("ix_ticket_desk_state_opened", table_name="ticket")
    with op.batch_alter_table("ticket") as batch:
        batch.drop_column("due_at")
    op.drop_table("staff_link_use")
