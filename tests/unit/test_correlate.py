"""Threading: which ticket a mail belongs to, and the subjects that keep it there."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pytest

from maildesk import signing
from maildesk.domain import ParsedMail, ThreadDecision
from maildesk.inbound.correlate import (
    decide,
    find_subject_tag,
    foreign_tags,
    strip_reply_prefixes,
    tagged_subject,
)

SECRET = "test-secret"
DESK = "soporte@example.org"
STAFF = frozenset({"tecnico@example.org"})
ANA = "ana@example.com"  # requester of 12 and 15
BETO = "beto@example.com"  # participant of 15 only
CARLA = "carla@example.com"  # requester of 30
MALLORY = "mallory@example.net"  # on no ticket
RECEIVED_15 = "<CAF=recv.1@mail.example.com>"  # a mail we received for ticket 15
RECEIVED_30 = "<recv.2@mail.example.com>"


@dataclass
class FakeLookup:
    """Tickets as a dict of number -> people on it; Message-IDs as a dict."""

    tickets: dict[int, set[str]] = field(
        default_factory=lambda: {12: {ANA}, 15: {ANA, BETO}, 30: {CARLA}}
    )
    message_ids: dict[str, int] = field(default_factory=lambda: {RECEIVED_15: 15, RECEIVED_30: 30})

    def number_for_message_id(self, message_id: str) -> int | None:
        return self.message_ids.get(message_id)

    def exists(self, number: int) -> bool:
        return number in self.tickets

    def is_on_ticket(self, number: int, address: str) -> bool:
        return address in self.tickets.get(number, set())


def reply_to(number: int, secret: str = SECRET, desk: str = DESK) -> str:
    return signing.reply_address(desk, number, secret)


def sent(number: int, secret: str = SECRET) -> str:
    """A Message-ID we sent for a ticket; the fake lookup has never seen it."""
    return signing.message_id("example.org", number, secret, nonce="a1b2c3")


def mail(
    *,
    from_addr: str = ANA,
    subject: str = "Fuga de agua",
    in_reply_to: Sequence[str] = (),
    references: Sequence[str] = (),
) -> ParsedMail:
    return ParsedMail(
        message_id="<new@mail.example.com>",
        subject=subject,
        from_addr=from_addr,
        in_reply_to=tuple(in_reply_to),
        references=tuple(references),
    )


def run(
    parsed: ParsedMail, recipients: Sequence[str] = (DESK,), lookup: FakeLookup | None = None
) -> ThreadDecision:
    return decide(
        parsed,
        recipients=recipients,
        desk_address=DESK,
        secret=SECRET,
        tag_prefix="#",
        is_staff=lambda address: address in STAFF,
        lookup=lookup or FakeLookup(),
    )


# --- subject tag ---------------------------------------------------------------

SUBJECT_TAGS = [
    # Spanish clients first (Outlook, Gmail, Apple Mail, mobile), then the world.
    ("RE: [#1234] Fuga de agua en depto 402", 1234),
    ("Re: [#1234] Fuga de agua", 1234),
    ("RV: [#1234] Ruido en torre B", 1234),
    ("RES: [#1234] Portão da garagem", 1234),
    ("ENC: [#1234] Encomenda na portaria", 1234),
    ("R: [#1234] Ascensor detenido", 1234),
    ("Rta: [#1234] Llave de la bodega", 1234),
    ("Rpta: [#1234] Estacionamiento de visitas", 1234),
    ("Respuesta automática: [#1234] Gastos comunes", 1234),
    ("Reenviado: [#1234] Paquete en conserjería", 1234),
    ("RE: RE: RV: [#1234] Filtración en el baño", 1234),
    ("Re: Fuga de agua [#1234]", 1234),
    ("Fuga de agua en el 5º piso [#1234] — urgente", 1234),
    ("RE: [# 1234] Ñandú en la piscina", 1234),
    ("Re: [ # 1234 ] espacios por todos lados", 1234),
    ("RE: [Soporte #1234] Cámara de seguridad", 1234),
    ("RE: [Soporte Alameda #77] Acceso vehicular", 77),
    ("Re: [#1234] 🚿 Sin agua caliente", 1234),
    ("🔥 RE: [#1234] Olor a gas", 1234),
    ("RE: [#0042] Número con ceros", 42),
    ("AW: [#1234] Wasserschaden", 1234),
    ("WG: [#1234] Heizung defekt", 1234),
    ("SV: [#1234] Vattenläcka", 1234),
    ("VS: [#1234] Vesivahinko", 1234),
    ("VB: [#1234] Hissen står still", 1234),
    ("Antw: [#1234] Lekkage", 1234),
    ("Doorst: [#1234] Lift", 1234),
    ("TR: [#1234] Fuite d'eau", 1234),
    ("Réponse automatique : [#1234] Fuite", 1234),
    ("ΑΠ: [#1234] Διαρροή νερού", 1234),
    ("Re[2]: [#1234] Portón eléctrico", 1234),
    ("Re(3): [#1234] Portón eléctrico", 1234),
    ("RE：[#1234] 漏水", 1234),
    ("回复：[#1234] 漏水", 1234),
    ("[lista-vecinos] Re: [#1234] Asamblea", 1234),
    ("FW: Fwd: [#1234] Mudanza", 1234),
    ("Fw: [#1234] Reserva del quincho", 1234),
    ("[#1234]", 1234),
    ("Re: [#1234] y también [#99]", 1234),
    ("Re: Fuga de agua", None),
    ("Re: #1234 sin corchetes", None),
    ("[Ticket#2024031510000012] Re: Fuga", None),
    ("[SR 1-554] Corte de luz", None),
    ("Depto [402] sin luz", None),
    ("[#1234567890123] demasiado largo", None),
    ("", None),
]


@pytest.mark.parametrize(("subject", "number"), SUBJECT_TAGS)
def test_find_subject_tag(subject: str, number: int | None) -> None:
    """Our tag is found anywhere in the subject, after any chain of prefixes."""
    assert find_subject_tag(subject, "#") == number


@pytest.mark.parametrize(
    ("subject", "number"),
    [("Re: [MD-55] Fuga", 55), ("Re: [md-55] Fuga", 55), ("Re: [#55] Fuga", None)],
)
def test_find_subject_tag_with_configured_prefix(subject: str, number: int | None) -> None:
    """The tag prefix comes from the configuration, not a hard-coded `#`."""
    assert find_subject_tag(subject, "MD-") == number


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [
        ("RE: Fuga de agua", "Fuga de agua"),
        ("RE: RE: RV: Fuga", "Fuga"),
        ("Rta: Rpta: R: Llave", "Llave"),
        ("Re[2]: Portón", "Portón"),
        ("Re(2): Portón", "Portón"),
        ("RE：漏水", "漏水"),
        ("[lista-vecinos] Re: Asamblea", "Asamblea"),
        ("Respuesta automática: Gastos comunes", "Gastos comunes"),
        ("Reenviado: Paquete", "Paquete"),
        ("Re : Fuite d'eau", "Fuite d'eau"),
        ("  Re:   Fwd:  Mudanza  ", "Mudanza"),
        ("Re:Fwd:Mudanza", "Mudanza"),
        ("RE: [#12] RE: Fuga", "Fuga"),
        ("RESIDENTES: reunión", "RESIDENTES: reunión"),
        ("Ref: Pago gastos comunes", "Ref: Pago gastos comunes"),
        ("PD: olvidé la foto", "PD: olvidé la foto"),
        ("Resumen: mantención", "Resumen: mantención"),
        ("Fuga: Re: algo", "Fuga: Re: algo"),
        ("[URGENTE] Fuga", "[URGENTE] Fuga"),
        ("Re:", ""),
        ("", ""),
    ],
)
def test_strip_reply_prefixes(subject: str, stripped: str) -> None:
    """Only a leading chain of reply/forward prefixes goes; words that look alike stay."""
    assert strip_reply_prefixes(subject) == stripped


@pytest.mark.parametrize(
    ("subject", "prefix", "tags"),
    [
        ("Re: [SR 1-554] Corte de luz", "#", ("[SR 1-554]",)),
        ("[ref:_00D5e2abc._5005e3XYZ:ref] Re: Consulta", "#", ("[ref:_00D5e2abc._5005e3XYZ:ref]",)),
        ("[Ticket#2024031510000012] Fuga", "#", ("[Ticket#2024031510000012]",)),
        ("[JIRA-123] Re: [#12] Ascensor", "#", ("[JIRA-123]",)),
        ("[SR 1-554] Re: [SR 1-554] Corte", "#", ("[SR 1-554]",)),
        ("[lista-vecinos] Re: [#12] Asamblea", "#", ()),
        ("Re: [Soporte #12] Fuga", "#", ()),
        ("[MD-12] [#99] Fuga", "MD-", ("[#99]",)),
        ("Fuga de agua", "#", ()),
    ],
)
def test_foreign_tags(subject: str, prefix: str, tags: tuple[str, ...]) -> None:
    """Other systems' bracketed tags are found; our tag and list names are not."""
    assert foreign_tags(subject, prefix) == tags


