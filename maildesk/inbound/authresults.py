"""Does the receiving server vouch for a mail's From domain? (pure)

Reads the `Authentication-Results` header of RFC 8601 with authres (its grammar:
nested comments, quoted strings, `method=result reason=… ptype.property=value`), so
text such as `header.d=` inside a comment or a quoted reason is never a property.

Only the topmost header counts, and only when its authserv-id is one the operator
trusts: every header below it arrived with the mail and may be the sender's own
(RFC 8601 sections 5 and 7). In it, a DMARC pass for the From domain proves that
domain, and so does a DKIM pass signed by it (or its parent) when the caller allows
DKIM; a DMARC fail anywhere refuses whatever else passed. SPF proves only the
envelope sender's domain, never the From address, so it proves nothing here. None of
this proves a mailbox: anyone with an account on the same domain passes too.
"""

from __future__ import annotations

from collections.abc import Sequence

import authres


def _aligned(signer: str, from_domain: str) -> bool:
    """DMARC's relaxed alignment: the same domain, or a parent of it (never a bare TLD)."""
    signer = signer.strip().lower().rstrip(".")
    return "." in signer and (from_domain == signer or from_domain.endswith("." + signer))


def _property(result: authres.AuthenticationResult, ptype: str, name: str) -> str:
    for prop in result.properties:
        if prop.type.lower() == ptype and prop.name.lower() == name:
            return str(prop.value).strip()
    return ""


def _domain_of(value: str) -> str:
    """`header.i=@sub.example.org` or `header.from=example.org` -> its domain."""
    return value.rpartition("@")[2].strip().lower().rstrip(".")


def topmost_trusted(
    headers: Sequence[str], trusted: Sequence[str]
) -> authres.AuthenticationResultsHeader | None:
    """The topmost header, parsed, when a trusted server wrote it; else None."""
    if not headers or not trusted:
        return None
    try:
        parsed = authres.AuthenticationResultsHeader.parse_value(headers[0])
    except (authres.AuthResError, ValueError):
        return None
    authserv_id = str(parsed.authserv_id or "").lower()
    return parsed if authserv_id in {t.strip().lower() for t in trusted} else None


def from_domain_proof(
    headers: Sequence[str], *, trusted: Sequence[str], from_domain: str, dkim_counts: bool
) -> str | None:
    """Why the trusted topmost header proves `from_domain` (for the logs), else None."""
    parsed = topmost_trusted(headers, trusted)
    if parsed is None:
        return None
    from_domain = from_domain.strip().lower().rstrip(".")
    results = [r for r in parsed.results if r.method]
    if any(r.method.lower() == "dmarc" and r.result.lower() == "fail" for r in results):
        return None
    by = f"by {parsed.authserv_id}"
    for result in results:
        method, verdict = result.method.lower(), result.result.lower()
        if verdict != "pass":
            continue
        if method == "dmarc" and _domain_of(_property(result, "header", "from")) == from_domain:
            return f"dmarc=pass for {from_domain} {by}"
        if method == "dkim" and dkim_counts:
            signer = _property(result, "header", "d") or _domain_of(
                _property(result, "header", "i")
            )
            if signer and _aligned(signer, from_domain):
                return f"dkim=pass signed by {signer} for {from_domain} {by}"
    return None
