"""Is this mail really from a staff member, about this ticket? (pure)

A `From:` header is trivially forged, so a mail changes a ticket only when its
sender is configured staff AND the mail proves it:

1. it was sent to a reply address signed for that very staff member, for the ticket
   it acts on, and not yet expired (only the notices we sent them carry one; each
   notice carries a fresh one, good for `desk.staff_reply_days`), or
2. the topmost `Authentication-Results` header was added by a server the operator
   trusts (`desk.trusted_authserv_ids`) and shows DMARC passing for the sender's
   domain, or DKIM signed by it, and no DMARC fail (see `authresults`). This proves
   the domain only: on a shared domain (gmail.com) only the signed address proves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from maildesk import signing
from maildesk.config import Config, StaffConfig
from maildesk.domain import ParsedMail
from maildesk.inbound import authresults


@dataclass(frozen=True, slots=True)
class StaffProof:
    member: StaffConfig | None
    proven: bool
    reason: str


def check(
    mail: ParsedMail,
    *,
    recipients: Sequence[str],
    config: Config,
    ticket_number: int | None,
    now: datetime,
) -> StaffProof:
    """The staff member the mail claims to be from, and whether it proves it for
    `ticket_number` (the ticket it acts on; None for a mail naming no ticket)."""
    member = config.staff_member(mail.from_addr)
    if member is None:
        return StaffProof(None, False, "the sender is not configured staff")
    desk, secret = config.desk.address, config.desk.secret_key
    for address in recipients:
        signed_for = signing.proves_recipient(
            address.strip().strip("<>"), desk, secret, mail.from_addr, now=now
        )
        if signed_for is not None and signed_for == ticket_number:
            return StaffProof(member, True, f"sent to the reply address signed for {member.email}")
    passed = authresults.from_domain_proof(
        mail.headers.get("authentication-results", ()),
        trusted=config.desk.trusted_authserv_ids,
        from_domain=signing.split_address(member.email)[1],
        dkim_counts=True,
    )
    if passed:
        return StaffProof(member, True, passed)
    return StaffProof(
        member,
        False,
        f"From: {member.email} is not proven (no unexpired reply address signed for it "
        "and this ticket, no trusted DMARC or aligned DKIM pass)",
    )
