"""Is a reply really the resident's own, so that it may confirm, reject or reopen? (pure)

Anyone can write the requester's address in `From:` and the ticket's tag in the
subject. A reply proves it came from someone we wrote to when it was sent to the
ticket's signed reply address (`<local>+<number>-<sig>@`, only our mails carry it),
and proves the From domain when the trusted topmost `Authentication-Results` shows
DMARC passing for it (see `authresults`). Without either, the reply is still kept,
marked unverified, and changes nothing that matters (`tickets.resident.replied`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from maildesk import signing
from maildesk.config import Config
from maildesk.domain import ParsedMail
from maildesk.inbound import authresults


@dataclass(frozen=True, slots=True)
class ResidentProof:
    verified: bool
    reason: str


def check(
    mail: ParsedMail, *, recipients: Sequence[str], config: Config, ticket_number: int
) -> ResidentProof:
    """Whether this mail proves its sender for ticket `ticket_number`, and why."""
    desk, secret = config.desk.address, config.desk.secret_key
    for address in recipients:
        bare = address.strip().strip("<>")
        signed = signing.parse_reply_address(bare, desk, secret, sender=mail.from_addr)
        if signed == ticket_number:
            return ResidentProof(True, f"sent to the reply address of ticket {ticket_number}")
    passed = authresults.from_domain_proof(
        mail.headers.get("authentication-results", ()),
        trusted=config.desk.trusted_authserv_ids,
        from_domain=signing.split_address(mail.from_addr)[1],
        dkim_counts=False,
    )
    if passed:
        return ResidentProof(True, passed)
    return ResidentProof(
        False,
        f"From: {mail.from_addr} is not proven (not sent to the reply address of ticket "
        f"{ticket_number}, no trusted DMARC pass)",
    )
