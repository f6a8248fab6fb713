"""`/kb/<language>/<slug>`: one knowledge-base article, as the suggestions link to it.

Articles are public help (the building's rules, forms and procedures): no token is
needed. The Markdown is rendered without raw HTML and sanitised (`kb.render`).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask.typing import ResponseReturnValue
from markupsafe import Markup
from sqlalchemy import select

from maildesk.kb.render import to_html
from maildesk.models import KbArticle
from maildesk.web import desk_of_app

bp = Blueprint("kb", __name__)


@bp.get("/kb/<language>/<slug>")
def article(language: str, slug: str) -> ResponseReturnValue:
    desk = desk_of_app()
    with desk.db.read_only() as session:
        found = session.scalars(
            select(KbArticle).where(
                KbArticle.desk_id == desk.desk_id,
                KbArticle.language == language,
                KbArticle.slug == slug,
            )
        ).first()
    if found is None:
        abort(404)
    # Sanitised by nh3 (kb.render); the title is escaped like any text.
    body = Markup(to_html(found.body))
    return render_template(
        "kb_article.html.j2", article=found, body=body, article_language=language
    )
