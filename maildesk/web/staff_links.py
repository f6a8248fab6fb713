"""One-time sign-in links for the staff console: made, mailed, and spent once.

A link carries the staff address, a random nonce and the moment it was made, signed
with the desk's secret (itsdangerous, under a salt of its own). It is good for
`LINK_MINUTES` by the desk's clock and works once: spending it records the nonce, and
a unique nonce makes a second use fail even from two workers at the same moment.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.context import Desk
from maildesk.domain import OutboxKind
from maildesk.models import StaffLinkUse
from maildesk.outbound.mailer import queue_mail

LINK_MINUTES = 15
_SALT = "maildesk-staff-link"


@dataclass(frozen=True, slots=True)
class Claim:
    """What a valid link says: who, which nonce, made when."""

    email: str
    nonce: str
    made_at: datetime


def _serializer(desk: Desk) -> URLSafeSerializer:
    return URLSafeSerializer(desk.secret, salt=_SALT)


def make_token(desk: Desk, email: str, now: datetime) -> str:
    payload = {"e": email.strip().lower(), "n": secrets.token_urlsafe(18), "t": now.timestamp()}
    return str(_serializer(desk).dumps(payload))


def link_url(desk: Desk, token: str) -> str:
    return f"{desk.config.desk.base_url.rstrip('/')}/staff/entrar/{token}"


def read(desk: Desk, token: str, now: datetime) -> Claim | None:
    """The link's claim when it is signed by this desk, not expired and for staff."""
    try:
        payload = _serializer(desk).loads(token)
    except BadSignature:
        return None
    if not isinstance(payload, dict):
        return None
    email, nonce, made = payload.get("e"), payload.get("n"), payload.get("t")
    if not (isinstance(email, str) and isinstance(nonce, str) and isinstance(made, float)):
        return None
    made_at = datetime.fromtimestamp(made, tz=now.tzinfo)
    if not made_at <= now <= made_at + timedelta(minutes=LINK_MINUTES):
        return None
    if not desk.is_staff(email):
        return None
    return Claim(email, nonce, made_at)


def used(session: Session, nonce: str) -> bool:
    return (
        session.scalars(select(StaffLinkUse.id).where(StaffLinkUse.nonce == nonce)).first()
        is not None
    )


def spend(session: Session, claim: Claim, now: datetime) -> None:
    """Record the link as used; the unique nonce refuses a concurrent second use."""
    session.add(StaffLinkUse(nonce=claim.nonce, email=claim.email, used_at=now))
    session.flush()


def send_link(session: Session, desk: Desk, typed: str, now: datetime) -> None:
    """Mail a link when `typed` is a staff address; the same work (a signed link) either way."""
    email = typed.strip().lower()
    token = make_token(desk, email, now)
    member = desk.config.staff_member(email)
    if member is None:
        return
    queue_mail(
        session,
        desk,
        kind=OutboxKind.STAFF_LINK,
        to=member.email,
        to_name=member.name,
        now=now,
        automatic=True,
        context={"name": member.name, "url": link_url(desk, token), "minutes": LINK_MINUTES},
    )
