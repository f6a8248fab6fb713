"""Knowledge-base articles and their full-text index.

SQLite: an FTS5 table (unicode61, diacritics removed) whose rowid is the article's id,
filled with Snowball stems by `kb.index`. PostgreSQL: a generated tsvector of the
folded title (weight A) and body (B), in the article's language, with a GIN index.

Revision ID: 0014
Revises: 0013

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CONFIG = "CASE language WHEN 'en' THEN 'english'::regconfig ELSE 'spanish'::regconfig END"


def upgrade() -> None:
    """Create kb_article and its index (FTS5 or tsvector + GIN)."""
    op.create_table(
        "kb_article",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("slug", sa.String(120), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("folded_title", sa.Text(), nullable=False),
        sa.Column("folded_body", sa.Text(), nullable=False),
        sa.Column("source", sa.String(500), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["desk_id"], ["desk.id"], name=op.f("fk_kb_article_desk_id_desk")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article")),
        sa.UniqueConstraint(
            "desk_id", "language", "slug", name=op.f("uq_kb_article_desk_id_language_slug")
        ),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "ALTER TABLE kb_article ADD COLUMN search tsvector GENERATED ALWAYS AS ("
            f"setweight(to_tsvector({_CONFIG}, folded_title), 'A') || "
            f"setweight(to_tsvector({_CONFIG}, folded_body), 'B')) STORED"
        )
        op.execute("CREATE INDEX ix_kb_article_search ON kb_article USING GIN (search)")
    else:
        op.execute(
            "CREATE VIRTUAL TABLE kb_article_fts USING fts5("
            "title, body, tokenize = 'unicode61 remove_diacritics 2')"
        )


def downgrade() -> None:
    """Drop the index and kb_article."""
    if op.get_bind().dialect.name != "postgresql":
        op.execute("DROP TABLE kb_article_fts")
    op.drop_table("kb_article")
