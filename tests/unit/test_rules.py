"""Loop prevention: our own mail, bounces, auto-replies, lists and robots are never answered."""

from __future__ import annotations

import pytest

from maildesk import signing
from maildesk.domain import MailKind, ParsedMail
from maildesk.inbound.rules import LOOP_HEADER, RuleContext, classify

SECRET = "test-secret"
DESK = "soporte@example.org"

# kind -> (process, may_autoreply): only our own mail is set aside; robots are never answered.
OUTCOME = {
    MailKind.NORMAL: (True, True),
    MailKind.LOOP: (False, False),
    MailKind.BOUNCE: (True, False),
    MailKind.AUTO_REPLY: (True, False),
    MailKind.BULK: (True, False),
}


def mail(
    *,
    from_addr: str = "ana@example.com",
    subject: str = "Fuga de agua en depto 402",
    message_id: str = "<CAF1@mail.example.com>",
    bounced: tuple[str, ...] = (),
    named: dict[str, str] | None = None,
    **headers: str,
) -> ParsedMail:
    """A resident's mail; keyword headers use `_` for `-` (`auto_submitted=...`)."""
    spelled = {name.replace("_", "-"): value for name, value in headers.items()}
    return ParsedMail(
        message_id=message_id,
        subject=subject,
        from_addr=from_addr,
        headers={name.lower(): (value,) for name, value in {**spelled, **(named or {})}.items()},
        bounced_message_ids=bounced,
    )


def ctx(envelope_sender: str | None = "ana@example.com") -> RuleContext:
    return RuleContext(desk_address=DESK, secret=SECRET, envelope_sender=envelope_sender)


OURS = signing.message_id("example.org", 12, SECRET, nonce="a1b2c3")

