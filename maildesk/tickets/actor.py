"""Who acts on a ticket, and what they may do to it.

Every ticket action takes an `Actor`: the address (or "system"), the role and the
way they came (mail, page, console, CLI, scheduler). Rights are decided here, once,
for every caller (PVI's rule): supervisors and above act on every ticket of their
desk; an agent acts fully on their own and their team's tickets and may only comment
and answer on the others; a resident acts on their own ticket; the system on any.
"""

from __future__ import annotations

from dataclasses import dataclass

from maildesk.config import StaffConfig
from maildesk.domain import STAFF_ROLES, SUPERVISING, Role, Via
from maildesk.errors import Refused
from maildesk.models import Ticket


@dataclass(frozen=True, slots=True)
class Actor:
    """One person (or the system) acting through one channel."""

    email: str
    role: Role
    via: Via
    name: str = ""
    teams: tuple[str, ...] = ()

    @classmethod
    def staff(cls, member: StaffConfig, via: Via) -> Actor:
        return cls(
            email=member.email.lower(),
            role=Role(member.role),
            via=via,
            name=member.name,
            teams=tuple(member.teams),
        )

    @classmethod
    def resident(cls, email: str, via: Via, name: str = "") -> Actor:
        return cls(email=email.strip().lower(), role=Role.RESIDENT, via=via, name=name)

    @classmethod
    def system(cls) -> Actor:
        return cls(email="system", role=Role.SYSTEM, via=Via.SCHEDULER)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def shown_name(self) -> str:
        """The name a resident may see: never the staff address."""
        return self.name or self.email.split("@")[0]


def may_change(actor: Actor, ticket: Ticket) -> bool:
    """Whether `actor` may change the ticket's state, owner, priority or category."""
    if actor.role is Role.SYSTEM or actor.role in SUPERVISING:
        return True
    if actor.role is Role.AGENT:
        mine = (ticket.assignee or "").lower() == actor.email
        return mine or ticket.team in actor.teams
    if actor.role is Role.RESIDENT:
        # The requester, or someone copied on the request (correlate admitted them).
        on_ticket = (p.email for p in ticket.participants if p.role != "vendor")
        return ticket.requester_email.lower() == actor.email or actor.email in on_ticket
    return False


def require_change(actor: Actor, ticket: Ticket) -> None:
    if not may_change(actor, ticket):
        raise Refused("forbidden", f"{actor.role.value}, ticket of team {ticket.team or '-'}")


def require_comment(actor: Actor, ticket: Ticket) -> None:
    """Any staff member of the desk may answer the resident or add a note."""
    if not (actor.is_staff or actor.role is Role.SYSTEM):
        raise Refused("forbidden", f"{actor.role.value} cannot write for the desk")
