"""Copies the article files into the database and keeps the full-text index in step.

`data_dir/kb/<language>/*.md` is the source: a sync adds new files, updates changed ones
(by SHA-256) and deletes the rows of removed ones, so running it again changes nothing.
SQLite's FTS5 table is written here (stems, `terms.indexed`); PostgreSQL's tsvector is a
generated column and follows the row by itself.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from maildesk.context import Desk
from maildesk.kb import articles, terms
from maildesk.models import KbArticle
from maildesk.text import fold

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Synced:
    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0

    def __str__(self) -> str:
        return (
            f"{self.added} added, {self.updated} updated, {self.removed} removed,"
            f" {self.unchanged} unchanged"
        )


def kb_root(desk: Desk) -> Path:
    return desk.config.data_path / "kb"


def _files(root: Path) -> dict[tuple[str, str], Path]:
    """Every article file by (language, slug); languages without a stemmer are skipped."""
    found: dict[tuple[str, str], Path] = {}
    for language in terms.LANGUAGES:
        folder = root / language
        if folder.is_dir():
            for path in sorted(folder.glob("*.md")):
                found[(language, articles.slugify(path.stem))] = path
    return found


def _fts(session: Session, row: KbArticle, *, remove_only: bool = False) -> None:
    """SQLite's FTS5 row of an article: removed, then (unless removing) written again."""
    if session.get_bind().dialect.name != "sqlite":
        return
    session.execute(text("DELETE FROM kb_article_fts WHERE rowid = :id"), {"id": row.id})
    if not remove_only:
        session.execute(
            text("INSERT INTO kb_article_fts (rowid, title, body) VALUES (:id, :title, :body)"),
            {
                "id": row.id,
                "title": terms.indexed(row.language, row.title),
                "body": terms.indexed(row.language, row.body),
            },
        )


def sync(session: Session, desk_id: int, root: Path, *, now: datetime) -> Synced:
    """Make the desk's rows and index what the files under `root` say, in the caller's
    transaction; a file that cannot be read as UTF-8 is logged and left out."""
    rows = {
        (r.language, r.slug): r
        for r in session.scalars(select(KbArticle).where(KbArticle.desk_id == desk_id))
    }
    added = updated = unchanged = 0
    seen: set[tuple[str, str]] = set()
    for (language, slug), path in _files(root).items():
        raw = path.read_bytes()
        try:
            article = articles.parse(path.stem, raw.decode("utf-8"))
        except UnicodeDecodeError:
            log.warning("%s: not UTF-8; left out of the knowledge base", path)
            continue
        seen.add((language, slug))
        digest = hashlib.sha256(raw).hexdigest()
        row = rows.get((language, slug))
        if row is not None and row.sha256 == digest:
            unchanged += 1
            continue
        if row is None:
            row = KbArticle(desk_id=desk_id, language=language, slug=slug)
            session.add(row)
            added += 1
        else:
            updated += 1
        row.title, row.body = article.title, article.body
        row.folded_title, row.folded_body = fold(article.title), fold(article.body)
        row.source = str(path.relative_to(root.parent))
        row.sha256, row.updated_at = digest, now
        session.flush()
        _fts(session, row)
    gone = [row for key, row in rows.items() if key not in seen]
    for row in gone:
        _fts(session, row, remove_only=True)
    if gone:
        session.execute(delete(KbArticle).where(KbArticle.id.in_([r.id for r in gone])))
    return Synced(added, updated, len(gone), unchanged)


def sync_desk(desk: Desk) -> Synced:
    """One desk's sync in a transaction of its own (`maildesk run` start, `kb sync`)."""
    with desk.db.transaction() as session:
        done = sync(session, desk.desk_id, kb_root(desk), now=desk.clock.now())
    log.info("%s: knowledge base: %s", desk.slug, done)
    return done
