"""Accept one raw mail from any intake: store it durably, then try to process it.

The listener and the MTA pipe call this and answer their peer from the result:
once `accept` returns, the mail is committed and will not be lost, even if its
processing failed (the daemon retries pending mail). A `TemporaryError` means
it was not stored, or stored but not processed for want of disk or database, and
the peer must retry (the copy it sends again is deduplicated).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from maildesk.context import Desk
from maildesk.inbound import store as ingest
from maildesk.inbound.runner import process_one
from maildesk.storage import disk_full_is_temporary


@dataclass(frozen=True, slots=True)
class Accepted:
    inbound_id: int
    created: bool
    status: str


def accept(
    desk: Desk,
    raw: bytes,
    *,
    source: str,
    source_key: str | None = None,
    envelope_from: str | None = None,
    envelope_to: Sequence[str] = (),
    backfill: bool = False,
) -> Accepted:
    with disk_full_is_temporary():
        desk.blobs.check_room(len(raw))
    with desk.db.transaction() as session:
        stored = ingest.store(
            session,
            desk_id=desk.desk_id,
            raw=raw,
            source=source,
            now=desk.clock.now(),
            source_key=source_key,
            envelope_from=envelope_from,
            envelope_to=envelope_to,
            backfill=backfill,
        )
    # Also for a duplicate: a crash may have left the first copy stored but unprocessed.
    status = process_one(desk, stored.inbound_id)
    return Accepted(stored.inbound_id, stored.created, status)
