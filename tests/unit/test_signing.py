"""Signed reply addresses, Message-IDs and tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from maildesk import signing

DESK = "soporte@alameda.example"
SECRET = "k"


def test_reply_address_round_trip() -> None:
    """A reply address names its ticket and verifies with the desk's secret."""
    address = signing.reply_address(DESK, 1234, SECRET)
    assert address.startswith("soporte+1234-") and address.endswith("@alameda.example")
    assert signing.parse_reply_address(address.upper(), DESK, SECRET) == 1234


def test_forged_or_foreign_reply_address_is_refused() -> None:
    """Another number with a copied signature, another secret or another domain all fail."""
    address = signing.reply_address(DESK, 1234, SECRET)
    forged = address.replace("+1234-", "+1235-")
    assert signing.parse_reply_address(forged, DESK, SECRET) is None
    assert signing.parse_reply_address(address, DESK, "other") is None
    assert signing.parse_reply_address(address.replace("alameda", "evil"), DESK, SECRET) is None
    assert signing.parse_reply_address("soporte@alameda.example", DESK, SECRET) is None


def test_message_id_is_recognised_without_the_database() -> None:
    """Our Message-IDs carry the ticket and a signature; tampering breaks it."""
    mid = signing.message_id("alameda.example", 77, SECRET, nonce="abc123")
    assert signing.parse_message_id(mid, SECRET) == 77
    assert signing.parse_message_id(mid.replace(".77.", ".78."), SECRET) is None
    assert signing.parse_message_id("<CAF=xyz@mail.gmail.com>", SECRET) is None


def test_tokens_are_long_random_and_compared_safely() -> None:
    """Status tokens carry at least 128 bits and never repeat."""
    tokens = {signing.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    assert all(len(t) >= 32 for t in tokens)
    token = next(iter(tokens))
    other = token[:-1] + ("x" if token[-1] != "x" else "y")
    assert signing.tokens_equal(token, token) and not signing.tokens_equal(token, other)


def test_desk_address_and_extensions() -> None:
    """The desk address and its + extensions are ours; look-alikes are not."""
    assert signing.is_desk_address("Soporte@Alameda.example", DESK)
    assert signing.is_desk_address("soporte+12-abc@alameda.example", DESK)
    assert not signing.is_desk_address("soportex@alameda.example", DESK)
    assert not signing.is_desk_address("soporte@other.example", DESK)


def test_staff_reply_address_is_bound_to_recipient_ticket_and_expiry() -> None:
    """A staff reply address proves its own recipient, on its own ticket, until its last day."""
    sent = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    address = signing.staff_reply_address(DESK, 2, SECRET, "ana@alameda.example", now=sent, days=30)
    assert signing.proves_recipient(address, DESK, SECRET, "ana@alameda.example", now=sent) == 2
    last_day = sent + timedelta(days=30)
    assert signing.proves_recipient(address, DESK, SECRET, "Ana@alameda.example", now=last_day) == 2
    expired = last_day + timedelta(days=1)
    assert (
        signing.proves_recipient(address, DESK, SECRET, "ana@alameda.example", now=expired) is None
    )
    assert signing.proves_recipient(address, DESK, SECRET, "luis@alameda.example", now=sent) is None
    # the day cannot be pushed forward, nor the ticket changed, without the secret
    number, until, sig = address.split("@")[0].split("+")[1].split("-")
    later = address.replace(f"-{until}-", f"-{int(until) + 300}-")
    assert signing.proves_recipient(later, DESK, SECRET, "ana@alameda.example", now=expired) is None
    other = address.replace(f"+{number}-", "+3-")
    assert signing.proves_recipient(other, DESK, SECRET, "ana@alameda.example", now=sent) is None
    # a resident's (unbound) address proves no staff member
    plain = signing.reply_address(DESK, 2, SECRET)
    assert signing.proves_recipient(plain, DESK, SECRET, "ana@alameda.example", now=sent) is None
    # it still threads into its ticket for its recipient, expired or not
    assert signing.parse_reply_address(address, DESK, SECRET, sender="ana@alameda.example") == 2
    assert signing.parse_reply_address(address, DESK, SECRET) is None


def test_list_link_carries_address_and_expiry_and_refuses_forgery() -> None:
    """The /mis-solicitudes token reads back its address and expiry; altered or foreign ones read as None."""
    until = datetime(2026, 12, 1, 13, 0, tzinfo=UTC)
    token = signing.list_link_token("s3cret", " Vecina@Correo.example", until)
    assert signing.read_list_link("s3cret", token) == ("vecina@correo.example", until)
    assert signing.read_list_link("other", token) is None
    payload, _, sig = token.rpartition(".")
    assert signing.read_list_link("s3cret", payload + "." + sig[::-1]) is None
    assert signing.read_list_link("s3cret", "garbage") is None
