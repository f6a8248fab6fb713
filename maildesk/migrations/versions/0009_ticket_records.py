"""What a request records besides its words: type, start date, deadline, final cause.

PVI records a request's type (with its date limit) and lets staff set a start date and
a deadline; Seiton closes with a final cause. The intake medium stays in ticket.channel,
now one of `desk.channels`.

Revision ID: 0009
Revises: 0008

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ticket.type, starts_on, deadline and cause (all empty on existing tickets)."""
    op.add_column("ticket", sa.Column("type", sa.String(60), nullable=True))
    op.add_column("ticket", sa.Column("starts_on", sa.Date(), nullable=True))
    op.add_column("ticket", sa.Column("deadline", sa.Date(), nullable=True))
    op.add_column("ticket", sa.Column("cause", sa.String(60), nullable=True))


def downgrade() -> None:
    """Drop the four columns."""
    with op.batch_alter_table("ticket") as batch:
        for column in ("cause", "deadline", "starts_on", "type"):
            batch.drop_column(column)
