"""A stored mail's bytes in a table of their own, written once: on SQLite every UPDATE of
the `inbound` row (each try, the end) rebuilt it with the raw mail inside, at twice the
mail's size in memory.

Mail still pending stays in `inbound.raw`: the previous release's workers, running during
the upgrade, read it there (and store there until they are restarted); this release reads
either place. The rest moves. Each statement works row by row on both databases, so one
statement holds one mail at a time, however many there are.

Revision ID: 0019
Revises: 0018

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | Sequence[str] | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SETTLED = "status <> 'pending'"


def upgrade() -> None:
    """Create inbound_raw; move into it the raw mail of every mail no longer pending."""
    op.create_table(
        "inbound_raw",
        sa.Column("inbound_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["inbound_id"], ["inbound.id"], name=op.f("fk_inbound_raw_inbound_id_inbound")
        ),
        sa.PrimaryKeyConstraint("inbound_id", name=op.f("pk_inbound_raw")),
    )
    op.execute(
        f"INSERT INTO inbound_raw (inbound_id, raw) SELECT id, raw FROM inbound WHERE {SETTLED}"
    )
    op.get_bind().execute(
        sa.text(f"UPDATE inbound SET raw = :empty WHERE {SETTLED}"), {"empty": b""}
    )


def downgrade() -> None:
    """Every raw mail back into its inbound row, then drop inbound_raw."""
    op.execute(
        "UPDATE inbound SET raw = (SELECT raw FROM inbound_raw WHERE inbound_id = inbound.id)"
        " WHERE id IN (SELECT inbound_id FROM inbound_raw)"
    )
    op.drop_table("inbound_raw")
