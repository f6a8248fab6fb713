"""An article's Markdown as HTML that is safe to show: raw HTML in the file is not
rendered (markdown-it `html: False`), and the result passes the same nh3 allow-list as
residents' mail."""

from __future__ import annotations

from markdown_it import MarkdownIt

from maildesk.mime.html import sanitise_html

_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table")


def to_html(markdown: str) -> str:
    return sanitise_html(_MARKDOWN.render(markdown))
