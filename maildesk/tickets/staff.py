"""What staff do to a ticket: take, assign, priority, category, unit, type, dates, cause,
state, vendor, answer, note.

`StaffUpdate` is one staff member's change to one ticket, made of one or more actions
(a mail with `#tomar` and `#espera` and an answer, or one console form). Each action
checks the actor's rights and the state machine (raising `Refused`, with nothing
changed by that action), changes the ticket, writes the history and queues the staff
notices it causes. The resident hears once, when the update finishes: in the answer
itself when there is one, else in a short notice of the last change that matters to
them (taken, waiting, resolved, closed, reopened). The ticket's holder (assignee, else
team) hears once too, when someone else answered, moved or reassigned their ticket and
no other notice of this update reached them.

Closing rules are checked when the update ends, so that `#causa` may follow `#cerrar`:
with `desk.require_cause_on_close` a resolved or closed ticket needs a final cause, and a
category with `require_note`/`require_attachment` needs a closing note and a file in
the closing message; otherwise the whole update is refused.

Mail commands (`staffmail`), the console and the CLI all go through here.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime

from sqlalchemy.orm import Session

from maildesk.config import Config
from maildesk.context import Desk
from maildesk.directory import lookup as directory
from maildesk.domain import Attachment as MailAttachment
from maildesk.domain import (
    Change,
    Channel,
    EventKind,
    Notice,
    OutboxKind,
    ParticipantRole,
    State,
)
from maildesk.errors import Refused
from maildesk.kb.index import kb_root
from maildesk.kb.write import add_from_ticket
from maildesk.labels import event_label, state_label
from maildesk.localtime import local_day
from maildesk.models import Ticket
from maildesk.outbound import notify
from maildesk.outbound.mailer import queue_mail
from maildesk.tickets import states
from maildesk.tickets.actor import Actor, may_change, require_change, require_comment
from maildesk.tickets.changes import (
    assign,
    mark_first_response,
    set_field,
    set_unit,
    transition,
)
from maildesk.tickets.history import (
    add_note,
    add_participant,
    first_public_message,
    record_event,
)
from maildesk.tickets.opening import is_address, open_for_resident
from maildesk.tickets.states import Action

# The resident hears of these changes.
_CHANGE_FOR = {
    Action.WAIT: Change.WAITING,
    Action.RESOLVE: Change.RESOLVED,
    Action.CLOSE: Change.CLOSED,
    Action.REOPEN: Change.REOPENED,
}


def _resident_change(before: State, action: Action, success: bool) -> Change | None:
    if before is State.RECIBIDO and action in (Action.TAKE, Action.ASSIGN, Action.START):
        return Change.TAKEN
    if action is Action.CLOSE and not success:
        return Change.CLOSED_FAILED
    return _CHANGE_FOR.get(action)


def closing_refusal(
    config: Config, *, category: str, cause: str | None, note: str, files: int
) -> Refused | None:
    """Why a resolution or closure may not stand (pure): Seiton's final cause when the desk
    requires one, the category's closing note and evidence file; None when it may."""
    if config.desk.require_cause_on_close and not cause:
        return Refused("cause_required", ", ".join(config.causes))
    rules = config.categories.get(category)
    if rules is not None and rules.require_note and not note.strip():
        return Refused("evidence_note", category)
    if rules is not None and rules.require_attachment and not files:
        return Refused("evidence_attachment", category)
    return None


