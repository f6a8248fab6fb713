"""django-helpdesk's `get_email` on the import bench's mails: the peer issue 14 measures against.

`fetch_throughput.py --peer django-helpdesk` calls `install()` before anything is timed
and `measure()` after maildesk's import. django-helpdesk runs in a venv of its own, since
it brings Django and its own dependencies, which must not meet maildesk's. The venv is
kept under `bench/.peer-venv/` (ignored by git), one folder per set of pins: installing
takes about a minute of downloads, longer than a small bench, and reusing it changes no
figure, since what is timed is the pinned django-helpdesk, Django and driver (their own
dependencies are what PyPI had at the install). `rm -r bench/.peer-venv` starts afresh.

The Django project is throwaway too: settings written into the bench's temp dir, SQLite
there or a new PostgreSQL database on `$MAILDESK_TEST_PG`'s server (dropped at the end),
migrated, with one Queue reading the bench's Dovecot over plain IMAP. django-helpdesk
tries STARTTLS first (`helpdesk/email.py`, `imap_sync`); the bench's Dovecot offers no
TLS, so it logs a warning and carries on unencrypted, as it does against any such server.
Its confirmations go to Django's in-memory mail backend: built, as maildesk builds and
enqueues its own, but not sent.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import time
import venv
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from generate_history import database_url, drop
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from tests.servers import Dovecot

PEER = "django-helpdesk"
VERSION = "2.6.1"
# Django and the PostgreSQL driver pinned as well: the figure is theirs as much as its.
PINS = (f"django-helpdesk=={VERSION}", "Django==5.2.19", "psycopg[binary]==3.3.9")
VENVS = Path(__file__).resolve().parent / ".peer-venv"

SETTINGS = """\
# Written by bench/django_helpdesk.py: a throwaway project for django-helpdesk's get_email.
SECRET_KEY = "bench"
USE_TZ = True
TIME_ZONE = "UTC"
SITE_ID = 1
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
DATABASES = {{"default": {database!r}}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
ROOT_URLCONF = "peer_urls"
MEDIA_ROOT = {media!r}
TEMPLATES = [
    {{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True}}
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "soporte@alameda.example"
HELPDESK_TEAMS_MODE_ENABLED = False
"""

URLS = """\
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls"))]
"""

# The Queue, made once migrated: IMAP without SSL on the bench's port, checked at every
# run (interval 0), errors logged to a file of its own (the last check is set because
# process_email reads it unset only when there is no log file).
QUEUE = """\
from datetime import timedelta
from django.utils import timezone
from helpdesk.models import Queue
Queue.objects.create(
    title="Soporte Alameda", slug="soporte", email_address="soporte@alameda.example",
    allow_email_submission=True, email_box_type="imap", email_box_host={host!r},
    email_box_port={port}, email_box_ssl=False, email_box_user={user!r},
    email_box_pass={password!r}, email_box_imap_folder="INBOX", email_box_interval=0,
    email_box_last_check=timezone.now() - timedelta(hours=1),
    logging_type="error", logging_dir={logs!r},
)
"""

COUNT = """\
import json
from helpdesk.models import FollowUp, FollowUpAttachment, Ticket
recipients = FollowUp.objects.values_list("email_recipients", flat=True)
print(json.dumps({"tickets": Ticket.objects.count(), "followups": FollowUp.objects.count(),
                  "attachments": FollowUpAttachment.objects.count(),
                  "confirmed": sum(1 for sent_to in recipients if sent_to)}))
"""


@dataclass(frozen=True, slots=True)
class PeerRun:
    """What one timed `get_email` did, and what it left behind."""

    elapsed: float  # the import, its command's start-up taken off
    startup: float  # `manage.py get_email` on an empty mailbox
    tickets: int
    followups: int
    attachments: int
    confirmed: int  # follow-ups whose confirmation was built and handed to the mail backend
    left: int  # mails still in the mailbox: get_email deletes each one it imported
    errors: list[str]  # its queue's error log


def install() -> Path:
    """The peer venv's python, installed from PyPI the first time (pip's output kept off ours)."""
    home = VENVS / "-".join(pin.replace("==", "-").replace("[binary]", "") for pin in PINS)
    python = home / "bin" / "python"
    stamp = home / ".installed"
    VENVS.mkdir(exist_ok=True)
    with (VENVS / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two benches at once (the suite's) install it once
        if not stamp.exists():
            venv.create(home, clear=True, with_pip=True)
            pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            done = subprocess.run([*pip, *PINS], capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"installing {' '.join(PINS)} failed:\n{done.stderr[-3000:]}")
            stamp.write_text("\n".join(PINS) + "\n")
    return python


def _database(kind: str, workdir: Path) -> tuple[dict[str, object], str | None]:
    """Django's DATABASES entry for a fresh database, and the PostgreSQL name to drop.

    SQLite gets maildesk's own pragmas (`maildesk/db.py`): with Django's default journal
    every one of its autocommitted writes waits for the disk, and the ratio would measure
    that setting rather than the importers.
    """
    if kind == "sqlite":
        pragmas = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(workdir / "peer.db"),
            "OPTIONS": {"init_command": pragmas},
        }, None
    url, name = database_url(kind, workdir)
    parts = make_url(url)
    entry: dict[str, object] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": parts.database or "",
        "USER": parts.username or "",
        "PASSWORD": parts.password or "",
        "HOST": parts.host or "",
        "PORT": parts.port or 5432,
    }
    return entry, name


class _Project:
    """The throwaway Django project: its folder, and its `django-admin` commands."""

    def __init__(self, python: Path, folder: Path, database: dict[str, object]) -> None:
        self.python, self.folder = python, folder
        folder.mkdir()
        (folder / "logs").mkdir()
        (folder / "peer_settings.py").write_text(
            SETTINGS.format(database=database, media=str(folder / "media")), encoding="utf-8"
        )
        (folder / "peer_urls.py").write_text(URLS, encoding="utf-8")
        self.env = {
            **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
            "DJANGO_SETTINGS_MODULE": "peer_settings",
            "PYTHONPATH": str(folder),
        }

    def run(self, *args: str) -> str:
        done = subprocess.run(
            [str(self.python), "-m", "django", *args],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.folder,
            env=self.env,
        )
        if done.returncode != 0:
            raise RuntimeError(f"django-admin {args[0]} failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def timed(self, *args: str) -> float:
        start = time.perf_counter()
        self.run(*args)
        return time.perf_counter() - start


def measure(
    python: Path, dovecot: Dovecot, mails: list[bytes], database: str, workdir: Path
) -> PeerRun:
    """Time `get_email` importing `mails` from a mailbox of its own on `dovecot`."""
    dovecot.add_user("peer", "peer-password")
    entry, pg_name = _database(database, workdir)
    try:
        project = _Project(python, workdir / "django-helpdesk", entry)
        project.run("migrate", "--verbosity", "0")
        queue = QUEUE.format(
            host=dovecot.host,
            port=dovecot.imap_port,
            user="peer",
            password=dovecot.passwords["peer"],
            logs=str(project.folder / "logs"),
        )
        project.run("shell", "--verbosity", "0", "--command", queue)
        startup = project.timed("get_email", "--quiet")  # an empty mailbox
        dovecot.append_many("peer", mails)
        elapsed = project.timed("get_email", "--quiet") - startup
        counts = json.loads(project.run("shell", "--verbosity", "0", "--command", COUNT))
    finally:
        drop(pg_name)
    errors = [
        line
        for log in sorted((project.folder / "logs").glob("*.log"))
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip()
    ]
    return PeerRun(
        elapsed=elapsed,
        startup=startup,
        tickets=counts["tickets"],
        followups=counts["followups"],
        attachments=counts["attachments"],
        confirmed=counts["confirmed"],
        left=len(dovecot.uids("peer")),
        errors=errors,
    )
