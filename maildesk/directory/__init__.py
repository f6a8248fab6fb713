"""The directory of a desk: its units, the people who live or work there, and how.

`sheet.py` reads an administration's CSV or XLSX, `rows.py` checks every row of it
(pure), `load.py` writes a checked file in one transaction, and `lookup.py` answers
"who wrote" and "which unit is 402" for the ticket actions and the commands.
"""