TAGGED = [
    ("Fuga de agua", (), "[#12] Fuga de agua"),
    ("RE: Fuga de agua", (), "[#12] Fuga de agua"),
    ("RE: [#12] Fuga de agua", (), "[#12] Fuga de agua"),
    ("RE: [#12] RE: [#12] Fuga de agua", (), "[#12] Fuga de agua"),
    ("Fuga de agua [#12]", (), "[#12] Fuga de agua"),
    ("RE: [Soporte #12] Fuga", (), "[#12] Fuga"),
    ("Re: [#7] Fuga", (), "[#12] Fuga"),
    ("[lista-vecinos] Re: Asamblea", (), "[#12] Asamblea"),
    ("[SR 1-554] Re: Corte de luz", (), "[#12] [SR 1-554] Corte de luz"),
    ("RE: Corte de luz [SR 1-554]", (), "[#12] Corte de luz [SR 1-554]"),
    (
        "Corte de luz",
        ("[Ticket#2024031510000012]",),
        "[#12] [Ticket#2024031510000012] Corte de luz",
    ),
    ("Re: [Ticket#1] Corte", ("[Ticket#1]",), "[#12] [Ticket#1] Corte"),
    ("RE: 🚿 Sin agua caliente — ÑUÑOA", (), "[#12] 🚿 Sin agua caliente — ÑUÑOA"),
    ("Re:\r\n Fuga\tde  agua", (), "[#12] Fuga de agua"),
    ("", (), "[#12]"),
]


