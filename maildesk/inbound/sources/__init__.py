"""The three intakes: IMAP mailbox, SMTP/LMTP listener, MTA pipe."""