class StaffUpdate:
    """One staff member's change to one ticket; see the module docstring."""

    def __init__(
        self, session: Session, desk: Desk, ticket: Ticket, actor: Actor, now: datetime
    ) -> None:
        self.session, self.desk, self.ticket, self.actor, self.now = (
            session,
            desk,
            ticket,
            actor,
            now,
        )
        self.change: Change | None = None
        self.note_for_resident = ""
        self.answered = False
        # Who holds the ticket before the update, what they will hear of, and who
        # already heard of this update through another notice.
        self.holders = notify.staff_for(desk, ticket)
        self.done: list[str] = []
        self.told: set[str] = set()
        # Rights are those the actor had on the ticket when the update began: handing
        # it to someone else does not forbid the rest of the same update.
        self.may_change = may_change(actor, ticket)
        # What closing evidence this update brings: the note and the files of its message.
        self.closing: str | None = None
        self.files = 0
        # `#kb`: the article is written when the update ends, from its answer if any.
        self.to_kb = False
        self.answer_text = ""

    def _require_change(self) -> None:
        if not self.may_change:
            require_change(self.actor, self.ticket)

    def _did(self, kind: EventKind, what: str, note: str = "") -> None:
        line = f"{event_label(kind.value, self.desk.language)}: {what}"
        self.done.append(f"{line} — {note}" if note.strip() else line)

    def _tell_staff(self, notice: Notice, text: str) -> None:
        """A notice to the ticket's people now; they need no second one at the end."""
        people = notify.staff_for(self.desk, self.ticket, exclude=self.actor.email)
        self.told.update(p.email.lower() for p in people)
        notify.notify_staff(
            self.session,
            self.desk,
            self.ticket,
            notice=notice,
            text=text,
            now=self.now,
            actor=self.actor.email,
            people=people,
        )

    # --- the state machine --------------------------------------------------------

    def _move(self, action: Action, note: str = "", success: bool = True) -> None:
        self._require_change()
        before = State(self.ticket.state)
        after = transition(
            self.session,
            self.ticket,
            action,
            config=self.desk.config,
            actor=self.actor.email,
            now=self.now,
            note=note,
            success=success,
        )
        if after is before:
            return
        language = self.desk.language
        self._did(
            EventKind.STATE,
            f"{state_label(before, language)} → {state_label(after, language)}",
            note,
        )
        if action in (Action.RESOLVE, Action.CLOSE):
            self.closing = (self.closing or "") + note
        change = _resident_change(before, action, success)
        if change is not None:
            self.change = change
            self.note_for_resident = self.note_for_resident or note

    def wait(self, note: str = "") -> None:
        self._move(Action.WAIT, note)

    def resolve(self, note: str) -> None:
        if not note.strip():
            raise Refused("note_required", "resolve")
        self._move(Action.RESOLVE, note)

    def close(self, note: str, *, success: bool = True) -> None:
        """No undocumented closure: the note says what was done, or why it failed."""
        if not note.strip():
            raise Refused("note_required", "close")
        self._move(Action.CLOSE, note, success)

    def reopen(self, note: str = "") -> None:
        self._move(Action.REOPEN, note)
        self._tell_staff(Notice.REOPENED, note)

    def set_state(self, target: State, note: str = "", *, success: bool = True) -> None:
        """`#estado <target>`: the action that leads there from the ticket's state."""
        try:
            action = states.action_towards(State(self.ticket.state), target)
        except states.InvalidTransition as exc:
            raise Refused("invalid_transition", str(exc)) from exc
        if action is Action.REOPEN:
            self.reopen(note)
        elif action in (Action.RESOLVE, Action.CLOSE) and not note.strip():
            raise Refused("note_required", target.value)
        elif action is not None:
            self._move(action, note, success)

    # --- owner, priority, category -----------------------------------------------

    def take(self, note: str = "") -> None:
        member = self.desk.config.staff_member(self.actor.email)
        if member is None:
            raise Refused("forbidden", f"{self.actor.email} is not staff of this desk")
        self._give(member.email, member.teams)
        self._move(Action.TAKE, note)

    def assign(self, to: str, note: str = "") -> None:
        """To a staff member (the ticket keeps its team when they belong to it) or a team."""
        self._require_change()
        config = self.desk.config
        member = config.staff_member(to)
        if member is None and to not in config.teams:
            raise Refused("unknown_assignee", to)
        if member is not None:
            self._give(member.email, member.teams)
        else:
            assign(
                self.session,
                self.ticket,
                assignee=None,
                team=to,
                actor=self.actor.email,
                now=self.now,
            )
            self._did(EventKind.ASSIGNED, to)
        self._tell_staff(Notice.REASSIGNED, note or self.ticket.subject)
        self._move(Action.ASSIGN, note)

    def _give(self, email: str, teams: Sequence[str]) -> None:
        self._require_change()
        keep = self.ticket.team in teams or not teams
        assign(
            self.session,
            self.ticket,
            assignee=email,
            team=self.ticket.team if keep else teams[0],
            actor=self.actor.email,
            now=self.now,
        )
        self._did(EventKind.ASSIGNED, email)

    def set_priority(self, value: str) -> None:
        self._require_change()
        if value not in self.desk.config.priorities:
            raise Refused("unknown_priority", value)
        set_field(
            self.session,
            self.ticket,
            EventKind.PRIORITY,
            value,
            config=self.desk.config,
            actor=self.actor.email,
            now=self.now,
        )

    def set_category(self, value: str) -> None:
        self._require_change()
        if value not in self.desk.config.categories:
            raise Refused("unknown_category", value)
        set_field(
            self.session,
            self.ticket,
            EventKind.CATEGORY,
            value,
            config=self.desk.config,
            actor=self.actor.email,
            now=self.now,
        )

    def set_unit(self, text: str) -> None:
        """`#unidad 402`: the directory's unit of the request, correcting or completing the
        one found at opening; the requester's relation to it follows."""
        self._require_change()
        found = directory.find_unit(self.session, self.desk.desk_id, text)
        if found.unit is None:
            raise Refused("unknown_unit", "\n".join(found.close))
        today = local_day(self.now, timezone=self.desk.config.desk.timezone)
        relation = directory.relation_to(
            self.session, self.desk.desk_id, self.ticket.requester_email, found.unit, today
        )
        if set_unit(
            self.session,
            self.ticket,
            found.unit,
            relation=relation,
            actor=self.actor.email,
            now=self.now,
        ):
            self._did(EventKind.UNIT, directory.unit_name(found.unit))

    def set_type(self, value: str) -> None:
        """`#tipo`: a configured request type; its deadline may move the resolution's."""
        self._require_change()
        if value and value not in self.desk.config.types:
            raise Refused("unknown_type", ", ".join(self.desk.config.types))
        self._set(EventKind.TYPE, value or None)

    def set_starts_on(self, value: date | None) -> None:
        """`#inicio`: the day work on the request starts (a visit, a scheduled job)."""
        self._require_change()
        self._set(EventKind.STARTS_ON, value)

    def set_deadline(self, value: date | None) -> None:
        """`#plazo`: the day the request must be done; it becomes the resolution's due date."""
        self._require_change()
        if value is not None and value < self.ticket.opened_at.date():
            raise Refused("bad_date", value.isoformat())
        self._set(EventKind.DEADLINE, value)

    def set_cause(self, value: str) -> None:
        """`#causa`: the final cause, from `[causes]` (Seiton: "clasificación final")."""
        self._require_change()
        if value and value not in self.desk.config.causes:
            raise Refused("unknown_cause", ", ".join(self.desk.config.causes))
        self._set(EventKind.CAUSE, value or None)

    def _set(self, kind: EventKind, value: str | date | None) -> None:
        changed = set_field(
            self.session,
            self.ticket,
            kind,
            value,
            config=self.desk.config,
            actor=self.actor.email,
            now=self.now,
        )
        if changed:
            self._did(kind, value.isoformat() if isinstance(value, date) else value or "-")

    def _check_closing(self) -> None:
        """The desk's and the category's closing rules, once the update's actions are done."""
        if self.closing is None:
            return
        refused = closing_refusal(
            self.desk.config,
            category=self.ticket.category,
            cause=self.ticket.cause,
            note=self.closing,
            files=self.files,
        )
        if refused is not None:
            raise refused

    # --- words: to the resident, to colleagues, to a vendor ------------------------

    def answer(self, text: str, attachments: Sequence[MailAttachment] = ()) -> None:
        """The staff member's words to the resident, from the desk address."""
        require_comment(self.actor, self.ticket)
        if not text.strip():
            raise Refused("missing_argument", "the answer is empty")
        if not self.ticket.requester_email:
            raise Refused("bad_address", "the resident has no email (a walk-in): add a note")
        notify.answer_resident(
            self.session,
            self.desk,
            self.ticket,
            staff_name=self.actor.shown_name,
            text=text,
            now=self.now,
            attachments=[a for a in attachments if not a.inline],
            state_note=self.change,
        )
        mark_first_response(self.desk.config, self.ticket, self.now)
        record_event(
            self.session, self.ticket, actor=self.actor.email, kind=EventKind.REPLY, now=self.now
        )
        self._did(EventKind.REPLY, text.strip())
        self.answered = True
        self.answer_text = text.strip()
        self.closing = None if self.closing is None else f"{self.closing}\n{text}"
        self.files += sum(1 for a in attachments if not a.inline)

    def note(
        self,
        text: str,
        attachments: Sequence[MailAttachment] = (),
        *,
        inbound_id: int | None = None,
    ) -> None:
        """An internal note: colleagues on the ticket hear of it, the resident never."""
        require_comment(self.actor, self.ticket)
        if not text.strip() and not attachments:
            raise Refused("missing_argument", "the note is empty")
        add_note(
            self.session,
            self.desk,
            self.ticket,
            actor=self.actor.email,
            actor_name=self.actor.name,
            now=self.now,
            text=text,
            attachments=attachments,
            inbound_id=inbound_id,
        )
        self.files += sum(1 for a in attachments if not a.inline)
        self._tell_staff(Notice.NOTE, text)

    def ask_vendor(self, vendor: str, message: str = "") -> None:
        """Send the ticket's summary and first attachments to an outside vendor, from the
        desk; the vendor's reply comes back as an internal message."""
        self._require_change()
        vendor = vendor.strip().lower()
        if not is_address(vendor):
            raise Refused("bad_address", vendor)
        add_participant(self.session, self.ticket, vendor, role=ParticipantRole.VENDOR)
        first = first_public_message(self.ticket)
        files: list[MailAttachment] = []
        if first is not None:
            files = [
                MailAttachment(a.filename, a.content_type, self.desk.blobs.get(a.sha256))
                for a in first.attachments
            ]
        queue_mail(
            self.session,
            self.desk,
            kind=OutboxKind.VENDOR_REQUEST,
            to=vendor,
            ticket=self.ticket,
            now=self.now,
            public=False,
            sign_for_recipient=True,
            attachments=files,
            context={
                "subject": self.ticket.subject,
                "tagged_subject": notify.tagged(self.desk, self.ticket),
                "unit": self.ticket.unit,
                "message": message,
                "text": first.text if first is not None else "",
                "attachments": [f.filename for f in files],
            },
        )
        record_event(
            self.session,
            self.ticket,
            actor=self.actor.email,
            kind=EventKind.VENDOR,
            now=self.now,
            detail={"vendor": vendor},
        )

    def open_for(self, requester: str, note: str = "") -> Ticket:
        """`#abrir` inside a reply: a new ticket for that resident, on this subject."""
        return open_for_resident(
            self.session,
            self.desk,
            self.actor,
            requester=requester,
            name="",
            subject=self.ticket.subject,
            text=note,
            channel=Channel.EMAIL,
            now=self.now,
        )

    # --- the knowledge base --------------------------------------------------------

    def add_to_kb(self) -> None:
        """`#kb` or the console's button: the closed ticket becomes an article when the
        update ends (so `#kb` may come before `#cerrar` in a mail)."""
        self._require_change()
        self.to_kb = True

    def _write_article(self) -> None:
        """The article: the subject as title, the closing reply (else the closing note) as
        body, in the desk's language; then the index is synced."""
        if self.ticket.state != State.CERRADO.value:
            raise Refused("kb_not_closed", self.ticket.state)
        text = self.answer_text or self.ticket.resolution
        path = add_from_ticket(
            self.session,
            self.desk.desk_id,
            kb_root(self.desk),
            language=self.desk.language,
            number=self.ticket.number,
            subject=self.ticket.subject,
            text=text,
            now=self.now,
        )
        record_event(
            self.session,
            self.ticket,
            actor=self.actor.email,
            kind=EventKind.KB_ARTICLE,
            now=self.now,
            detail={"file": path.name},
        )
        self._did(EventKind.KB_ARTICLE, path.name)

    # --- the end of the update -----------------------------------------------------

    def finish(self) -> None:
        """Tell the holder what someone else did, and the resident of the change, unless
        the answer already carried it; refused when a closing rule is not met."""
        self._check_closing()
        if self.to_kb:
            self._write_article()
        holders = [
            h
            for h in self.holders
            if h.email.lower() != self.actor.email and h.email.lower() not in self.told
        ]
        if self.done and holders:
            notify.notify_staff(
                self.session,
                self.desk,
                self.ticket,
                notice=Notice.CHANGED,
                text="\n".join(self.done),
                now=self.now,
                actor=self.actor.email,
                people=holders,
            )
        if self.change is None or self.answered:
            return
        notify.tell_resident(
            self.session,
            self.desk,
            self.ticket,
            change=self.change,
            now=self.now,
            note=self.note_for_resident,
            staff_name=self.actor.shown_name if self.change is Change.TAKEN else "",
        )


@contextmanager
def update(
    session: Session, desk: Desk, ticket: Ticket, actor: Actor, now: datetime
) -> Iterator[StaffUpdate]:
    """Several actions as one change: all of them or none (a savepoint), one resident mail.

    A `Refused` from any action rolls back every action of the update and propagates.
    """
    savepoint = session.begin_nested()
    change = StaffUpdate(session, desk, ticket, actor, now)
    try:
        yield change
        change.finish()
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
