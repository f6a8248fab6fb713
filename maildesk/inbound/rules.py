"""Loop prevention: decide what kind of mail this is before anyone answers it.

The rules are data: `RULES` is an ordered tuple of small named predicates, each
taking `(mail, ctx)` and returning a `Verdict` or None; the first verdict wins
and a mail no rule claims is a normal mail we may answer. Order matters where
signals overlap: our own mail is caught before anything else (it must never be
processed again), and a delivery report is caught before the generic
auto-reply headers it often carries too.

We never answer a robot (product.md, "What must never happen"): bounces,
auto-replies and list mail still reach their ticket (`process=True`) so nothing
is lost, but with `may_autoreply=False`. Only our own mail coming back is set
aside (`process=False`). Size is not a rule: a huge mail still becomes a ticket
with what could be read, which is the parser's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from maildesk import signing
from maildesk.domain import MailKind, ParsedMail, Verdict

LOOP_HEADER = "X-Maildesk-Loop"
"""Set on every mail we send, with the desk address as its value."""

_SHOWN_MAX = 80

_DELIVERY_REPORT = re.compile(
    r"^\s*multipart/report\b.*\breport-type\s*=\s*\"?delivery-status\b",
    re.IGNORECASE | re.DOTALL,
)
_DAEMON_LOCAL = re.compile(r"mailer-daemon|mail-daemon|postmaster", re.IGNORECASE)
_ROBOT_LOCAL = re.compile(
    r"(?:(?:no|do[-_.]?not)[-_.]?reply|no[-_.]?responder|n[aã]o[-_.]?responda)(?:[-_.+].*)?",
    re.IGNORECASE,
)
_SUPPRESS_TOKENS = frozenset({"oof", "autoreply", "all"})
_TOKEN_SPLIT = re.compile(r"[\s,;]+")
# Subjects that clients put on out-of-office replies, anchored at the start and
# followed by a colon or nothing, so "Out of office hours noise" stays a request.
_OOF_SUBJECT = re.compile(
    r"^\s*(?:respuesta\s+autom[aá]tica|fuera\s+de\s+(?:la\s+)?oficina"
    r"|automatic\s+reply|auto[-\s]?reply|out\s+of\s+(?:the\s+)?office(?:\s+auto-?reply)?"
    r"|abwesenheitsnotiz|automatische\s+antwort"
    r"|r[ée]ponse\s+automatique(?:\s+d['’]absence(?:\s+du\s+bureau)?)?"
    r"|resposta\s+autom[aá]tica|aus[eê]ncia|absence|risposta\s+automatica"
    r"|automatisch\s+antwoord|autosvar)"
    r"\s*(?:[:：]|$)",
    re.IGNORECASE,
)
# Lotus Notes: "AUTO: Ana Pérez is out of the office (returning 02/03/2026)".
_NOTES_SUBJECT = re.compile(r"^\s*auto\s*:.*\bout\s+of\s+(?:the\s+)?office\b", re.IGNORECASE)
# RT's acknowledgement: "[rt.example.org #123] AutoReply: ...".
_RT_SUBJECT = re.compile(r"^\s*\[[^\]#]+\s#\d+\]\s*autoreply\b", re.IGNORECASE)
# Header names (or name prefixes) that only another help desk's software writes.
_TICKET_SYSTEM_HEADERS = (
    ("rt-ticket", "RT"),
    ("rt-originator", "RT"),
    ("x-rt-loop-prevention", "RT"),
    ("x-zendesk-", "Zendesk"),
    ("x-freshdesk-", "Freshdesk"),
    ("x-jira-fingerprint", "Jira"),
    ("x-osticket-", "osTicket"),
)
_TICKET_SYSTEM_MAILERS = re.compile(r"\b(?:osticket|freshdesk|zendesk)\b", re.IGNORECASE)
# Challenge-response filters: ask a stranger to prove they are human before delivering.
_CHALLENGE_HEADERS = ("x-spam-challenge", "x-challenge", "x-boxbe-challenge")
_CHALLENGE_DOMAINS = frozenset({"boxbe.com", "mailblocks.com", "spamarrest.com", "sendio.com"})
_CHALLENGE_SUBJECT = re.compile(
    r"(?:please\s+)?(?:confirm|verify)\s+(?:that\s+)?you\s+are\s+(?:a\s+)?human"
    r"|challenge[-\s]response|spam\s*arrest|boxbe|mailblocks",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class RuleContext:
    """What the rules need besides the mail.

    `envelope_sender` is the SMTP MAIL FROM (or the delivered Return-Path): ""
    means the null sender `<>`, None means the intake could not tell, in which
    case the rules read the mail's own Return-Path header.
    """

    desk_address: str
    secret: str
    envelope_sender: str | None = None


Rule = Callable[[ParsedMail, RuleContext], Verdict | None]


def _shown(value: str) -> str:
    """A header value fit for a one-line operator message: no folding, bounded length."""
    flat = " ".join(value.split())
    return flat if len(flat) <= _SHOWN_MAX else flat[: _SHOWN_MAX - 1] + "…"


def _loop(reason: str) -> Verdict:
    return Verdict(MailKind.LOOP, process=False, may_autoreply=False, reason=reason)


def _bounce(reason: str) -> Verdict:
    return Verdict(MailKind.BOUNCE, process=True, may_autoreply=False, reason=reason)


def _auto_reply(reason: str) -> Verdict:
    return Verdict(MailKind.AUTO_REPLY, process=True, may_autoreply=False, reason=reason)


def _bulk(reason: str) -> Verdict:
    return Verdict(MailKind.BULK, process=True, may_autoreply=False, reason=reason)


def _values(mail: ParsedMail, name: str) -> tuple[str, ...]:
    """Every non-blank value of a header, stripped."""
    return tuple(v.strip() for v in mail.headers.get(name.lower(), ()) if v.strip())


def from_desk(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """Mail from our own address (or a `+` extension of it) is our mail coming back."""
    if signing.is_desk_address(mail.from_addr, ctx.desk_address):
        return _loop(f"From: {_shown(mail.from_addr)} is this desk's own address.")
    return None


def our_message_id(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """A Message-ID we signed means this very mail was written by us."""
    if mail.message_id and signing.parse_message_id(mail.message_id, ctx.secret) is not None:
        return _loop(f"Message-ID {_shown(mail.message_id)} is one we signed: our own mail.")
    return None


def loop_marker(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """Our loop header survives forwarders that rewrite From and Message-ID."""
    desk = signing.split_address(ctx.desk_address)
    for value in _values(mail, LOOP_HEADER):
        if signing.split_address(value.strip("<> ")) == desk:
            return _loop(f"{LOOP_HEADER}: {_shown(value)} shows this desk already sent it.")
    return None


def delivery_report(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """A DSN (RFC 3464) or a parsed bounce: record it on the ticket, never answer it."""
    content_type = mail.header("content-type")
    if _DELIVERY_REPORT.match(content_type):
        return _bounce(f"Content-Type: {_shown(content_type)} is a delivery status report.")
    if mail.bounced_message_ids:
        ids = _shown(" ".join(mail.bounced_message_ids))
        return _bounce(f"The mail reports that delivery of {ids} failed.")
    return None


def daemon_sender(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """MAILER-DAEMON and postmaster write bounces and never read replies."""
    local, _ = signing.split_address(mail.from_addr)
    if _DAEMON_LOCAL.fullmatch(local):
        return _bounce(f"From: {_shown(mail.from_addr)} is a mail system address.")
    return None


def auto_submitted(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """RFC 3834: any `Auto-Submitted` other than "no" was written by a program."""
    for value in _values(mail, "auto-submitted"):
        if value.split(";")[0].strip().lower() != "no":
            return _auto_reply(f"Auto-Submitted: {_shown(value)} marks an automatic mail.")
    return None


def autoreply_headers(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """The non-standard markers vacation programs and Exchange put on their replies."""
    for name in ("X-Autoreply", "X-Autorespond", "X-MS-Exchange-Generated-Message-Source"):
        if values := _values(mail, name):
            return _auto_reply(f"{name}: {_shown(values[0])} marks an automatic reply.")
    for value in _values(mail, "x-auto-response-suppress"):
        if _SUPPRESS_TOKENS & {t.lower() for t in _TOKEN_SPLIT.split(value)}:
            return _auto_reply(
                f"X-Auto-Response-Suppress: {_shown(value)} marks an automatic reply."
            )
    for value in _values(mail, "precedence"):
        if value.lower() == "auto_reply":
            return _auto_reply(f"Precedence: {_shown(value)} marks an automatic reply.")
    return None


def out_of_office_subject(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """Some responders set no header at all; their subject still gives them away."""
    if _OOF_SUBJECT.match(mail.subject):
        return _auto_reply(f"Subject {_shown(mail.subject)!r} is an out-of-office reply.")
    return None


def notes_out_of_office(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """Lotus Notes prefixes `AUTO:` and says who is away, with no header to tell."""
    if _NOTES_SUBJECT.match(mail.subject):
        return _auto_reply(f"Subject {_shown(mail.subject)!r} is a Lotus Notes absence notice.")
    return None


def ticket_system(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """Another help desk acknowledging our mail would answer our answer, forever."""
    for name in mail.headers:
        for marker, system in _TICKET_SYSTEM_HEADERS:
            if name == marker or (marker.endswith("-") and name.startswith(marker)):
                return _auto_reply(f"Header {_shown(name)} shows a {system} help desk's mail.")
    for value in _values(mail, "x-mailer"):
        if _TICKET_SYSTEM_MAILERS.search(value):
            return _auto_reply(f"X-Mailer: {_shown(value)} is a help desk's software.")
    if _RT_SUBJECT.match(mail.subject):
        return _auto_reply(f"Subject {_shown(mail.subject)!r} is an RT acknowledgement.")
    return None


def challenge_response(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """A "prove you are human" filter answers every stranger; answering it loops."""
    for name in _CHALLENGE_HEADERS:
        if values := _values(mail, name):
            return _auto_reply(f"{name}: {_shown(values[0])} marks a challenge-response robot.")
    domain = signing.split_address(mail.from_addr)[1].lower()
    if any(domain == d or domain.endswith("." + d) for d in _CHALLENGE_DOMAINS):
        return _auto_reply(f"From: {_shown(mail.from_addr)} is a challenge-response service.")
    if _CHALLENGE_SUBJECT.search(mail.subject):
        return _auto_reply(f"Subject {_shown(mail.subject)!r} asks us to prove we are human.")
    return None


def _envelope_sender(mail: ParsedMail, ctx: RuleContext) -> str | None:
    """The envelope sender from the intake, else from the delivered Return-Path header."""
    if ctx.envelope_sender is not None:
        return ctx.envelope_sender.strip().strip("<>").strip()
    values = mail.headers.get("return-path", ())
    return values[0].strip().strip("<>").strip() if values else None


def null_sender(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """A null envelope sender (`<>`) is how MTAs send bounces (RFC 5321 4.5.5).

    It comes after the auto-reply rules because RFC 3834 asks responders to use
    the null sender too; those are better recorded as auto-replies.
    """
    if _envelope_sender(mail, ctx) == "":
        return _bounce("The envelope sender is null (<>), as for delivery reports.")
    return None


def bulk_precedence(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """`Precedence: bulk|junk|list` is the old, still common, mark of mass mail."""
    for value in _values(mail, "precedence"):
        if value.lower() in {"bulk", "junk", "list"}:
            return _bulk(f"Precedence: {_shown(value)} marks bulk mail.")
    return None


def list_headers(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """RFC 2369/2919 headers come from list servers and mass mailers, not personal clients."""
    for name in ("List-Id", "List-Unsubscribe"):
        if values := _values(mail, name):
            return _bulk(f"{name}: {_shown(values[0])} marks mailing-list or bulk mail.")
    return None


def robot_sender(mail: ParsedMail, ctx: RuleContext) -> Verdict | None:
    """A `noreply@` sender tells us in its name that nobody reads our answer."""
    local, _ = signing.split_address(mail.from_addr)
    if _ROBOT_LOCAL.fullmatch(local):
        return _bulk(f"From: {_shown(mail.from_addr)} is a no-reply robot address.")
    return None


RULES: tuple[Rule, ...] = (
    from_desk,
    our_message_id,
    loop_marker,
    delivery_report,
    daemon_sender,
    auto_submitted,
    autoreply_headers,
    out_of_office_subject,
    notes_out_of_office,
    ticket_system,
    challenge_response,
    null_sender,
    bulk_precedence,
    list_headers,
    robot_sender,
)

_NORMAL = Verdict(MailKind.NORMAL, process=True, may_autoreply=True, reason="")


def classify(mail: ParsedMail, ctx: RuleContext) -> Verdict:
    """The first verdict of `RULES`, or a normal mail we may answer."""
    for rule in RULES:
        verdict = rule(mail, ctx)
        if verdict is not None:
            return verdict
    return _NORMAL
