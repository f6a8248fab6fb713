"""Articles that may answer a request, found by the database's full-text index.

SQLite matches stems in the FTS5 table ranked by bm25 (title weighs more); PostgreSQL
matches its generated tsvector with `to_tsquery` in the article's language, ranked by
`ts_rank`. Either way the query is any of the request's meaningful words (`terms`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text as sql
from sqlalchemy.orm import Session

from maildesk.kb import articles, terms

_SQLITE = sql(
    "SELECT a.title, a.slug, a.body FROM kb_article_fts f JOIN kb_article a ON a.id = f.rowid"
    " WHERE kb_article_fts MATCH :query AND a.desk_id = :desk AND a.language = :language"
    " ORDER BY bm25(kb_article_fts, 4.0, 1.0), a.id LIMIT :limit"
)
_POSTGRES = sql(
    "SELECT a.title, a.slug, a.body FROM kb_article a,"
    " to_tsquery(CAST(:config AS regconfig), :query) q"
    " WHERE a.desk_id = :desk AND a.language = :language AND a.search @@ q"
    " ORDER BY ts_rank(a.search, q) DESC, a.id LIMIT :limit"
)


@dataclass(frozen=True, slots=True)
class Suggestion:
    title: str
    slug: str
    snippet: str
    url: str


def article_url(base_url: str, language: str, slug: str) -> str:
    return f"{base_url.rstrip('/')}/kb/{language}/{slug}"


def suggest(
    session: Session,
    desk_id: int,
    language: str,
    text: str,
    limit: int = 3,
    *,
    base_url: str = "",
) -> list[Suggestion]:
    """Up to `limit` articles of the desk in `language` for a request's text, best first;
    none when no meaningful word of it is in any article."""
    found = terms.query_words(language, text)
    if not found or language not in terms.LANGUAGES:
        return []
    params: dict[str, object] = {"desk": desk_id, "language": language, "limit": limit}
    if session.get_bind().dialect.name == "postgresql":
        statement = _POSTGRES
        params.update(config=terms.LANGUAGES[language], query=terms.tsquery(found))
    else:
        statement = _SQLITE
        params.update(query=terms.fts5_query(language, found))
    wanted = terms.stems(language, found)
    return [
        Suggestion(
            title=title,
            slug=slug,
            snippet=articles.snippet(body, wanted),
            url=article_url(base_url, language, slug),
        )
        for title, slug, body in session.connection().execute(statement, params)
    ]
