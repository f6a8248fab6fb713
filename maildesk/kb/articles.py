"""An article's file: its title, slug and body, and the file a closed ticket becomes (pure).

An article is a Markdown file; its title is its first `# ` heading (else the file's name),
its slug the file's name, and its body what follows the title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from maildesk.text import fold

SLUG_CHARS = 60
SNIPPET_CHARS = 200

_HEADING = re.compile(r"^#\s+(?P<title>.+?)\s*#*\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKS = re.compile(r"^\s*(?:#{1,6}\s+|[-*+]\s+|\d+[.)]\s+|>\s*)")
_EMPHASIS = re.compile(r"[*_`]+")


@dataclass(frozen=True, slots=True)
class Article:
    """One file as the index keeps it."""

    slug: str
    title: str
    body: str


def slugify(text: str) -> str:
    """Folded words joined by hyphens ("Ascensor de la torre Ñandú" is
    "ascensor-de-la-torre-nandu"), cut at a word within `SLUG_CHARS`."""
    slug = "-".join(re.findall(r"[a-z0-9]+", fold(text)))
    if len(slug) > SLUG_CHARS:
        slug = slug[:SLUG_CHARS].rsplit("-", 1)[0]
    return slug or "articulo"


def parse(name: str, text: str) -> Article:
    """The article in a file named `name` (without `.md`) holding `text`."""
    lines = text.replace("\r\n", "\n").lstrip("\ufeff").split("\n")
    title, start = "", 0
    for index, line in enumerate(lines):
        if not line.strip():
            continue
        match = _HEADING.match(line)
        if match:
            title, start = match.group("title").strip(), index + 1
        break
    body = "\n".join(lines[start:]).strip()
    return Article(slug=slugify(name), title=title or name.replace("-", " ").strip(), body=body)


def from_ticket(number: int, subject: str, text: str) -> tuple[str, str]:
    """(file name, Markdown) of the article a closed ticket becomes: `<number>-<slug>.md`,
    titled by its subject, holding the closing reply."""
    title = " ".join(subject.split()) or str(number)
    return f"{number}-{slugify(title)}.md", f"# {title}\n\n{text.strip()}\n"


def plain(markdown: str) -> list[str]:
    """The paragraphs of a Markdown body as plain text (headings, marks and links undone)."""
    paragraphs: list[str] = []
    for block in re.split(r"\n\s*\n", markdown):
        lines = [
            _EMPHASIS.sub("", _LINK.sub(r"\1", _MARKS.sub("", line))) for line in block.split("\n")
        ]
        text = " ".join(line.strip() for line in lines if line.strip())
        if text:
            paragraphs.append(text)
    return paragraphs


def snippet(body: str, wanted: list[str], limit: int = SNIPPET_CHARS) -> str:
    """The paragraph holding the most wanted words' starts (stems are prefixes; the first
    on a tie, the first paragraph when none has any), cut at a word within `limit`."""
    paragraphs = plain(body)
    if not paragraphs:
        return ""
    stems = {w for w in wanted if len(w) > 2}
    chosen = max(paragraphs, key=lambda p: sum(1 for w in stems if w in fold(p)))
    if len(chosen) <= limit:
        return chosen
    return chosen[:limit].rsplit(" ", 1)[0] + " …"
