"""Which ticket an inbound mail belongs to, and the subject line that keeps it there.

`decide` tries the signals of product.md in order, strongest first: a signed
reply address among the recipients, then `In-Reply-To`, then `References`
(newest first), then our tag in the subject. The first signal that names an
existing ticket settles the question; weaker signals are not consulted, so a
mail is never split between two tickets by disagreeing hints. The database is
reached only through the injected `TicketLookup`, so this module stays pure.

The subject helpers know the reply and forward prefixes of the clients our
residents use (Spanish first), the tags of other ticketing systems that must be
kept so two systems do not ping-pong, and our own tag, which appears once.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol

from maildesk import signing
from maildesk.domain import ParsedMail, ThreadDecision


class TicketLookup(Protocol):
    """The three questions correlation asks of the database."""

    def number_for_message_id(self, message_id: str) -> int | None:
        """The ticket of any Message-ID we sent or received for it."""
        ...

    def exists(self, number: int) -> bool: ...

    def is_on_ticket(self, number: int, address: str) -> bool:
        """True for the requester and the participants of the ticket."""
        ...


# Reply/forward prefixes as clients write them (case-insensitive). A prefix only
# counts when followed by a colon, so "RE" in "RESIDENTES" or "Ref" stay put, and
# thanks to that colon the order of the alternatives does not matter. Polish
# "PD:" is left out on purpose: in Spanish it opens a postscript.
_PREFIX = (
    r"(?:re|rv|res|resp|respuesta|rta|rpta|r|enc|reenviado|reenviar|fwd?"  # es, pt, en
    r"|respuesta\s+autom[aá]tica|resposta\s+autom[aá]tica|automatic\s+reply"
    r"|aw|wg|sv|vs|vb|vl|antw|doorst|tr|rif|odp|ynt|ilt"  # de, nordic, nl, fr, it, pl, tr
    r"|απ|σχετ|πρθ|回复|回覆|答复|转发|轉寄)"  # el, zh
    r"\s*(?:\[\d{1,4}\]|\(\d{1,4}\)|\^\d{1,4})?\s*[:：]"  # Re[2]: Re(2): fullwidth colon
)
# A chain of prefixes, with any bracketed list or system tags caught between them
# ("[lista-vecinos] Re: RV: ..."). Bounded repetitions keep hostile subjects linear.
_LEADING = re.compile(rf"^(?:\s*(?:\[[^\[\]]{{1,100}}\]\s*){{0,5}}{_PREFIX})+\s*", re.IGNORECASE)
_BRACKETED = re.compile(r"\[[^\[\]]{1,100}\]")
_DIGIT = re.compile(r"\d")
# Bounds the lookups a hostile References header can cause; the newest ids are
# the ones that matter.
_MAX_REFERENCES = 100


@functools.lru_cache(maxsize=8)
def _tag_pattern(tag_prefix: str) -> re.Pattern[str]:
    """Our tag: `[#12]`, `[# 12]`, `[Soporte #12]` for the prefix `#`."""
    return re.compile(
        r"\[\s*(?:[^\W\d_][\w.\-]{0,30}\s+){0,3}"
        + re.escape(tag_prefix.strip())
        + r"\s*(\d{1,12})\s*\]",
        re.IGNORECASE,
    )


def _subject_tags(subject: str, tag_prefix: str) -> list[int]:
    return [int(m.group(1)) for m in _tag_pattern(tag_prefix).finditer(subject)]


def find_subject_tag(subject: str, tag_prefix: str) -> int | None:
    """The number in the first tag of ours anywhere in the subject, else None."""
    tags = _subject_tags(subject, tag_prefix)
    return tags[0] if tags else None


def strip_reply_prefixes(subject: str) -> str:
    """The subject without its leading chain of reply/forward prefixes.

    Bracketed tags caught inside the chain go with it; `tagged_subject` puts
    back the ones that belong to other systems.
    """
    return _LEADING.sub("", subject, count=1).strip()


def foreign_tags(subject: str, tag_prefix: str = "#") -> tuple[str, ...]:
    """Bracketed tags of other ticketing systems (`[SR 1-554]`, `[Ticket#2024...]`).

    Pragmatic test: a bracketed token with a digit in it that is not our tag. A
    token without digits is taken for a list name (`[lista-vecinos]`).
    """
    ours = _tag_pattern(tag_prefix)
    found = (m.group(0) for m in _BRACKETED.finditer(subject))
    return tuple(dict.fromkeys(t for t in found if _DIGIT.search(t) and not ours.fullmatch(t)))


def tagged_subject(
    subject: str, number: int, tag_prefix: str, keep_foreign: Sequence[str] = ()
) -> str:
    """Our outgoing subject: `[#N]`, the other systems' tags, then the resident's words.

    Any tag of ours already present is removed first, so the tag appears exactly
    once and applying this twice changes nothing.
    """
    without_ours = " ".join(_tag_pattern(tag_prefix).sub(" ", subject).split())
    rest = strip_reply_prefixes(without_ours)
    wanted = dict.fromkeys([*foreign_tags(subject, tag_prefix), *keep_foreign])
    front = [tag for tag in wanted if tag not in rest]
    return " ".join(part for part in (f"[{tag_prefix}{number}]", *front, rest) if part)


@dataclass(frozen=True, slots=True)
class _Inputs:
    recipients: Sequence[str]
    desk_address: str
    secret: str
    tag_prefix: str
    lookup: TicketLookup


class _Named(NamedTuple):
    """A ticket named by one signal, before the privacy rule is applied."""

    number: int
    signal: str
    reason: str


_Signal = Callable[[ParsedMail, _Inputs], _Named | None]


def _by_reply_address(mail: ParsedMail, inputs: _Inputs) -> _Named | None:
    """A signed `support+N-sig@` recipient: only our mail could have told the sender."""
    for address in inputs.recipients:
        bare = address.strip().strip("<>")
        number = signing.parse_reply_address(
            bare, inputs.desk_address, inputs.secret, sender=mail.from_addr
        )
        if number is not None and inputs.lookup.exists(number):
            reason = f"Reply address {bare} is signed for ticket {number}."
            return _Named(number, "reply-address", reason)
    return None


def _by_message_ids(ids: Sequence[str], header: str, signal: str, inputs: _Inputs) -> _Named | None:
    """Our signed ids are known without the database; others are looked up."""
    for raw in ids:
        mid = raw.strip()
        if not mid:
            continue
        number = signing.parse_message_id(mid, inputs.secret)
        what = "our signed mail"
        if number is None:
            number = inputs.lookup.number_for_message_id(mid)
            what = "a mail recorded"
        if number is not None and inputs.lookup.exists(number):
            return _Named(number, signal, f"{header} {mid} is {what} for ticket {number}.")
    return None


def _by_in_reply_to(mail: ParsedMail, inputs: _Inputs) -> _Named | None:
    return _by_message_ids(mail.in_reply_to, "In-Reply-To", "in-reply-to", inputs)


def _by_references(mail: ParsedMail, inputs: _Inputs) -> _Named | None:
    newest_first = mail.references[::-1][:_MAX_REFERENCES]
    return _by_message_ids(newest_first, "References", "references", inputs)


def _by_subject_tag(mail: ParsedMail, inputs: _Inputs) -> _Named | None:
    """The weakest signal: anyone can type `[#12]`, and numbers are guessable."""
    for number in _subject_tags(mail.subject, inputs.tag_prefix):
        if inputs.lookup.exists(number):
            return _Named(number, "subject-tag", f"Subject tag names ticket {number}.")
    return None


_SIGNALS: tuple[_Signal, ...] = (
    _by_reply_address,
    _by_in_reply_to,
    _by_references,
    _by_subject_tag,
)


def decide(
    mail: ParsedMail,
    *,
    recipients: Sequence[str],
    desk_address: str,
    secret: str,
    tag_prefix: str,
    is_staff: Callable[[str], bool],
    lookup: TicketLookup,
) -> ThreadDecision:
    """The ticket this mail continues, or why a new one is opened.

    The privacy rule applies to every signal, even the signed ones: a signature
    proves someone received our mail, not that the sender may write into the
    ticket (residents forward our mails to neighbours and relatives). So a mail
    naming a ticket is appended only when its From is staff or on that ticket;
    otherwise it opens a new ticket linked by `related_number`. From can be
    forged, which is why this rule only decides threading, never staff powers.
    `recipients` are the envelope recipients plus To/Cc/Delivered-To.
    """
    inputs = _Inputs(recipients, desk_address, secret, tag_prefix, lookup)
    for signal in _SIGNALS:
        named = signal(mail, inputs)
        if named is None:
            continue
        sender = mail.from_addr.strip().lower()
        if sender and (is_staff(sender) or lookup.is_on_ticket(named.number, sender)):
            return ThreadDecision(named.number, named.signal, named.reason)
        who = sender or "The sender"
        return ThreadDecision(
            None,
            "stranger",
            f"{named.reason} {who} is neither staff nor on ticket {named.number}: "
            "a new ticket is opened and linked to it.",
            related_number=named.number,
        )
    return ThreadDecision(
        None, "new", "No signed reply address, known Message-ID or subject tag names a ticket."
    )
