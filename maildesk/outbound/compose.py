"""Jinja2 templates -> an `EmailMessage` with every threading header (pure).

Every mail we send is built here, so every one carries the ticket tag, a signed
Message-ID, In-Reply-To/References to the mail it answers, a signed Reply-To,
the loop marker and, for automatic mail, `Auto-Submitted: auto-replied`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, getaddresses
from functools import cache
from importlib.resources import files
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context

from maildesk import labels
from maildesk.domain import Attachment
from maildesk.inbound.commands import explain
from maildesk.inbound.rules import LOOP_HEADER
from maildesk.mime.charsets import decode_words

MAX_REFERENCES = 20
_DECODE_ROUNDS = 4
_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


class HeaderInjection(ValueError):
    """A header would have written a line of its own: the mail is refused, never sent."""


def header_value(value: str) -> str:
    """`value` as the one line of text a reader will see in the header.

    The stdlib decodes encoded words in what we assign and, before CPython 3.11.10
    (CVE-2024-6923), writes the CR/LF they hold raw. So the words are decoded here
    (again, while a decode still changes the text) and every control character goes.
    """
    for _ in range(_DECODE_ROUNDS):
        decoded = decode_words(value, [], "header").strip()
        if decoded == value:
            return value
        value = decoded
    return value.replace("=?", "= ?")  # still encoded after all rounds: no longer a word


def transfer_encoding(text: str) -> str | None:
    """The shorter of base64 and quoted-printable for a text with lines too long for 8bit.

    None (the stdlib's choice) for texts whose lines all fit. The stdlib itself judges by
    the first ten lines only: a notice whose header lines are ASCII and whose resident's
    text is Spanish would be sent quoted-printable, six bytes for every "ñ".
    """
    if all(len(line) <= 78 for line in text.splitlines()):
        return None
    data = text.encode("utf-8")
    high = len(data) - len(data.decode("ascii", "ignore"))
    return "base64" if 3 * high + (len(data) - high) > len(data) * 4 / 3 else "quoted-printable"


def put_header(msg: EmailMessage, name: str, value: str) -> None:
    """The one way a text header is set on a mail we build: its value made one line."""
    msg[name] = header_value(value)


def refuse_injection(folded: str, name: str, linesep: str) -> str:
    """`folded` unchanged when each of its lines continues the header `name`, else refused.

    The last guard: whatever a value held, a mail whose header starts a new header
    line, or holds a bare CR, LF or NUL, never leaves the desk.
    """
    lines = folded.split(linesep)
    if lines[-1] != "" or any(ch in line for line in lines for ch in "\r\n\x00"):
        raise HeaderInjection(f"header {name} holds a line break or NUL: {folded[:200]!r}")
    if any(not line.startswith((" ", "\t")) for line in lines[1:-1]):
        raise HeaderInjection(f"header {name} would start another header: {folded[:200]!r}")
    return folded


def unfold_name(folded: str, name: str, *, linesep: str, max_line_length: int) -> str:
    """`folded` with the value starting on the header's own line.

    CPython folds a value that fits on a line of its own onto the next line,
    leaving `Subject:` alone; a reader that keeps folding whitespace (Python's
    own parser among them) then sees the subject begin with a space. Here the
    break moves to the last space that keeps the first line within the limit.
    """
    head = f"{name}:{linesep} "
    if not folded.startswith(head):
        return folded
    first, _, rest = folded[len(head) :].partition(linesep)
    line = f"{name}: {first}"
    cut = line.rfind(" ", len(name) + 2, max_line_length + 1)
    if len(line) > max_line_length and cut > 0:
        line = line[:cut] + linesep + line[cut:]
    return line + linesep + rest


class MailPolicy(EmailPolicy):
    """`email.policy.SMTP` whose headers never start on the line after their name."""

    def fold(self, name: str, value: str) -> str:
        folded = unfold_name(
            super().fold(name, value),
            name,
            linesep=self.linesep,
            max_line_length=self.max_line_length or 78,
        )
        return refuse_injection(folded, name, self.linesep)

    def fold_binary(self, name: str, value: str) -> bytes:
        folded = super().fold_binary(name, value).decode("ascii", "surrogateescape")
        unfolded = unfold_name(
            folded, name, linesep=self.linesep, max_line_length=self.max_line_length or 78
        )
        return refuse_injection(unfolded, name, self.linesep).encode("ascii", "surrogateescape")


class _HeaderClasses(HeaderRegistry):
    """The stdlib's registry, making each header's class once instead of on every use.

    `HeaderRegistry` builds a fresh class with `type()` each time a header is set or
    read (some forty times for one mail); the class depends only on the header's name.
    """

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


POLICY = MailPolicy(linesep="\r\n", header_factory=_HeaderClasses())  # `email.policy.SMTP`


def _in_language(word: Callable[[str, str], str]) -> Callable[[Context, object], str]:
    """A filter that words a stored name in the template's `language` (Spanish by default)."""

    @pass_context
    def label(context: Context, name: object) -> str:
        return word(str(name), str(context.get("language", labels.LANGUAGES[0])))

    return label


# Stored names as people read them: `{{ priority | priority_label }}`. Mails and the
# status page register the same filters, so both say the same words.
FILTERS: Mapping[str, Callable[[Context, object], str]] = {
    "state_label": _in_language(labels.state_label),
    "priority_label": _in_language(labels.priority_label),
    "category_label": _in_language(labels.category_label),
    "team_label": _in_language(labels.team_label),
    "unit_label": _in_language(labels.unit_label),
    "relation_label": _in_language(labels.relation_label),
    "event_label": _in_language(labels.event_label),
}


@pass_context
def problem_detail(context: Context, detail: object) -> str:
    """What was wrong with a staff command, worded in the template's language."""
    return explain(detail, str(context.get("language", labels.LANGUAGES[0])))


@cache
def environment(overrides: str = "") -> Environment:
    """The template environment, loaded from the installed `templates/` folder; a desk's
    `overrides` folder (same layout, `es/confirmation.txt.j2`) is searched first."""
    root = str(files("maildesk.mail_templates"))
    env = Environment(
        loader=FileSystemLoader([overrides, root] if overrides else root),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters.update(FILTERS, problem_detail=problem_detail)
    return env


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(
    kind: str,
    language: str,
    context: Mapping[str, Any],
    linked_files: Sequence[Any] = (),
    *,
    overrides: str = "",
) -> Rendered:
    """Render the subject, text and HTML templates of one kind of mail.

    `linked_files` (files too large to attach) are listed after the text, with links;
    `overrides` is the desk's own template folder, searched first.
    """
    env = environment(overrides)
    subject = env.get_template(f"{language}/{kind}.subject.j2").render(context)
    text = env.get_template(f"{language}/{kind}.txt.j2").render(context)
    if linked_files:
        listed = env.get_template(f"{language}/_linked_files.txt.j2")
        text = text.rstrip("\n") + "\n" + listed.render(linked_files=linked_files)
    html = env.get_template(f"{language}/{kind}.html.j2").render({**context, "text_body": text})
    return Rendered(" ".join(subject.split()), text, html)


def address(value: str, name: str = "") -> Address:
    """An address header value whose name reads back as a name, never as an address.

    The name is made one line of text like any header value. CPython (3.11 at least)
    folds a long quoted name without its quotes, so a name holding `<ana@desk>` or
    a comma would become addresses of their own; such a name loses its specials.
    """
    local, _, domain = header_value(value).rpartition("@")
    shown = Address(display_name=header_value(name), username=local, domain=domain)
    if not shown.display_name or _reads_back(shown):
        return shown
    plain = " ".join(_SPECIALS.sub(" ", shown.display_name).split())
    return Address(display_name=plain, username=local, domain=domain)


def _reads_back(shown: Address) -> bool:
    """Whether `shown`, folded as we send it, is read as that one address again."""
    _, header = POLICY.header_store_parse("To", shown)
    folded = POLICY.fold("To", header).partition(":")[2]
    return [a for _, a in getaddresses([folded])] == [shown.addr_spec]


def build(
    rendered: Rendered,
    *,
    from_name: str,
    from_addr: str,
    to: str,
    to_name: str = "",
    message_id: str,
    date: datetime,
    loop_marker: str,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    automatic: bool = False,
    attachments: Sequence[Attachment] = (),
    extra_headers: Mapping[str, str] | None = None,
) -> EmailMessage:
    """Assemble the mail; the same inputs always give the same bytes."""
    msg = EmailMessage(policy=POLICY)
    msg["From"] = address(from_addr, from_name)
    msg["To"] = address(to, to_name)
    put_header(msg, "Subject", rendered.subject)
    put_header(msg, "Date", format_datetime(date))
    put_header(msg, "Message-ID", message_id)
    if reply_to:
        msg["Reply-To"] = address(reply_to, from_name)
    chain = [r for r in references if r]
    if in_reply_to:
        put_header(msg, "In-Reply-To", in_reply_to)
        if in_reply_to not in chain:
            chain.append(in_reply_to)
    if chain:
        # Keep the first (thread root) and the newest ones, as RFC 5322 suggests.
        if len(chain) > MAX_REFERENCES:
            chain = chain[:1] + chain[-(MAX_REFERENCES - 1) :]
        put_header(msg, "References", " ".join(chain))
    if automatic:
        put_header(msg, "Auto-Submitted", "auto-replied")
        put_header(msg, "X-Auto-Response-Suppress", "All")
    put_header(msg, LOOP_HEADER, loop_marker)
    for name, value in (extra_headers or {}).items():
        put_header(msg, name, value)
    msg.set_content(rendered.text, charset="utf-8", cte=transfer_encoding(rendered.text))
    msg.add_alternative(
        rendered.html, subtype="html", charset="utf-8", cte=transfer_encoding(rendered.html)
    )
    html = msg.get_body(("html",))
    assert html is not None
    for item in attachments:
        maintype, _, subtype = item.content_type.partition("/")
        if item.inline and item.content_id and f"cid:{item.content_id}" in rendered.html:
            # Our HTML shows it (`cid:`): it belongs beside the HTML (multipart/related).
            # A resident's inline image passed on to staff stays an attachment.
            html.add_related(
                item.data,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                cid=f"<{item.content_id}>",
                filename=item.filename,
                disposition="inline",
            )
            continue
        msg.add_attachment(
            item.data,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return msg