@pytest.mark.parametrize(("subject", "keep", "expected"), TAGGED)
def test_tagged_subject(subject: str, keep: tuple[str, ...], expected: str) -> None:
    """Our subject: prefixes stripped, our tag once and first, foreign tags kept."""
    assert tagged_subject(subject, 12, "#", keep) == expected


@pytest.mark.parametrize(("subject", "keep", "expected"), TAGGED)
def test_tagged_subject_is_stable(subject: str, keep: tuple[str, ...], expected: str) -> None:
    """Tagging our own subject again (a reply to a reply) changes nothing."""
    once = tagged_subject(subject, 12, "#", keep)
    assert tagged_subject(f"RE: {once}", 12, "#", keep) == once
    assert find_subject_tag(once, "#") == 12


# --- decide: one signal at a time ---------------------------------------------


@pytest.mark.parametrize(
    ("parsed", "recipients", "number", "signal"),
    [
        (mail(), (reply_to(12),), 12, "reply-address"),
        (mail(), (f"<{reply_to(12).upper()}>",), 12, "reply-address"),
        (mail(), (DESK, "vecino@example.com", reply_to(12)), 12, "reply-address"),
        (mail(in_reply_to=[sent(12)]), (DESK,), 12, "in-reply-to"),
        (mail(in_reply_to=[RECEIVED_15]), (DESK,), 15, "in-reply-to"),
        (mail(references=[sent(12)]), (DESK,), 12, "references"),
        (mail(references=[RECEIVED_15]), (DESK,), 15, "references"),
        (mail(subject="RE: [#12] Fuga"), (DESK,), 12, "subject-tag"),
        (mail(), (DESK,), None, "new"),
    ],
)
def test_each_signal_alone(
    parsed: ParsedMail, recipients: tuple[str, ...], number: int | None, signal: str
) -> None:
    """Each signal on its own threads the requester's mail into the ticket it names."""
    decision = run(parsed, recipients)
    assert (decision.ticket_number, decision.signal, decision.related_number) == (
        number,
        signal,
        None,
    )


