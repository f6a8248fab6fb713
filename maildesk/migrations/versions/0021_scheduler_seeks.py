"""Indexes for the scheduler's minute: its passes seek what is due instead of scanning
the year behind it.

- `ix_outbox_unpruned` (status, pruned_at, sent_at): the pruning of sent bodies read every
  outbox row ever written, each minute, in a write transaction (`outbox.prune_sent`);
- `ix_ticket_desk_state_resolved` (desk_id, state, resolved_at): the auto-close of tickets
  left in validation was read, on SQLite, through the resolved tickets of every state
  (`sla.housekeeping.close_unanswered`).

Revision ID: 0021
Revises: 0020

"""

from collections.abc import Sequence

from alembic import op

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add both indexes."""
    op.create_index("ix_outbox_unpruned", "outbox", ["status", "pruned_at", "sent_at"])
    op.create_index("ix_ticket_desk_state_resolved", "ticket", ["desk_id", "state", "resolved_at"])


def downgrade() -> None:
    """Drop what upgrade added."""
    op.drop_index("ix_ticket_desk_state_resolved", table_name="ticket")
    op.drop_index("ix_outbox_unpruned", table_name="outbox")
