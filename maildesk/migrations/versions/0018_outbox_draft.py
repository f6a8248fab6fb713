"""The outbox keeps what intake rendered (a draft) until the outbox worker builds the
bytes: `raw` may be empty until then.

Revision ID: 0018
Revises: 0017

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | Sequence[str] | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add outbox.draft; outbox.raw may be NULL (not built yet)."""
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("draft", sa.Text(), nullable=True))
        batch.alter_column("raw", existing_type=sa.LargeBinary(), nullable=True)


def downgrade() -> None:
    """Drop the drafts; refused while a mail waits unbuilt, which the older code could
    not send (send the outbox first)."""
    bind = op.get_bind()
    waiting = bind.execute(sa.text("SELECT count(*) FROM outbox WHERE raw IS NULL")).scalar()
    if waiting:
        raise RuntimeError(
            f"{waiting} mails in the outbox are not built yet: send them (outbox send) first"
        )
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("raw", existing_type=sa.LargeBinary(), nullable=False)
        batch.drop_column("draft")