@pytest.mark.parametrize(
    ("parsed", "recipients", "number", "signal"),
    [
        # reply address > In-Reply-To > References > subject tag
        (mail(in_reply_to=[RECEIVED_15]), (reply_to(12),), 12, "reply-address"),
        (mail(references=[RECEIVED_15]), (reply_to(12),), 12, "reply-address"),
        (mail(subject="[#15] x"), (reply_to(12),), 12, "reply-address"),
        (mail(in_reply_to=[sent(12)], references=[RECEIVED_15]), (DESK,), 12, "in-reply-to"),
        (mail(in_reply_to=[RECEIVED_15], subject="[#12] x"), (DESK,), 15, "in-reply-to"),
        (mail(references=[RECEIVED_15], subject="[#12] x"), (DESK,), 15, "references"),
        # References are read newest (last) first.
        (mail(references=[sent(12), RECEIVED_15]), (DESK,), 15, "references"),
        (mail(references=[RECEIVED_15, sent(12)]), (DESK,), 12, "references"),
        # A signal naming nothing known hands over to the next one.
        (mail(in_reply_to=["<unknown@x>"], references=[sent(12)]), (DESK,), 12, "references"),
        (mail(references=[sent(12), "<unknown@x>"]), (DESK,), 12, "references"),
        (mail(in_reply_to=[sent(999)], subject="[#12] x"), (DESK,), 12, "subject-tag"),
        (mail(in_reply_to=[RECEIVED_15]), (reply_to(999),), 15, "in-reply-to"),
        (mail(in_reply_to=["", "  ", RECEIVED_15]), (DESK,), 15, "in-reply-to"),
    ],
)
def test_signal_priority(
    parsed: ParsedMail, recipients: tuple[str, ...], number: int, signal: str
) -> None:
    """The strongest signal that names an existing ticket wins; weaker ones are not read."""
    decision = run(parsed, recipients)
    assert (decision.ticket_number, decision.signal) == (number, signal)


def test_signed_message_id_needs_no_database() -> None:
    """An In-Reply-To we signed is ours even though the lookup never recorded it."""
    lookup = FakeLookup(message_ids={})
    decision = run(mail(in_reply_to=[sent(12)]), lookup=lookup)
    assert decision.ticket_number == 12
    assert "our signed mail" in decision.reason


def test_received_message_id_comes_from_the_lookup() -> None:
    """An In-Reply-To naming a mail we received is resolved through the lookup."""
    decision = run(mail(in_reply_to=[RECEIVED_15]))
    assert decision.ticket_number == 15
    assert f"In-Reply-To {RECEIVED_15} is a mail recorded for ticket 15" in decision.reason


def test_only_the_newest_references_are_read() -> None:
    """A hostile References header cannot make us look up thousands of ids."""
    filler = [f"<filler{i}@x>" for i in range(100)]
    assert run(mail(references=[sent(12), *filler])).signal == "new"
    assert run(mail(references=[sent(12), *filler[1:]])).ticket_number == 12


# --- forged and unknown -------------------------------------------------------


@pytest.mark.parametrize(
    ("parsed", "recipients"),
    [
        (mail(), ("soporte+12-aaaaaaaaaa@example.org",)),
        (mail(), ("soporte+12@example.org",)),
        (mail(), (reply_to(12, secret="another-desk"),)),
        (mail(), (reply_to(12, desk="soporte@example.net"),)),
        (mail(), (reply_to(12).replace("+12-", "+15-"),)),
        (mail(in_reply_to=["<md.12.a1b2c3.aaaaaaaaaa@example.org>"]), (DESK,)),
        (mail(in_reply_to=[sent(12, secret="another-desk")]), (DESK,)),
        (mail(references=[sent(12).replace("md.12.", "md.15.")]), (DESK,)),
    ],
)
def test_forged_signature_is_no_signal(parsed: ParsedMail, recipients: tuple[str, ...]) -> None:
    """A reply address or Message-ID with a wrong signature names no ticket."""
    decision = run(parsed, recipients)
    assert (decision.ticket_number, decision.signal, decision.related_number) == (
        None,
        "new",
        None,
    )


