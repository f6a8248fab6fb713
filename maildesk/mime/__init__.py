"""Reading what senders get wrong in MIME, one job per module, for `maildesk.inbound.parse`.

`tree` (the tree of a raw mail, built piece by piece), `parts` (the walk over the tree:
body text, files, defects), `charsets` (lying
labels, encoded words, raw 8-bit octets), `filenames` (names and types of the files
found), `tnef` (Outlook's winmail.dat), `uuencode` (files pasted into a body),
`bounces` (which of our mails came back) and `html` (sanitising and reading HTML
bodies). The helpers take bytes, text or an already parsed
`email.message.Message` and return plain values plus defect strings; an unreadable
container raises `ValueError` so the caller keeps its bytes. Nothing here imports
mail-parser, logs or touches the disk.
"""
