"""The schema revision every command checks is the head of the migrations folder."""

from __future__ import annotations

from alembic.config import Config
from alembic.script import ScriptDirectory

from maildesk.db import MIGRATIONS
from maildesk.migrations import HEAD


def test_head_constant_is_the_migrations_head() -> None:
    """`maildesk.migrations.HEAD` names the one head of versions/ (update it with each migration)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_heads() == [HEAD]
