"""HTML bodies made safe to show (nh3, Ammonia's allow-list) and read as text (html2text).

What survives sanitising is what a mail needs to look like itself: layout CSS by
property, tables, fonts, `cid:` images, and the quote markers `quotes.py` looks for.
"""

from __future__ import annotations

import html as htmllib

import html2text
import nh3

from maildesk.mime.charsets import clean

_SIDES = ("", "-top", "-right", "-bottom", "-left")
# Inline CSS is kept for layout, by property; values that could load or run
# anything drop the whole attribute (IE's expression(), url(), escapes, comments).
_STYLE_PROPERTIES = frozenset(
    ("color", "background-color", "direction", "white-space", "vertical-align")
    + ("font", "font-family", "font-size", "font-style", "font-weight", "line-height")
    + ("text-align", "text-decoration", "text-indent", "text-transform", "letter-spacing")
    + ("width", "height", "max-width", "min-width", "border-collapse")
    + tuple(f"{box}{side}" for box in ("margin", "padding") for side in _SIDES)
    + tuple(f"border{side}" for side in _SIDES)
    + ("border-color", "border-style", "border-width")
)
_RISKY_STYLE = ("expression", "url(", "javascript", "behavior", "binding", "@import", "\\", "/*")


def _filter_attribute(name: str, value: str) -> str | None:
    if name == "style" and any(marker in value.lower() for marker in _RISKY_STYLE):
        return None
    return value


_HTML_CLEANER = nh3.Cleaner(
    tags=nh3.ALLOWED_TAGS | {"font"},
    clean_content_tags={"script", "style", "title"},
    attributes={
        **nh3.ALLOWED_ATTRIBUTES,
        "*": {"style", "dir", "lang", "title"},
        # Quote markers survive for quotes.py (ids and classes below, nothing else).
        "div": nh3.ALLOWED_ATTRIBUTES.get("div", set()) | {"id"},
        "blockquote": nh3.ALLOWED_ATTRIBUTES.get("blockquote", set()) | {"type"},
        "font": {"color", "face", "size"},
        "table": nh3.ALLOWED_ATTRIBUTES["table"]
        | {"width", "border", "cellpadding", "cellspacing", "bgcolor"},
        "td": nh3.ALLOWED_ATTRIBUTES["td"] | {"width", "height", "bgcolor", "valign"},
        "th": nh3.ALLOWED_ATTRIBUTES["th"] | {"width", "height", "bgcolor", "valign"},
    },
    allowed_classes={
        "div": {
            "gmail_quote",
            "gmail_attr",
            "moz-cite-prefix",
            "moz-forward-container",
            "yahoo_quoted",
        },
        "blockquote": {"gmail_quote"},
    },
    url_schemes=nh3.ALLOWED_URL_SCHEMES | {"cid"},
    filter_style_properties=_STYLE_PROPERTIES,
    attribute_filter=lambda tag, name, value: _filter_attribute(name, value),
)


def sanitise_html(html: str) -> str:
    """Ammonia's allow-list: no script, handler, javascript: URL, iframe or live CSS."""
    return clean(_HTML_CLEANER.clean(html))


def html_to_text(html: str) -> str:
    """Plain text for an HTML-only mail; links stay as [text](url)."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.unicode_snob = True
    converter.wrap_links = False
    return clean(converter.handle(html)).strip()


def strip_tags(html: str) -> str:
    """The HTML's text without any markup: the fallback when html2text fails."""
    return clean(htmllib.unescape(nh3.clean(html, tags=set()))).strip()