def test_forged_address_does_not_hide_a_real_tag() -> None:
    """A forged reply address is ignored, not treated as a stranger's claim."""
    decision = run(mail(subject="Re: [#12] Fuga"), ("soporte+30-aaaaaaaaaa@example.org",))
    assert (decision.ticket_number, decision.signal) == (12, "subject-tag")


@pytest.mark.parametrize(
    ("parsed", "recipients"),
    [
        (mail(subject="RE: [#999] Fuga"), (DESK,)),
        (mail(), (reply_to(999),)),
        (mail(in_reply_to=[sent(999)]), (DESK,)),
        (mail(references=[sent(999)]), (DESK,)),
    ],
)
def test_unknown_ticket_numbers_are_ignored(
    parsed: ParsedMail, recipients: tuple[str, ...]
) -> None:
    """A signal naming a ticket that does not exist opens a new ticket, unlinked."""
    decision = run(parsed, recipients)
    assert (decision.ticket_number, decision.signal, decision.related_number) == (
        None,
        "new",
        None,
    )


def test_first_existing_subject_tag_wins() -> None:
    """With several tags of ours, the first one naming an existing ticket counts."""
    assert run(mail(subject="Re: [#999] [#12] Fuga")).ticket_number == 12


# --- privacy: strangers and staff ---------------------------------------------


def _by_reply_address(sender: str) -> tuple[ParsedMail, tuple[str, ...]]:
    return mail(from_addr=sender), (reply_to(12),)


def _by_in_reply_to(sender: str) -> tuple[ParsedMail, tuple[str, ...]]:
    return mail(from_addr=sender, in_reply_to=[sent(12)]), (DESK,)


def _by_references(sender: str) -> tuple[ParsedMail, tuple[str, ...]]:
    return mail(from_addr=sender, references=[sent(12)]), (DESK,)


def _by_subject_tag(sender: str) -> tuple[ParsedMail, tuple[str, ...]]:
    return mail(from_addr=sender, subject="Re: [#12] Fuga"), (DESK,)


EACH_SIGNAL_FOR_12 = [_by_reply_address, _by_in_reply_to, _by_references, _by_subject_tag]
Build = Callable[[str], tuple[ParsedMail, tuple[str, ...]]]


@pytest.mark.parametrize("sender", [MALLORY, BETO, CARLA, ""])
@pytest.mark.parametrize("build", EACH_SIGNAL_FOR_12)
def test_stranger_is_not_threaded(sender: str, build: Build) -> None:
    """Someone not on ticket 12 and not staff opens a new ticket linked to 12, by any signal."""
    decision = run(*build(sender))
    assert (decision.ticket_number, decision.signal, decision.related_number) == (
        None,
        "stranger",
        12,
    )
    assert "ticket 12" in decision.reason


@pytest.mark.parametrize(
    "sender", ["tecnico@example.org", "Tecnico@Example.ORG", "ANA@example.com"]
)
@pytest.mark.parametrize("build", EACH_SIGNAL_FOR_12)
def test_staff_and_requester_are_threaded(sender: str, build: Build) -> None:
    """Staff (on the ticket or not) and the requester are threaded, whatever the case of From."""
    assert run(*build(sender)).ticket_number == 12


def test_participant_is_threaded() -> None:
    """A participant who is not the requester may write into the ticket."""
    assert run(mail(from_addr=BETO, in_reply_to=[RECEIVED_15])).ticket_number == 15


def test_stranger_verdict_does_not_fall_back_to_weaker_signals() -> None:
    """Carla's own tag does not let her mail slip into ticket 12 named by a stronger signal."""
    decision = run(mail(from_addr=CARLA, subject="Re: [#30] Fuga"), (reply_to(12),))
    assert (decision.ticket_number, decision.signal, decision.related_number) == (
        None,
        "stranger",
        12,
    )


def test_mail_without_from_never_matches_an_addressless_requester() -> None:
    """A walk-in ticket with no requester email does not adopt mail that has no From."""
    lookup = FakeLookup(tickets={12: {""}})
    decision = run(mail(from_addr="", subject="Re: [#12] Fuga"), lookup=lookup)
    assert (decision.signal, decision.related_number) == ("stranger", 12)
