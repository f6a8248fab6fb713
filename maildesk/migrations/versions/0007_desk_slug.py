"""desk.slug: the building's short name in URLs, filters and `--desk`, unique per install.

An existing desk gets `desk-<id>` here; the first start with its configuration renames it
to the configured slug ("default" for a one-desk file), found by its address.

Revision ID: 0007
Revises: 0006

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add desk.slug, fill it for existing rows, then make it required and unique."""
    op.add_column("desk", sa.Column("slug", sa.String(64), nullable=True))
    op.execute("UPDATE desk SET slug = 'desk-' || CAST(id AS VARCHAR(20))")
    with op.batch_alter_table("desk") as batch:
        batch.alter_column("slug", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint(batch.f("uq_desk_slug"), ["slug"])


def downgrade() -> None:
    """Drop desk.slug."""
    with op.batch_alter_table("desk") as batch:
        batch.drop_constraint(batch.f("uq_desk_slug"), type_="unique")
        batch.drop_column("slug")
