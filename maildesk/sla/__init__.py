"""Time on tickets: the SLA clock (pure), the escalation policy (pure), and the
scheduled passes that act on them (escalate, digest, jobs, housekeeping)."""
