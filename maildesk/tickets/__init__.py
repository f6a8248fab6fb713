"""The public API of ticket actions: the one place that decides what happens to a ticket.

- `opening`: open by mail, or by staff for a phone call, a visit or a relayed request.
- `resident`: the resident replied, confirmed, rejected, rated.
- `staff`: take, assign, priority, category, wait, resolve, close, reopen, ask a vendor,
  answer the resident, internal note (`StaffUpdate`, all or nothing).
- `system`: auto-close, a new status link, escalations.
- `recorded`: mail kept on a ticket that changes nothing (bounces, auto-replies,
  vendors, unproven staff mail).

Each action takes the session, the desk, the ticket, the actor (`actor.Actor`: who,
with which role, by which channel) and `now`; checks the state machine and the actor's
rights (`errors.Refused` otherwise); changes the ticket; writes the history
(`history`, `changes`); and queues every mail that follows through `notify`. Mail,
status page, console, CLI and scheduler only translate their input into these calls.
This package is the only importer of `notify`.

Submodules are imported by name (`from maildesk.tickets import staff`), never here:
`history` is also what the outbound mailer records its messages with.
"""