CASES = [
    # normal mail, including look-alikes that must not trip a rule
    pytest.param(mail(), ctx(), MailKind.NORMAL, "", id="resident"),
    pytest.param(mail(auto_submitted="no"), ctx(), MailKind.NORMAL, "", id="auto-submitted-no"),
    pytest.param(mail(precedence="first-class"), ctx(), MailKind.NORMAL, "", id="precedence-other"),
    pytest.param(
        mail(subject="Out of office hours noise in tower B"),
        ctx(),
        MailKind.NORMAL,
        "",
        id="oof-words-in-a-request",
    ),
    pytest.param(
        mail(subject="RE: Respuesta automática: Fuga"),
        ctx(),
        MailKind.NORMAL,
        "",
        id="human-reply-to-an-auto-reply",
    ),
    pytest.param(
        mail(x_auto_response_suppress="DR, RN, NRN"),
        ctx(),
        MailKind.NORMAL,
        "",
        id="suppress-receipts-only",
    ),
    pytest.param(mail(from_addr="noreen@example.com"), ctx(), MailKind.NORMAL, "", id="noreen"),
    pytest.param(
        mail(from_addr="noreplyjones@example.com"), ctx(), MailKind.NORMAL, "", id="noreply-prefix"
    ),
    pytest.param(
        mail(from_addr="soporte@example.net"), ctx(), MailKind.NORMAL, "", id="other-desk-domain"
    ),
    pytest.param(
        mail(message_id="<md.12.a1b2c3.aaaaaaaaaa@example.org>"),
        ctx(),
        MailKind.NORMAL,
        "",
        id="forged-message-id",
    ),
    pytest.param(
        mail(named={LOOP_HEADER: "soporte@example.net"}),
        ctx(),
        MailKind.NORMAL,
        "",
        id="another-desks-loop-marker",
    ),
    pytest.param(
        mail(return_path="<>"), ctx("ana@example.com"), MailKind.NORMAL, "", id="envelope-wins"
    ),
    # our own mail coming back
    pytest.param(mail(from_addr=DESK), ctx(), MailKind.LOOP, DESK, id="from-desk"),
    pytest.param(
        mail(from_addr="Soporte+12-abc@Example.org"),
        ctx(),
        MailKind.LOOP,
        "Soporte+12-abc@Example.org",
        id="from-desk-extension",
    ),
    pytest.param(mail(message_id=OURS), ctx(), MailKind.LOOP, "Message-ID", id="our-message-id"),
    pytest.param(
        mail(named={LOOP_HEADER: DESK}), ctx(), MailKind.LOOP, LOOP_HEADER, id="loop-header"
    ),
    pytest.param(
        mail(named={LOOP_HEADER: "<SOPORTE@example.org>"}),
        ctx(),
        MailKind.LOOP,
        LOOP_HEADER,
        id="loop-header-case",
    ),
    pytest.param(
        mail(from_addr=DESK, auto_submitted="auto-replied"),
        ctx(""),
        MailKind.LOOP,
        DESK,
        id="loop-beats-everything",
    ),
    # bounces
    pytest.param(mail(), ctx(""), MailKind.BOUNCE, "null", id="null-envelope"),
    pytest.param(mail(return_path="<>"), ctx(None), MailKind.BOUNCE, "null", id="return-path"),
    pytest.param(
        mail(from_addr="MAILER-DAEMON@mx.example.com"),
        ctx(),
        MailKind.BOUNCE,
        "MAILER-DAEMON",
        id="mailer-daemon",
    ),
    pytest.param(
        mail(from_addr="postmaster@example.com"),
        ctx(),
        MailKind.BOUNCE,
        "postmaster",
        id="postmaster",
    ),
    pytest.param(
        mail(from_addr="Mail-Daemon@example.com"),
        ctx(),
        MailKind.BOUNCE,
        "Mail-Daemon",
        id="mail-daemon",
    ),
    pytest.param(
        mail(content_type='multipart/report; report-type="delivery-status"; boundary="b1"'),
        ctx(),
        MailKind.BOUNCE,
        "delivery-status",
        id="dsn",
    ),
    pytest.param(
        mail(content_type="Multipart/Report;\r\n boundary=b1; Report-Type=delivery-status"),
        ctx(),
        MailKind.BOUNCE,
        "delivery-status",
        id="dsn-folded",
    ),
    pytest.param(
        mail(bounced=("<md.12.x.y@example.org>",)),
        ctx(),
        MailKind.BOUNCE,
        "<md.12.x.y@example.org>",
        id="parsed-bounce",
    ),
    pytest.param(
        mail(from_addr="MAILER-DAEMON@mx.example.com", auto_submitted="auto-replied"),
        ctx(""),
        MailKind.BOUNCE,
        "MAILER-DAEMON",
        id="bounce-beats-auto-submitted",
    ),
    # auto-replies (RFC 3834 and the rest)
    pytest.param(
        mail(auto_submitted="auto-replied"),
        ctx(),
        MailKind.AUTO_REPLY,
        "Auto-Submitted: auto-replied",
        id="auto-replied",
    ),
    pytest.param(
        mail(auto_submitted="auto-generated"),
        ctx(),
        MailKind.AUTO_REPLY,
        "auto-generated",
        id="auto-generated",
    ),
    pytest.param(
        mail(auto_submitted='Auto-Replied; owner-email="ana@example.com"'),
        ctx(),
        MailKind.AUTO_REPLY,
        "Auto-Replied",
        id="auto-submitted-params",
    ),
    pytest.param(
        mail(auto_submitted="auto-replied"),
        ctx(""),
        MailKind.AUTO_REPLY,
        "Auto-Submitted",
        id="vacation-with-null-sender",
    ),
    pytest.param(mail(x_autoreply="yes"), ctx(), MailKind.AUTO_REPLY, "X-Autoreply", id="x-ar"),
    pytest.param(
        mail(x_autorespond="Vacation"), ctx(), MailKind.AUTO_REPLY, "X-Autorespond", id="x-arsp"
    ),
    pytest.param(
        mail(x_auto_response_suppress="All"),
        ctx(),
        MailKind.AUTO_REPLY,
        "X-Auto-Response-Suppress: All",
        id="suppress-all",
    ),
    pytest.param(
        mail(x_auto_response_suppress="DR, OOF"),
        ctx(),
        MailKind.AUTO_REPLY,
        "OOF",
        id="suppress-oof",
    ),
    pytest.param(
        mail(x_auto_response_suppress="DR,AutoReply"),
        ctx(),
        MailKind.AUTO_REPLY,
        "AutoReply",
        id="suppress-autoreply",
    ),
    pytest.param(
        mail(precedence="auto_reply"),
        ctx(),
        MailKind.AUTO_REPLY,
        "Precedence: auto_reply",
        id="precedence-auto-reply",
    ),
    pytest.param(
        mail(x_ms_exchange_generated_message_source="Mailbox Rules Agent"),
        ctx(),
        MailKind.AUTO_REPLY,
        "X-MS-Exchange-Generated-Message-Source",
        id="exchange-generated",
    ),
    *(
        pytest.param(mail(subject=subject), ctx(), MailKind.AUTO_REPLY, subject, id=subject)
        for subject in (
            "Respuesta automática: Fuga de agua",
            "Respuesta automatica: sin tilde",
            "Fuera de la oficina: Fuga de agua",
            "Fuera de la oficina",
            "Automatic reply: Water leak",
            "Auto-Reply: Water leak",
            "AutoReply: Water leak",
            "Out of Office: Water leak",
            "Out of Office AutoReply: Water leak",
            "Abwesenheitsnotiz: Wasserschaden",
            "Réponse automatique : Fuite d'eau",
            "Resposta automática: Vazamento",
            "Respuesta automática：全角",
        )
    ),
    # bulk, lists and robots
    *(
        pytest.param(mail(precedence=value), ctx(), MailKind.BULK, f"Precedence: {value}", id=value)
        for value in ("bulk", "junk", "list", "Bulk")
    ),
    pytest.param(
        mail(list_id="Vecinos Alameda <vecinos.alameda.example.org>"),
        ctx(),
        MailKind.BULK,
        "List-Id: Vecinos Alameda",
        id="list-id",
    ),
    pytest.param(
        mail(list_unsubscribe="<mailto:leave@lists.example.org>"),
        ctx(),
        MailKind.BULK,
        "List-Unsubscribe",
        id="list-unsubscribe",
    ),
    *(
        pytest.param(mail(from_addr=sender), ctx(), MailKind.BULK, sender, id=sender)
        for sender in (
            "noreply@banco.example.cl",
            "no-reply@app.example.com",
            "No_Reply.Cuentas@example.com",
            "donotreply@example.com",
            "do-not-reply@example.com",
            "noreply+bounce-123@example.com",
            "noresponder@bancoestado.example.cl",
            "no-responder@example.cl",
            "naoresponda@example.com.br",
        )
    ),
]


