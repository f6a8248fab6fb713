"""Alembic migrations of maildesk's schema, one file each under `versions/`.

`HEAD` is the newest revision, known without importing Alembic: every command but
`init`, `db upgrade` and `run` only compares the database's `alembic_version` with it,
and a unit test (tests/unit/test_schema_head.py) keeps it equal to the head of `versions/`.
"""

HEAD = "0021"
