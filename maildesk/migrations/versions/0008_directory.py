"""The directory: units, people, their emails and residencies; a ticket's unit and relation.

Revision ID: 0008
Revises: 0007

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add unit, person, person_email, residency and ticket.unit_id/requester_relation."""
    op.create_table(
        "unit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("tower", sa.String(length=100), nullable=False),
        sa.Column("floor", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["desk_id"], ["desk.id"], name=op.f("fk_unit_desk_id_desk")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unit")),
        sa.UniqueConstraint("desk_id", "key", name=op.f("uq_unit_desk_id_key")),
    )
    op.create_table(
        "person",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phones", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["desk_id"], ["desk.id"], name=op.f("fk_person_desk_id_desk")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person")),
    )
    op.create_index(op.f("ix_person_desk_id"), "person", ["desk_id"])
    op.create_table(
        "person_email",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.ForeignKeyConstraint(
            ["desk_id"], ["desk.id"], name=op.f("fk_person_email_desk_id_desk")
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_person_email_person_id_person")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_person_email")),
        sa.UniqueConstraint("desk_id", "email", name=op.f("uq_person_email_desk_id_email")),
    )
    op.create_index(op.f("ix_person_email_person_id"), "person_email", ["person_id"])
    op.create_table(
        "residency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("relation", sa.String(length=20), nullable=False),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["person.id"], name=op.f("fk_residency_person_id_person")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_residency_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_residency")),
        sa.UniqueConstraint("person_id", "unit_id", name=op.f("uq_residency_person_id_unit_id")),
    )
    op.create_index(op.f("ix_residency_unit_id"), "residency", ["unit_id"])
    with op.batch_alter_table("ticket") as batch:
        batch.add_column(sa.Column("unit_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("requester_relation", sa.String(length=20), nullable=True))
        batch.create_foreign_key(op.f("fk_ticket_unit_id_unit"), "unit", ["unit_id"], ["id"])
        batch.create_index(op.f("ix_ticket_unit_id"), ["unit_id"])


def downgrade() -> None:
    """Drop what upgrade added."""
    with op.batch_alter_table("ticket") as batch:
        batch.drop_index(op.f("ix_ticket_unit_id"))
        batch.drop_constraint(op.f("fk_ticket_unit_id_unit"), type_="foreignkey")
        batch.drop_column("requester_relation")
        batch.drop_column("unit_id")
    op.drop_index(op.f("ix_residency_unit_id"), table_name="residency")
    op.drop_table("residency")
    op.drop_index(op.f("ix_person_email_person_id"), table_name="person_email")
    op.drop_table("person_email")
    op.drop_index(op.f("ix_person_desk_id"), table_name="person")
    op.drop_table("person")
    op.drop_table("unit")