@pytest.mark.parametrize(("parsed", "context", "kind", "named"), CASES)
def test_classify(parsed: ParsedMail, context: RuleContext, kind: MailKind, named: str) -> None:
    """Each kind of mail gets its verdict, and the reason names what triggered it."""
    verdict = classify(parsed, context)
    assert (verdict.kind, verdict.process, verdict.may_autoreply) == (kind, *OUTCOME[kind])
    if kind is MailKind.NORMAL:
        assert verdict.reason == ""
    else:
        assert named in verdict.reason


def test_reason_is_one_bounded_line() -> None:
    """A hostile header value cannot flood the operator's log with a huge reason."""
    verdict = classify(mail(list_id="x" * 5000 + "\r\n\tmore"), ctx())
    assert verdict.kind is MailKind.BULK
    assert len(verdict.reason) < 200
    assert "\n" not in verdict.reason


def test_every_auto_submitted_value_counts() -> None:
    """A second Auto-Submitted header other than "no" still marks the mail automatic."""
    parsed = ParsedMail(
        message_id=None,
        subject="Fuga",
        from_addr="ana@example.com",
        headers={"auto-submitted": ("no", "auto-generated")},
    )
    assert classify(parsed, ctx()).kind is MailKind.AUTO_REPLY


# Robots that carry no RFC 3834 header: out-of-office subjects, other help desks, and
# challenge-response filters (issue 15, item 9). Each is an auto-reply: kept, never answered.
ROBOT_SUBJECTS = (
    "Respuesta automática: Fuga de agua",
    "Fuera de la oficina: Fuga de agua",
    "Out of Office: Fuga de agua",
    "Automatic reply: Fuga de agua",
    "Resposta automática: Fuga de agua",
    "Ausência: Fuga de agua",
    "Réponse automatique : Fuga de agua",
    "Absence: Fuga de agua",
    "Abwesenheitsnotiz: Fuga de agua",
    "Automatische Antwort: Fuga de agua",
    "AUTO: Ana Pérez is out of the office (returning 02/03/2026)",
    "[rt.example.org #123] AutoReply: Fuga de agua",
    "Please confirm you are human",
)


@pytest.mark.parametrize("subject", ROBOT_SUBJECTS)
def test_robot_subjects_are_never_answered(subject: str) -> None:
    verdict = classify(mail(subject=subject), ctx())
    assert (verdict.kind, verdict.may_autoreply) == (MailKind.AUTO_REPLY, False)


@pytest.mark.parametrize(
    "subject",
    (
        "Ausencia de agua en el piso 4",
        "Ausência de água na torre B",
        "Absence of light in the garage",
        "Fuera de servicio el ascensor de la oficina",
        "Automatic gate broken",
        "auto: estacionamiento ocupado por visita",
        "[Edificio Central #4] respuesta del conserje",
    ),
)
def test_residents_subjects_with_robot_words_are_requests(subject: str) -> None:
    assert classify(mail(subject=subject), ctx()).kind is MailKind.NORMAL


@pytest.mark.parametrize(
    ("header", "value"),
    (
        ("RT-Ticket", "rt.example.org #123"),
        ("RT-Originator", "ana@example.com"),
        ("X-Zendesk-From-Account-Id", "a1b2c3"),
        ("X-Freshdesk-Ticket-Id", "555"),
        ("X-JIRA-FingerPrint", "0123abcd"),
        ("X-Mailer", "osTicket Mailer"),
        ("X-Spam-Challenge", "yes"),
    ),
)
def test_other_help_desks_and_challenges_are_never_answered(header: str, value: str) -> None:
    verdict = classify(mail(named={header: value}), ctx())
    assert (verdict.kind, verdict.may_autoreply) == (MailKind.AUTO_REPLY, False)
    assert header.lower() in verdict.reason.lower() or value in verdict.reason


@pytest.mark.parametrize(
    "sender", ("verify@boxbe.com", "challenge@mailblocks.com", "noti@mx.spamarrest.com")
)
def test_challenge_services_are_never_answered(sender: str) -> None:
    assert classify(mail(from_addr=sender), ctx()).kind is MailKind.AUTO_REPLY
