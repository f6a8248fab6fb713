"""Mail going out: who hears of a ticket (notify), rendering and building mail
(compose, mailer), the persistent outbox and the transports that deliver it."""
