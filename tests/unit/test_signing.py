"""Signed reply addresses, Message-IDs and tokens."""

from __future__ import annotations

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
    assert signing.tokens_equal(token, token) and not signing.tokens_equal(token, token[:-1] + "x")


def test_desk_address_and_extensions() -> None:
    """The desk address and its + extensions are ours; look-alikes are not."""
    assert signing.is_desk_address("Soporte@Alameda.example", DESK)
    assert signing.is_desk_address("soporte+12-abc@alameda.example", DESK)
    assert not signing.is_desk_address("soportex@alameda.example", DESK)
    assert not signing.is_desk_address("soporte@other.example", DESK)
