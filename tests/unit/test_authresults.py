"""Authentication-Results read by RFC 8601's grammar: hostile headers prove nothing."""

from __future__ import annotations

import pytest

from maildesk.inbound.authresults import from_domain_proof

MX = "mx.alameda.example"


def proof(*headers: str, dkim: bool = True, domain: str = "alameda.example") -> str | None:
    return from_domain_proof(headers, trusted=[MX], from_domain=domain, dkim_counts=dkim)


def test_dmarc_pass_or_aligned_dkim_from_the_trusted_server_proves_the_domain() -> None:
    """The honest cases: DMARC pass for the From domain, or DKIM signed by it (or its parent)."""
    assert proof(f"{MX}; dmarc=pass (p=reject) header.from=alameda.example") is not None
    assert proof(f"{MX}; dkim=pass header.d=alameda.example header.s=s1") is not None
    assert proof(f"{MX}; dkim=pass header.i=@alameda.example") is not None
    assert proof(f"{MX}; dkim=pass header.d=alameda.example", domain="mail.alameda.example")
    assert proof(f"{MX.upper()}; DKIM=Pass header.d=Alameda.Example") is not None


@pytest.mark.parametrize(
    "header",
    [
        # the property hides in a comment, nested or not
        f"{MX}; spf=pass (smtp.mailfrom=ana@alameda.example) smtp.mailfrom=x@evil.example",
        f"{MX}; dkim=pass (x (header.d=alameda.example) y) header.d=evil.example",
        f"{MX}; dmarc=pass (header.from=alameda.example) header.from=evil.example",
        # in a quoted reason
        f'{MX}; dkim=pass reason="header.d=alameda.example" header.d=evil.example',
        f'{MX}; dmarc=pass reason="ok; header.from=alameda.example" header.from=evil.example',
        # SPF proves the envelope domain, never From
        f"{MX}; spf=pass smtp.mailfrom=ana@alameda.example",
        # DKIM of another domain, or a bare TLD, or one that merely ends alike
        f"{MX}; dkim=pass header.d=evil.example",
        f"{MX}; dkim=pass header.d=example",
        f"{MX}; dkim=pass header.d=notalameda.example",
        # dmarc=fail anywhere refuses, whatever else passed
        f"{MX}; dkim=pass header.d=alameda.example; dmarc=fail header.from=alameda.example",
        f"{MX}; dmarc=fail header.from=alameda.example; dkim=pass header.d=evil.example",
        f"{MX}; dmarc=fail header.from=evil.example; dkim=pass header.d=alameda.example",
        # results that are not pass
        f"{MX}; dkim=fail header.d=alameda.example; dmarc=none header.from=alameda.example",
        f"{MX}; dkim=neutral header.d=alameda.example",
        # written by someone else, or unreadable
        "mx.evil.example; dkim=pass header.d=alameda.example",
        f"{MX}.evil.example; dkim=pass header.d=alameda.example",
        f"{MX}; dkim=pass header.d=alameda.example (unterminated",
        f"{MX};",
        "",
    ],
)
def test_hostile_headers_prove_nothing(header: str) -> None:
    """Comment tricks, quoted strings, SPF, foreign DKIM, dmarc=fail, untrusted ids and junk."""
    assert proof(header) is None


def test_only_the_topmost_header_counts() -> None:
    """A passing header below the top one was written before our server saw the mail: ignored."""
    forged_below = f"{MX}; dkim=pass header.d=alameda.example"
    assert proof(f"{MX}; dkim=fail header.d=alameda.example", forged_below) is None
    assert proof("mx.evil.example; none", forged_below) is None
    assert proof(forged_below, "mx.evil.example; none") is not None


def test_dkim_does_not_count_when_the_caller_needs_dmarc() -> None:
    """A resident's mail needs DMARC for their own domain: an aligned DKIM pass alone is not enough."""
    assert proof(f"{MX}; dkim=pass header.d=alameda.example", dkim=False) is None
    assert proof(f"{MX}; dmarc=pass header.from=alameda.example", dkim=False) is not None


def test_nothing_is_trusted_without_a_configured_server() -> None:
    """No trusted authserv-id configured: no header proves anything."""
    header = f"{MX}; dmarc=pass header.from=alameda.example"
    assert (
        from_domain_proof([header], trusted=[], from_domain="alameda.example", dkim_counts=True)
        is None
    )
