"""The whole desk in one archive and back: `maildesk backup` and `maildesk restore`.

`manifest` says what an archive holds and checks it, `database` copies the database
out and in (SQLite's online backup API, `pg_dump`/`pg_restore`), `archive` writes an
archive, and `restore` puts one back without ever leaving half a desk.
"""
