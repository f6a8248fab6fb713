"""Keep only what the writer wrote in a reply: strip quoted history, signatures, mobile footers.

`strip_reply(text, html)` is the whole interface. Staff answer tickets and residents
reply from their own mail clients; only the new text goes to the ticket and on to
the other side. The rules, in order:

1. The quoted history starts at the first quote header, and everything from it on
   goes: an attribution line ("El lun, 23 nov 2026 a las 10:15, Ana (<ana@x.cl>)
   escribió:", "On ... wrote:", Apple's and Thunderbird's forms, also Portuguese,
   French, German, Italian and Dutch; Gmail wraps it over two or three lines), an
   Outlook block ("De:/Enviado:/Para:/Asunto:", "From:/Sent:/To:/Subject:", with
   "Fecha:"/"Date:", "CC:", behind a line of underscores or not), a
   "-----Mensaje original-----" / "-----Original Message-----" line, or, with no
   header at all, a block of ">" lines that ends the mail. An attribution counts
   only with a date or time in it and one more sign: an address, ">" lines right
   after it, or quote markup in the HTML part (that is what the HTML confirms when
   there is text). So "El técnico escribió:" or "... me escribió: que no hay agua"
   in the writer's own text never cuts.
2. A forward is not a reply. Its marker ("---------- Forwarded message ---------",
   "----- Mensaje reenviado -----", "Inicio del mensaje reenviado:", ...) is a cut
   like any quote header by default: staff forwarding a mail into a ticket add only
   what they wrote. With `keep_forwarded=True` (a resident forwarding a mail to the
   desk: the forwarded mail *is* the request) the marker, the forwarded headers and
   content stay, after the writer's own cleaned text. An Outlook forward looks like
   an Outlook reply in the body ("De:/Enviado:/Para:/Asunto:"), so it is cut either way.
3. In what remains: everything from a signature delimiter ("-- ", RFC 3676, or
   "--") on goes, and so do mobile footers at the end ("Enviado desde mi iPhone",
   "Obtener Outlook para iOS", "Sent from Mail for Windows", ...). Closings such as
   "Saludos, Ana" stay: nothing tells them from the writer's text, and they can
   carry meaning. Signatures without a delimiter (Outlook's, Apple Mail's) stay too.
4. Leading and trailing blank lines go; inside, nothing is touched: line breaks,
   accents, emoji and the `#` command lines at the top stay as written.
5. Never everything: a reply written under or between the quotes (bottom-posting,
   inline answers) gives the unquoted lines below the header, one block per answer.
   When nothing new is left at all, the text comes back whole, only trimmed.

When there is no plain text but HTML, the reply part is found in the markup first
(Gmail `div.gmail_quote`, Outlook `div#appendonsend`, `div#divRplyFwdMsg` and the
`<hr>` or `border-top` block before a "De:/From:" line, Apple and Thunderbird
`blockquote type="cite"`, `div.moz-cite-prefix`, Yahoo `div.yahoo_quoted`), turned
into text with `maildesk.mime.html.sanitise_html` and `html_to_text` (each `<div>` a line,
as these clients mean it), and the text rules run on that. `ParsedMail.html` is
already sanitised and has lost those classes and ids: on it only the `<hr>` and
`border-top` markers work, and the text rules catch the rest (html2text writes a
blockquote as ">" lines and keeps the attribution). For a mail with no text part,
pass `text=""`: `ParsedMail.text` is then html2text's own rendering, a paragraph
per `<div>`, and the result would keep those blank lines. Text sent as
format=flowed is taken as stored: its soft line breaks stay.

Why not mail-parser-reply (PyPI `mail-parser-reply` 1.36, MIT): run in place of this
module against tests/unit/test_quotes.py as first written, it passed 76 of 193. It misses Spanish
attributions as Gmail and Thunderbird write them (its pattern wants two spaces
before "escribió:"), Gmail's wrapped ones, "-----Mensaje original-----", forwards
and "Enviado desde Outlook para Android"; it cuts the writer's text at "Saludos,"
and at any line starting "- " (a list), drops a whole mail that starts "Aviso:"
and mentions mail (a "disclaimer"), cuts at "On Monday the plumber wrote:", strips
every line's indentation, and never reads the HTML. Its cuts cannot be undone from
outside, and our rules for what it misses would be most of this module, so it is
not used.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from maildesk.domain import ParsedMail
from maildesk.mime.html import html_to_text, sanitise_html

_SIGNATURE_LINES = 8  # a signature longer than this is a letter, not a signature

__all__ = ["strip_reply"]

# --- text markers ------------------------------------------------------------

_QUOTE_PREFIX = re.compile(r"^[ \t]?(?:>(?![\d=])[ \t]?)+")
# A line is quoted when it starts with ">" not read as a comparison (">30", ">=").
_QUOTED = re.compile(r"^[ \t]?>(?![\d=])")
_BLANK = re.compile(r"^\s*$")

# Attribution lines: the opening word and the verb of one language, on one line
# (or Gmail's two or three wrapped lines, joined with a space before matching).
_ATTRIBUTION = re.compile(
    r"^(?:El\s.+\sescribió"
    r"|On\s.+\swrote"
    r"|(?:Em|No dia)\s.+\sescreveu"
    r"|Le\s.+\sa\s+écrit"
    r"|Am\s.+\sschrieb\s.+"
    r"|Il\s.+\sha\s+scritto"
    r"|Op\s.+\sschreef\s.+"
    r")\s?:\s*$"
)
_TIME_OR_DATE = re.compile(r"\b\d{1,2}[:.h]\d{2}\b|\b\d{1,4}[/.-]\d{1,2}[/.-]\d{2,4}\b")
_ADDRESS = re.compile(r"[^\s<>()\[\]]+@[^\s<>()\[\]]+\.[^\s<>()\[\]]+")
_SENTENCE_END = re.compile(r"[.!?]\s*$")
_MAX_ATTRIBUTION = 300

_ORIGINAL_MESSAGE = re.compile(
    r"^\s*\\?-{2,}\s*(?:Original Message|Mensaje original|Mensagem original"
    r"|Message d'origine|Urspr[üu]ngliche Nachricht|Messaggio originale"
    r"|Oorspronkelijk bericht)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^\s*(?:\\?-{2,}\s*(?:Forwarded message|Mensaje reenviado|Mensagem encaminhada"
    r"|Mensagem reencaminhada|Message transféré|Weitergeleitete Nachricht"
    r"|Messaggio inoltrato|Doorgestuurd bericht)\s*-{2,}"
    r"|(?:Begin forwarded message|Inicio del mensaje reenviado|Comienzo del mensaje reenviado"
    r"|Início da mensagem reencaminhada|Début du message réexpédié"
    r"|Anfang der weitergeleiteten Nachricht)\s*:)\s*$",
    re.IGNORECASE,
)

# Outlook's header block, one label a line; "**De:**" is html2text's rendering.
_LABELS = {
    "from": r"De|From|Von|Da|Van|Expéditeur|Remitente",
    "date": r"Enviado el|Enviado|Enviada|Sent|Date|Fecha|Data|Datum|Gesendet|Envoyé le"
    r"|Envoyé|Inviato|Verzonden",
    "to": r"Para|To|An|À|A|Aan|Destinatario|Destinatarios",
    "cc": r"CC|CCO|Copia|Kopie",
    "subject": r"Asunto|Subject|Betreff|Objet|Assunto|Oggetto|Onderwerp",
}
_LABEL = re.compile(
    r"^[ \t]*\**[ \t]*(?:"
    + "|".join(f"(?P<{group}>{words})" for group, words in _LABELS.items())
    + r")[ \t]*\**[ \t]*:(?:[ \t]|\*|$)",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^[ \t]*(?:(?:\\?_){5,}|-{5,}|\* \* \*|—{5,})[ \t]*$")
_MAX_CONTINUATION = 3

_SIGNATURE = re.compile(r"^\\?--[ \t]*$")
_FOOTER = re.compile(
    r"^(?:(?:enviado|enviada|sent|envoyé|gesendet|inviato|verzonden|skickat|sendt)\s+"
    r"(?:desde|from|de|depuis|do|da|von|vanaf|via|vía|con|with|using|mit|från|fra)\s.{1,110}"
    r"|(?:obtener|obtén|descargar|descarga|get|download|baixe|télécharger)\s+outlook\s+"
    r"(?:para|for|pour|für)\s+\w+"
    r"|von meinem\s.{1,40}\sgesendet)$",
    re.IGNORECASE,
)
_DEVICE = re.compile(
    r"iphone|ipad|ipod|android|outlook|windows|samsung|galaxy|huawei|xiaomi|redmi|motorola"
    r"|blackberry|m[óo]vil|celular|tel[ée]fono|smartphone|tablet|dispositivo|device|phone"
    r"|mobile|yahoo|gmail|\baol\b|proton|spark|thunderbird|k-9|\bmac\b"
    r"|pixel|nokia|\bhonor\b|oppo|bluemail",
    re.IGNORECASE,
)
_FOOTER_LINES = 3  # a footer soft-wrapped by format=flowed spans at most this
_LINK = re.compile(r"<https?://[^>\s]*>|\(https?://[^)\s]*\)|\[|\]")

# --- HTML markers ------------------------------------------------------------

_VOID = frozenset(
    ("area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param")
    + ("source", "track", "wbr")
)
_CONTAINER_CLASSES = ("gmail_quote", "gmail_attr", "moz-cite-prefix", "moz-forward-container")
_FROM_TEXT = re.compile(r"^\W*(?:" + _LABELS["from"] + r")\W*:", re.IGNORECASE)
_TAG = re.compile(r"<[^>]*>")
_BORDER_TOP = re.compile(r"border-top\s*:\s*solid", re.IGNORECASE)
_TOKEN = re.compile(r"<(/?)\s*([a-zA-Z][a-zA-Z0-9]*)[^>]*>|<[^>]*>|[^<]+")
_LINE_BLOCKS = frozenset({"div"})
_OTHER_BLOCKS = frozenset(
    ("p", "blockquote", "pre", "hr", "ul", "ol", "li", "dl", "dt", "dd")
    + ("table", "thead", "tbody", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6")
)
_LOOKAHEAD = 600


def strip_reply(text: str, html: str = "", *, keep_forwarded: bool = False) -> str:
    """The new text of a reply: no quoted history, signature or mobile footer.

    `text` is the plain text part; `html` the HTML part (as sent, or sanitised),
    used to find the reply when there is no text and to confirm a cut when there
    is. `keep_forwarded` keeps a forwarded mail (a resident's request) instead of
    cutting it like quoted history. See the module docstring for the rules.
    """
    if text.strip():
        lines = _split(text)
        new = _new_text(lines, keep_forwarded=keep_forwarded, confirmed=_has_quote_markup(html))
        return new if new else _join(lines)
    if html.strip():
        return _strip_html(html, keep_forwarded=keep_forwarded)
    return ""


# --- text --------------------------------------------------------------------


@dataclass(frozen=True)
class _Cut:
    """Where the quoted history starts, and where its header ends."""

    start: int
    body: int
    forward: bool = False


def reply_text(
    mail: ParsedMail, *, keep_forwarded: bool = False, signer_names: Sequence[str] = ()
) -> str:
    """The new words of a received reply, whether the mail had a plain part or only HTML.

    `signer_names` (the writer's known names) also cut a trailing signature that
    starts with one of them: Outlook and Apple Mail put no "-- " line before theirs.
    """
    text = strip_reply(
        "" if mail.text_from_html else mail.text, mail.html, keep_forwarded=keep_forwarded
    )
    return strip_named_signature(text, signer_names)


def strip_named_signature(text: str, names: Sequence[str]) -> str:
    """Cut the last lines from a line that is just the writer's name, after a break."""
    wanted = {n.strip().casefold() for n in names if n.strip()}
    lines = text.rstrip().split("\n")
    for i in range(len(lines) - 1, max(len(lines) - _SIGNATURE_LINES, 1) - 1, -1):
        before = lines[i - 1].strip()
        if lines[i].strip().casefold() in wanted and (not before or before.endswith(",")):
            return "\n".join(lines[:i]).rstrip()
    return text


def _new_text(lines: list[str], *, keep_forwarded: bool, confirmed: bool) -> str:
    """The writer's text in `lines`, or "" when nothing new is there."""
    cut = _find_cut(lines, confirmed=confirmed)
    if cut is None:
        return _join(_tidy(lines))
    head = _tidy(lines[: cut.start])
    if cut.forward and keep_forwarded:
        forwarded = _trim(lines[cut.start :])
        return "\n\n".join(part for part in (_join(head), _join(forwarded)) if part)
    below = _answers_below(lines[cut.body :])
    parts = [_join(head)] + [_join(_tidy(block)) for block in below]
    return "\n\n".join(part for part in parts if part)


def _find_cut(lines: list[str], *, confirmed: bool) -> _Cut | None:
    for i, line in enumerate(lines):
        bare, quoted = _unquote(line), bool(_QUOTED.match(line))
        if _FORWARD.match(bare):
            start = _block_start(lines, i) if quoted else i
            return _Cut(start, i + 1, forward=True)
        if quoted:
            end = _attribution_end(lines, i, quoted=True, confirmed=True)
            if end is not None:
                return _Cut(_block_start(lines, i), end)
            continue
        if _ORIGINAL_MESSAGE.match(line):
            return _Cut(i, i + 1)
        end = _attribution_end(lines, i, quoted=False, confirmed=confirmed)
        if end is not None:
            return _Cut(i, end)
        end = _outlook_block_end(lines, i)
        if end is not None:
            return _Cut(_separator_above(lines, i), end)
    return _trailing_quote(lines)


def _attribution_end(lines: list[str], i: int, *, quoted: bool, confirmed: bool) -> int | None:
    """The line after the attribution header starting at line i, if one does."""
    if _SENTENCE_END.search(lines[i]) and not lines[i].rstrip().endswith(":"):
        return None
    for size in (1, 2, 3):
        window = lines[i : i + size]
        if len(window) < size or any(
            _BLANK.match(w) or bool(_QUOTED.match(w)) != quoted for w in window
        ):
            return None
        joined = " ".join(_unquote(w).strip() for w in window)
        if len(joined) > _MAX_ATTRIBUTION:
            return None
        if not _ATTRIBUTION.match(joined):
            continue
        # A shorter header ending on the same line, starting lower, is the real one.
        if any(
            _ATTRIBUTION.match(" ".join(_unquote(w).strip() for w in window[k:]))
            for k in range(1, size)
        ):
            return None
        if not _TIME_OR_DATE.search(joined):
            return None
        end = i + size
        if quoted or confirmed or _ADDRESS.search(joined) or _quoted_next(lines, end):
            return end
        return None
    return None


def _outlook_block_end(lines: list[str], i: int) -> int | None:
    """The line after an Outlook header block starting at line i ("De:" first), if one does."""
    first = _LABEL.match(lines[i])
    if first is None or first.lastgroup != "from":
        return None
    seen = {"from"}
    continuation = 0
    j = i + 1
    while j < len(lines) and not _BLANK.match(lines[j]):
        match = _LABEL.match(lines[j])
        if match is not None and match.lastgroup is not None:
            seen.add(match.lastgroup)
        elif continuation < _MAX_CONTINUATION and len(seen) > 1:
            continuation += 1  # a wrapped "Para:" list or subject
        else:
            break
        j += 1
    if "date" in seen and seen & {"to", "subject"}:
        return j
    return None


def _separator_above(lines: list[str], i: int) -> int:
    """Outlook's line of underscores (or html2text's "* * *") right above a header block."""
    j = i - 1
    if j >= 0 and _BLANK.match(lines[j]):
        j -= 1
    return j if j >= 0 and _SEPARATOR.match(lines[j]) else i


def _trailing_quote(lines: list[str]) -> _Cut | None:
    """A block of ">" lines ending the text, with no header above it."""
    end = len(lines)
    while end and _BLANK.match(lines[end - 1]):
        end -= 1
    if not end or not _QUOTED.match(lines[end - 1]):
        return None
    start = end
    while start and (_QUOTED.match(lines[start - 1]) or _BLANK.match(lines[start - 1])):
        start -= 1
    while _BLANK.match(lines[start]):
        start += 1
    return _Cut(start, start)


def _answers_below(region: list[str]) -> list[list[str]]:
    """Unquoted blocks among ">" lines: answers written under or between the quotes."""
    first = next((line for line in region if not _BLANK.match(line)), None)
    if first is None or not _QUOTED.match(first):
        return []  # the quoted mail is not ">"-quoted (Outlook): nothing below is new
    blocks: list[list[str]] = [[]]
    for line in region:
        if _QUOTED.match(line):
            if blocks[-1]:
                blocks.append([])
        else:
            blocks[-1].append(line)
    return [block for block in (_trim(b) for b in blocks) if block]


def _tidy(lines: list[str]) -> list[str]:
    """Drop the signature and trailing mobile footers, then the blank edges."""
    lines = _trim(lines)
    while True:
        signature = next((n for n, line in enumerate(lines) if _SIGNATURE.match(line)), None)
        if signature is not None:
            lines = _trim(lines[:signature])
            continue
        footer = _footer_start(lines)
        if footer is None:
            return lines
        lines = _trim(lines[:footer])


def _footer_start(lines: list[str]) -> int | None:
    """Where a mobile footer ending the text starts (format=flowed may have wrapped it)."""
    if not lines:
        return None
    start = len(lines) - 1
    while (
        start > max(len(lines) - _FOOTER_LINES, 0)
        and lines[start - 1].endswith(" ")
        and not _BLANK.match(lines[start - 1])
    ):
        start -= 1
    for first in range(start, len(lines)):
        candidate = " ".join(_LINK.sub("", line).strip() for line in lines[first:]).strip()
        if _FOOTER.match(candidate) and _DEVICE.search(candidate):
            return first
    return None


def _quoted_next(lines: list[str], j: int) -> bool:
    while j < len(lines) and _BLANK.match(lines[j]):
        j += 1
    return j < len(lines) and bool(_QUOTED.match(lines[j]))


def _block_start(lines: list[str], i: int) -> int:
    while i and _QUOTED.match(lines[i - 1]):
        i -= 1
    return i


def _unquote(line: str) -> str:
    return _QUOTE_PREFIX.sub("", line, count=1) if _QUOTED.match(line) else line


def _split(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def _trim(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and _BLANK.match(lines[start]):
        start += 1
    while end > start and _BLANK.match(lines[end - 1]):
        end -= 1
    return lines[start:end]


def _join(lines: list[str]) -> str:
    return "\n".join(_trim(lines))


# --- HTML --------------------------------------------------------------------


@dataclass(frozen=True)
class _Mark:
    """Quoted markup: [start, end) of the source; `end` is the end of the HTML for Outlook."""

    start: int
    end: int
    forward: bool


def _strip_html(html: str, *, keep_forwarded: bool) -> str:
    marks = [m for m in _quote_marks(html) if not (keep_forwarded and m.forward)]
    if marks:
        above = _split(_html_text(html[: marks[0].start]))
        new = _new_text(above, keep_forwarded=keep_forwarded, confirmed=True)
        if new:
            return new
        outside = "".join(html[a.end : b.start] for a, b in zip(marks, marks[1:], strict=False))
        rest = html[: marks[0].start] + outside + html[marks[-1].end :]
        new = _new_text(_split(_html_text(rest)), keep_forwarded=keep_forwarded, confirmed=True)
        if new:
            return new
    whole = _split(_html_text(html))
    confirmed = bool(marks) or _has_quote_markup(html)
    return _new_text(whole, keep_forwarded=keep_forwarded, confirmed=confirmed) or _join(whole)


def _html_text(html: str) -> str:
    """The text of an HTML fragment as parse.py makes it, each `<div>` one line."""
    text = html_to_text(_div_lines(sanitise_html(html)))
    lines = [line.rstrip() for line in _split(text)]  # html2text's "  " hard breaks
    kept = [line for n, line in enumerate(lines) if line or n == 0 or lines[n - 1]]
    return "\n".join(kept)


def _div_lines(html: str) -> str:
    """Each `<div>` a line, as Gmail, Outlook and Apple Mail write lines (html2text
    would make each a paragraph); an empty `<div><br></div>` stays one empty line."""
    out: list[str] = []
    filled = False  # text since the last line break
    for token in _TOKEN.finditer(html):
        piece, name = token.group(0), (token.group(2) or "").lower()
        if name in _LINE_BLOCKS:
            if filled:
                out.append("<br>")
            filled = False
            continue
        out.append(piece)
        if name == "br" or name in _OTHER_BLOCKS:
            filled = False
        elif name == "img" or (not piece.startswith("<") and piece.strip()):
            filled = True
    return "".join(out)


def _has_quote_markup(html: str) -> bool:
    return bool(html) and ("<blockquote" in html.lower() or bool(_quote_marks(html)))


def _quote_marks(html: str) -> list[_Mark]:
    finder = _MarkFinder(html)
    try:
        finder.feed(html)
        finder.close()
    except Exception:  # noqa: BLE001 - a page html.parser cannot read has no marks we trust
        return []
    return sorted(finder.marks, key=lambda m: m.start)


class _MarkFinder(HTMLParser):
    """Finds the outermost quoted elements of a reply's HTML, with their source offsets."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.html = html
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", html)]
        self.stack: list[tuple[str, int, bool]] = []  # tag, start, is a quote container
        self.inside = 0
        self.marks: list[_Mark] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        values = {name: value or "" for name, value in attrs}
        container = self._is_container(tag, values)
        if not self.inside:
            if container:
                pass  # recorded when it closes
            elif self._starts_outlook_block(tag, values, start):
                self.marks.append(_Mark(start, len(self.html), forward=False))
        if tag in _VOID:
            return
        self.stack.append((tag, start, container))
        self.inside += container

    def handle_endtag(self, tag: str) -> None:
        names = [name for name, _, _ in self.stack]
        if tag not in names:
            return
        end = self.html.find(">", self._offset()) + 1 or len(self.html)
        while self.stack:
            name, start, container = self.stack.pop()
            if container:
                self.inside -= 1
                if not self.inside:
                    self._record(start, end)
            if name == tag:
                return

    def close(self) -> None:
        super().close()
        while self.stack:
            _, start, container = self.stack.pop()
            if container:
                self.inside -= 1
                if not self.inside:
                    self._record(start, len(self.html))

    def _record(self, start: int, end: int) -> None:
        if any(m.start <= start < m.end for m in self.marks):
            return  # already inside an Outlook block that runs to the end
        first = next(
            (line for line in _split(_html_text(self.html[start:end])) if line.strip()), ""
        )
        self.marks.append(_Mark(start, end, forward=bool(_FORWARD.match(_unquote(first)))))

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    @staticmethod
    def _is_container(tag: str, values: dict[str, str]) -> bool:
        classes = values.get("class", "").split()
        if tag == "blockquote" and (values.get("type", "").lower() == "cite"):
            return True
        if tag in ("div", "blockquote") and any(c in _CONTAINER_CLASSES for c in classes):
            return True
        return tag == "div" and any("yahoo_quoted" in c for c in classes)

    def _starts_outlook_block(self, tag: str, values: dict[str, str], start: int) -> bool:
        if tag == "div" and values.get("id", "") in ("divRplyFwdMsg", "appendonsend"):
            return True
        if tag == "hr" or (tag in ("div", "p") and _BORDER_TOP.search(values.get("style", ""))):
            after = self.html.find(">", start) + 1
            following = htmllib.unescape(_TAG.sub(" ", self.html[after : after + _LOOKAHEAD]))
            return bool(_FROM_TEXT.match(following.strip()))
        return False
