"""Indexes for the reports: a window's tickets by each of their times, its state events.

A report or digest of one day reads that day's rows instead of the whole history.

Revision ID: 0006
Revises: 0005

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# By opening time and by state, 0005 (the console's board) has them already.
TICKET = {
    "ix_ticket_desk_first_response": ["desk_id", "first_response_at"],
    "ix_ticket_desk_resolved": ["desk_id", "resolved_at"],
    "ix_ticket_desk_closed": ["desk_id", "closed_at"],
    "ix_ticket_desk_rated": ["desk_id", "rated_at"],
}


def upgrade() -> None:
    """Create the ticket time indexes and the event (kind, at) index."""
    for name, columns in TICKET.items():
        op.create_index(name, "ticket", columns)
    op.create_index("ix_event_kind_at", "event", ["kind", "at"])


def downgrade() -> None:
    """Drop them."""
    op.drop_index("ix_event_kind_at", table_name="event")
    for name in TICKET:
        op.drop_index(name, table_name="ticket")
