"""The directory of a desk: its units, the people who live or work there, and how.

`keys.py` names a unit however it is written (pure), `sheet.py` reads an
administration's CSV or XLSX, `rows.py` checks every row of it (pure), `load.py` writes
a checked file in one transaction, `lookup.py` answers "who wrote" and "which unit is
402" for the ticket actions and the commands, and `listing.py` shows the directory.
"""
