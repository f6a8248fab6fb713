"""Every command and recipe the README shows is run by the suite, as written.

The README's code blocks and its commands table are read with markdown-it-py. Each shell
line is a command (its first word is a program) or an output the README promises. A
command is either run here, as written (placeholders such as `/etc/maildesk` replaced by
a test-owned folder, servers given through `MAILDESK_*` variables), or named in
`ELSEWHERE` with the file that runs it; an output must appear in what the commands here
printed. Each form of the commands table must run with each of its options and listed
values at least once, and exit as the README says. One desk, made by the README's own
`maildesk init`, serves the whole story (module scope), the CLI in-process where that is
faithful and as a process where the process matters.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from maildesk import config as config_mod
from maildesk.cli import main
from tests.mails import make_mail
from tests.servers import Dovecot, Relay, free_port

pytestmark = [pytest.mark.integration, pytest.mark.long]

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

# The first word of a shell line that makes it a command; any other line is an output.
PROGRAMS = ("make", "maildesk", ".venv/bin/maildesk", ".venv/bin/python", "python3", "sudo")

# README commands another test (or CI itself) runs exactly: the command's start, the file
# that runs it, and words that file must hold (so this table cannot rot).
ELSEWHERE: dict[str, tuple[str, tuple[str, ...]]] = {
    "make test": (".ci/run", ("make test",)),
    "make lint": (".ci/run", ("make lint",)),
    'python3 -c "import smtplib;': (
        "tests/integration/test_first_mail.py",
        ("readme_recipe", 'python3 -c \\"import smtplib;', "make run"),
    ),
    "maildesk run --only": ("tests/workers.py", ('"run", "--only", part',)),
    "maildesk db upgrade": ("tests/integration/test_upgrade.py", ('"db", "upgrade"',)),
    "sudo deploy/install.sh": (
        "tests/integration/test_install.py",
        ('"deploy" / "install.sh"', "PREFIX", "CONFIG_DIR", "STATE_DIR"),
    ),
}

STAFF = "ana@alameda.example"
DESK_ADDRESS = "soporte@alameda.example"


@dataclass(frozen=True, slots=True)
class Shown:
    """One line of a README code block, or one form of the commands table."""

    line: int
    text: str

    def __str__(self) -> str:
        return f"README.md:{self.line}: {self.text}"


def _tokens() -> list[Any]:
    return list(MarkdownIt("commonmark").enable("table").parse(README.read_text("utf-8")))


def code_blocks() -> list[tuple[int, str, str]]:
    """(first content line, info string, content) of every code block."""
    found = []
    for token in _tokens():
        if token.type in ("code_block", "fence") and token.map:
            first = token.map[0] + (2 if token.type == "fence" else 1)
            found.append((first, token.info.strip(), token.content))
    return found


def shell_blocks() -> list[tuple[bool, list[Shown]]]:
    """The indented and `sh`/`bash` blocks, comments dropped, each a block of commands
    (its first word is a program) or of output."""
    blocks = []
    for first, info, content in code_blocks():
        if info not in ("", "sh", "bash", "console"):
            continue
        lines = [
            Shown(first + offset, re.sub(r"\s+#\s.*$", "", text).strip())
            for offset, text in enumerate(content.splitlines())
            if text.strip()
        ]
        blocks.append((lines[0].text.split(" ", 1)[0] in PROGRAMS, lines))
    return blocks


def shell_lines(*, commands: bool = True) -> list[Shown]:
    """The command lines of the README (or, with `commands=False`, its output lines)."""
    return [
        line for is_command, lines in shell_blocks() if is_command == commands for line in lines
    ]


def table_forms() -> list[Shown]:
    """The first cell of each commands-table row that shows a `maildesk` command."""
    tokens = _tokens()
    forms = []
    for i, token in enumerate(tokens):
        if token.type != "tr_open" or not token.map:
            continue
        cell = tokens[i + 2]
        codes = [c.content for c in cell.children or [] if c.type == "code_inline"]
        if codes and codes[0].startswith("maildesk "):
            forms.append(Shown(token.map[0] + 1, " ".join(codes)))
    return forms


def readme_commands(start: str) -> list[Shown]:
    """Every README command line that begins with `start` (at least one)."""
    found = [s for s in shell_lines() if s.text.startswith(start)]
    assert found, f"the README shows no command starting {start!r}"
    return found


def readme_command(start: str) -> Shown:
    """The one README command line that begins with `start`."""
    [found] = readme_commands(start)
    return found


@dataclass
class Ran:
    argv: tuple[str, ...]
    code: int | None
    out: str
    err: str


@dataclass
class Story:
    """What the README's commands did: each run, and each mismatch with what it promises."""

    runs: list[Ran] = field(default_factory=list)
    as_written: set[str] = field(default_factory=set)
    wrong: list[str] = field(default_factory=list)
    printed: list[str] = field(default_factory=list)
    # Test-owned values, mapped back to the README's placeholders before outputs are compared.
    placeholders: dict[str, str] = field(default_factory=dict)
    shown_json: dict[str, Any] = field(default_factory=dict)

    def record(self, ran: Ran, expect: int, why: str) -> Ran:
        self.runs.append(ran)
        text = ran.out + "\n" + ran.err
        for real, shown in self.placeholders.items():
            text = text.replace(real, shown)
        self.printed.extend(text.splitlines())
        if ran.code != expect:
            self.wrong.append(
                f"{why}: `maildesk {shlex.join(ran.argv)}` exited {ran.code}, expected {expect}"
                f"\n{ran.out[-2000:]}\n{ran.err[-2000:]}"
            )
        return ran


@contextlib.contextmanager
def environment(values: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for None, remove) environment variables for a while."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


class _Lines(logging.Handler):
    def __init__(self, sink: io.StringIO) -> None:
        super().__init__(logging.INFO)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.write(record.getMessage() + "\n")


class Desk:
    """The README's desk, made by its own `maildesk init`, and the servers it talks to."""

    def __init__(self, story: Story, work: Path, relay: Relay, env: dict[str, str]) -> None:
        self.story, self.work, self.relay, self.env = story, work, relay, env
        self.etc = work / "etc" / "maildesk"
        self.numbers = itertools.count(1)

    def cli(
        self,
        *argv: str,
        expect: int = 0,
        why: str = "",
        env: Mapping[str, str | None] | None = None,
        cwd: Path | None = None,
    ) -> Ran:
        """`maildesk ARGV` in-process, in the desk's folder, stdout and stderr (and log) captured."""
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        err = io.StringIO()
        handler = _Lines(err)
        logging.getLogger().addHandler(handler)
        try:
            with (
                environment({**self.env, **(env or {})}),
                contextlib.chdir(cwd or self.etc),
                contextlib.redirect_stdout(out),
                contextlib.redirect_stderr(err),
            ):
                try:
                    code: int | None = main(list(argv))
                except SystemExit as exc:
                    code = exc.code if isinstance(exc.code, int) else 2
        finally:
            logging.getLogger().removeHandler(handler)
        out.flush()
        buffer = out.buffer
        assert isinstance(buffer, io.BytesIO)
        text = buffer.getvalue().decode("utf-8")
        return self.story.record(Ran(tuple(argv), code, text, err.getvalue()), expect, why)

    def process(
        self,
        command: Sequence[str],
        *,
        expect: int = 0,
        why: str = "",
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        stdin: bytes = b"",
        servers: bool = True,
    ) -> Callable[[], Ran]:
        """Start a command as its own process (exit codes from stdin, make); calling the
        answer waits for it. `servers=False` leaves out the desk's `MAILDESK_*` servers
        (the benchmark brings its own)."""
        program = Path(sys.executable).with_name("maildesk")  # the venv's console script
        # Files, not pipes: nobody reads a background process's output until it ends.
        files = self.work / f"process-{next(self.numbers)}"
        files.mkdir()
        (files / "in").write_bytes(stdin)
        with (
            (files / "in").open("rb") as given,
            (files / "out").open("wb") as out,
            (files / "err").open("wb") as err,
        ):
            proc = subprocess.Popen(
                [str(program) if command[0] == "maildesk" else command[0], *command[1:]],
                stdin=given,
                stdout=out,
                stderr=err,
                cwd=cwd or self.etc,
                env={**os.environ, **(self.env if servers else {}), **(env or {})},
            )
        argv = tuple(command[1:]) if command[0] == "maildesk" else tuple(command)

        def finish() -> Ran:
            proc.wait(300)
            out, err = ((files / name).read_text(errors="replace") for name in ("out", "err"))
            return self.story.record(Ran(argv, proc.returncode, out, err), expect, why)

        return finish

    def daemon(
        self,
        command: Sequence[str],
        *,
        ready: str,
        env: Mapping[str, str],
        cwd: Path,
        why: str,
        servers: bool = True,
    ) -> Ran:
        """Start a long-running command, wait until it logs `ready`, stop it with SIGTERM."""
        log = self.work / f"daemon-{len(self.story.runs)}.log"
        with log.open("wb") as sink:
            program = Path(sys.executable).with_name("maildesk")
            proc = subprocess.Popen(
                [str(program) if command[0] == "maildesk" else command[0], *command[1:]],
                cwd=cwd,
                env={**os.environ, **(self.env if servers else {}), **env},
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # make and its child get the signal together
            )
            try:
                deadline = time.monotonic() + 60
                while ready not in log.read_text() and proc.poll() is None:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.1)
                # The daemon itself is signalled, as systemd does; `make` then exits with it.
                children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
                os.kill(int(children[0]) if command[0] == "make" else proc.pid, signal.SIGTERM)
                code = proc.wait(30)
            finally:
                if proc.poll() is None:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
        argv = tuple(command[1:]) if command[0] == "maildesk" else tuple(command)
        ran = Ran(argv, code, log.read_text(), "")
        if ready not in ran.out:
            self.story.wrong.append(f"{why}: never logged {ready!r}\n{ran.out[-2000:]}")
        return self.story.record(ran, 0, why)


def as_written(desk: Desk, shown: Shown, substitutions: Mapping[str, str]) -> list[str]:
    """The README command's words with its placeholders replaced, and nothing else."""
    text = shown.text
    for placeholder, value in substitutions.items():
        text = text.replace(placeholder, value)
    desk.story.as_written.add(shown.text)
    return shlex.split(text)


def in_process(words: list[str]) -> list[str]:
    """`.venv/bin/maildesk ARGS` → ARGS, for `maildesk.cli.main`."""
    assert words[0] in ("maildesk", ".venv/bin/maildesk"), words
    return words[1:]


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory, dovecot: Dovecot) -> Iterator[Story]:
    """Run every README command once against one desk, and keep what happened."""
    work = tmp_path_factory.mktemp("readme")
    user, password = "readme-soporte", "clave-nandu"
    dovecot.add_user(user, password)
    closed = free_port()
    with Relay() as relay:
        env = {
            "MAILDESK_IMAP_HOST": dovecot.host,
            "MAILDESK_IMAP_PORT": str(dovecot.imap_port),
            "MAILDESK_IMAP_SECURITY": "none",
            "MAILDESK_IMAP_USERNAME": user,
            "MAILDESK_IMAP_PASSWORD": password,
            "MAILDESK_SMTP_HOST": relay.host,
            "MAILDESK_SMTP_PORT": str(relay.port),
            "MAILDESK_SMTP_SECURITY": "none",
            "MAILDESK_DESK_ADDRESS": DESK_ADDRESS,
        }
        story = Story()
        desk = Desk(story, work, relay, env)
        story.placeholders = {
            f"{dovecot.host}:{closed}": "imap.example.org:993",
            str(desk.etc): "/etc/maildesk",
            str(work / "etc-bad"): "/etc/maildesk",
            f"'{user}'": "'soporte@example.org'",
        }
        with environment({"MAILDESK_CONFIG": None}):  # ./maildesk.toml, as an operator's
            slow = _slow_processes(desk)  # they run meanwhile: they touch no desk of ours
            _setup(desk)
            _intake(desk)
            _tickets(desk)
            _directory(desk)
            _kb(desk)
            _outbox(desk)
            _mailbox(desk, closed)
            _reports(desk)
            _processes(desk)
            _data_safety(desk)
            for finish in slow:
                finish()
        yield story


def _setup(desk: Desk) -> None:
    init = readme_command(".venv/bin/maildesk init /etc/maildesk")
    words = as_written(desk, init, {"/etc/maildesk": str(desk.etc)})
    desk.cli(*in_process(words), why=str(init), cwd=desk.work)
    # "Edit the file": one admin, in the team requests go to by default.
    with (desk.etc / "maildesk.toml").open("a", encoding="utf-8") as toml:
        toml.write(
            f'\n[[staff]]\nemail = "{STAFF}"\nname = "Ana Pérez"\nrole = "admin"\n'
            'teams = ["administración"]\n'
            '\n[types.reclamo]\nname = "Reclamo"\nhint = "Indica la unidad."\ndeadline = "5bd"\n'
        )
    other = desk.work / "otra"
    desk.cli("init", str(other), "--data-dir", str(desk.work / "otra-var"), why="init --data-dir")
    assert (desk.work / "otra-var" / "maildesk.db").exists()
    desk.cli("init", str(other), "--force", why="init --force")
    desk.cli("db", "upgrade", why="db upgrade")
    version = desk.cli("--version", why="--version")
    if not version.out.startswith("maildesk "):
        desk.story.wrong.append(f"--version printed {version.out!r}")


def _intake(desk: Desk) -> None:
    mails = desk.work / "mails"
    mails.mkdir()
    photo = mails / "fuga.eml"
    photo.write_bytes(
        make_mail(
            to=DESK_ADDRESS,
            attachments=[("foto.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 una foto")],
        )
    )
    desk.cli("ingest", str(photo), why="ingest FILE")
    dry = mails / "ruido.eml"
    dry.write_bytes(make_mail(to=DESK_ADDRESS, subject="Ruido", sender="otro@correo.example"))
    desk.cli("ingest", "--dry-run", str(dry), why="ingest --dry-run FILE")
    old = mails / "antiguo.eml"
    old.write_bytes(make_mail(to=DESK_ADDRESS, subject="Portón", sender="viejo@correo.example"))
    desk.cli("ingest", "--no-confirmation", str(old), why="ingest --no-confirmation")
    piped = b"Subject: Sin luz en la escalera\r\nTo: soporte@alameda.example\r\n\r\nNo hay luz.\r\n"
    desk.process(
        ["maildesk", "ingest", "--sender", "vecino@correo.example", "--recipient", DESK_ADDRESS],
        stdin=piped,
        why="ingest from stdin: exit 0 when stored",
    )()
    # A folder with a config but no database yet: the MTA must keep the mail and retry.
    bare = desk.work / "etc-bad"
    bare.mkdir()
    (bare / "maildesk.toml").write_text('[desk]\nsecret_key = "x"\n', encoding="utf-8")
    desk.process(
        ["maildesk", "--config", str(bare / "maildesk.toml"), "ingest"],
        stdin=piped,
        expect=75,
        why="ingest from stdin: exit 75 when the MTA should retry",
    )()
    loop = mails / "propio.eml"
    loop.write_bytes(make_mail(sender=DESK_ADDRESS, to=DESK_ADDRESS, subject="Nuestro"))
    desk.cli("ingest", str(loop), why="ingest of our own mail")
    ignored = desk.cli("ticket", "list", "--ignored", "--format", "json", why="--ignored")
    rows = json.loads(ignored.out or "[]")
    if not rows:
        desk.story.wrong.append(f"ticket list --ignored shows nothing: {ignored.out}")
        return
    desk.cli("ingest", "--retry", str(rows[0]["id"]), why="ingest --retry ID")
    desk.cli("ticket", "list", "--quarantine", why="ticket list --quarantine")


def _tickets(desk: Desk) -> None:
    desk.cli(
        "ticket", "open", "--for", "luis@correo.example", "--subject", "Llave perdida",
        "--text", "Perdió la llave del portón", "--name", "Luis Ñúñez", "--channel", "phone",
        "--by", STAFF, why="ticket open by phone",
    )  # fmt: skip
    desk.cli(
        "ticket", "open", "--for", "eva@correo.example", "--subject", "Paquete",
        "--channel", "walk-in", why="ticket open walk-in",
    )  # fmt: skip
    desk.cli(
        "ticket", "open", "--for", "eva@correo.example", "--subject", "Ruidos",
        "--channel", "whatsapp", "--type", "reclamo", why="ticket open by whatsapp, a type",
    )  # fmt: skip
    desk.cli("ticket", "types", why="ticket types")
    desk.cli(
        "ticket", "list", "--state", "recibido", "--assignee", STAFF, "--category",
        "mantenimiento", "--since", "2026-01-01", "--until", "2099-01-01", "--format", "json",
        why="ticket list with every filter",
    )  # fmt: skip
    desk.cli("ticket", "list", "--state", "en progreso", why="ticket list as people write it")
    desk.cli("ticket", "list", "--state", "abierto", expect=2, why="an unknown state")
    paged = desk.cli("ticket", "list", "--limit", "1", "--page", "2", why="ticket list page 2")
    if "showing 2–2 of" not in paged.out:
        desk.story.wrong.append(f"ticket list --page 2 does not say where it is: {paged.out}")
    desk.cli("ticket", "list", "--limit", "1", "--after", "2", why="ticket list --after")
    desk.cli("ticket", "show", "1", why="ticket show N")
    shown = desk.cli("ticket", "show", "1", "--format", "json", why="ticket show --format json")
    desk.story.shown_json = json.loads(shown.out or "{}")
    desk.cli("ticket", "token", "1", "--new", why="ticket token N --new")
    desk.cli("ticket", "export", "1", why="ticket export N")
    desk.cli("ticket", "export", "1", "--format", "json", "--output", "t1.json", why="export json")
    desk.cli("ticket", "export", "1", "--format", "pdf", "--output", "t1.pdf", why="export pdf")
    desk.cli("escalate", "--once", why="escalate --once")
    desk.cli("staff", "link", STAFF, why="staff link EMAIL")
    desk.cli("staff", "link", "vecina@correo.example", expect=1, why="staff link of a resident")


def _directory(desk: Desk) -> None:
    (desk.etc / "directorio.csv").write_text(
        "Torre;Unidad;Nombre;Correo;Teléfono;Relación;Desde;Hasta\n"
        "Torre Ñandú;402;Íñigo Peñalolén;inigo@correo.example;+56 9 1111;propietario;;\n"
        "Torre Ñandú;Bodega 12;;;;;;\n",
        encoding="utf-8",
    )
    for shown in readme_commands(".venv/bin/maildesk directory"):
        desk.cli(*in_process(as_written(desk, shown, {})), why=str(shown))
    desk.cli("directory", "import", "directorio.csv", "--desk", "soporte", why="import again")
    desk.cli("directory", "list", "--desk", "soporte", "--format", "json", why="list json")
    desk.cli("directory", "show", "402", "--desk", "soporte", "--format", "json", why="show")
    desk.cli("directory", "show", "999", expect=1, why="directory show of an unknown unit")
    desk.cli("directory", "list", "--desk", "otra", expect=1, why="--desk of another desk")


def _kb(desk: Desk) -> None:
    """An article the administration wrote, indexed as the README says, and found."""
    data = config_mod.load(desk.etc / "maildesk.toml").data_path
    (data / "kb" / "es").mkdir(parents=True, exist_ok=True)
    (data / "kb" / "es" / "ascensores.md").write_text(
        "# Uso de los ascensores\n\nLos ascensores se revisan cada mes.\n", encoding="utf-8"
    )
    for shown in readme_commands(".venv/bin/maildesk kb"):
        desk.cli(*in_process(as_written(desk, shown, {})), why=str(shown))
    again = desk.cli("kb", "sync", "--desk", "soporte", why="kb sync --desk")
    if again.out.strip() != "default: 0 added, 0 updated, 0 removed, 1 unchanged":
        desk.story.wrong.append(f"a second kb sync changed something: {again.out!r}")


def _outbox(desk: Desk) -> None:
    desk.relay.fail_with = "550 5.1.1 no such user"
    desk.cli("outbox", "send", "--once", why="outbox send --once, relay refusing")
    dead = desk.cli("outbox", "list", "--status", "dead", "--format", "json", why="dead mail")
    if not json.loads(dead.out or "[]"):
        desk.story.wrong.append(f"a refused mail is not dead: {dead.out}")
    desk.cli("outbox", "retry", "--all", why="outbox retry --all")
    desk.relay.fail_with = None
    desk.cli("outbox", "send", "--once", why="outbox send --once")
    sent = json.loads(desk.cli("outbox", "list", "--status", "sent", "--format", "json").out)
    desk.cli("outbox", "list", why="outbox list")
    desk.cli("outbox", "retry", str(sent[0]["id"]), expect=1, why="outbox retry of a sent id")


def _mailbox(desk: Desk, closed: int) -> None:
    desk.cli("fetch", "--once", why="fetch --once")
    etc = ("--config", str(desk.etc / "maildesk.toml"))  # as the README's lines name it
    wrong = {"MAILDESK_IMAP_PASSWORD": "mala"}
    desk.cli(*etc, "fetch", "--once", expect=78, env=wrong, why="login refused")
    shut = {"MAILDESK_IMAP_PORT": str(closed)}
    desk.cli(*etc, "fetch", "--once", expect=75, env=shut, why="port closed")
    bad = desk.work / "etc-bad" / "maildesk.toml"
    bad.write_text('[imap]\nhost = "imap.example.org"\nport = "abc"\n', encoding="utf-8")
    desk.cli(
        "--config", str(bad), "fetch", "--once",
        expect=1, env={"MAILDESK_IMAP_PORT": None}, why="a bad imap.port",
    )  # fmt: skip


def _reports(desk: Desk) -> None:
    for shown in [s for s in shell_lines() if s.text.startswith(".venv/bin/maildesk report")]:
        desk.cli(*in_process(as_written(desk, shown, {})), why=str(shown))
    common = ("report", "--from", "2026-11-01", "--to", "2026-11-30", "--desk", DESK_ADDRESS)
    desk.cli(*common, "--by", "day", "--format", "json", why="report json by day")
    desk.cli(*common, "--format", "table", why="report table")
    desk.cli(*common, "--format", "csv", "--output", "r.zip", why="report csv")
    desk.cli(*common, "--by", "month", "--format", "pdf", "--output", "r.pdf", why="report pdf")


def _processes(desk: Desk) -> None:
    ports = {
        "MAILDESK_LISTENER_LISTEN": f"127.0.0.1:{free_port()}",
        "MAILDESK_WEB_LISTEN": f"127.0.0.1:{free_port()}",
    }
    config = {"MAILDESK_CONFIG": str(desk.etc / "maildesk.toml"), **ports}
    make_run = readme_command("make run")
    desk.daemon(
        as_written(desk, make_run, {}),
        ready="maildesk is running",
        env=config,
        cwd=ROOT,
        why=str(make_run),
        servers=False,  # the embedded defaults' parts; no mailbox to wait for on the way out
    )
    desk.daemon(
        ["maildesk", "run", "--only", "outbox,scheduler"],
        ready="maildesk is running (outbox, scheduler)",
        env=ports,
        cwd=desk.etc,
        why="run --only",
    )


def _data_safety(desk: Desk) -> None:
    """The README's backup, restore and purge, on the story's desk, once the daemon stopped."""
    backups = desk.work / "backups"
    backups.mkdir()
    desk.story.placeholders[str(backups)] = "/var/backups"
    places = {"/var/backups": str(backups)}
    [backup] = readme_commands("maildesk backup")
    desk.cli(*in_process(as_written(desk, backup, places)), why=str(backup))
    [restore] = readme_commands("maildesk restore")
    words = in_process(as_written(desk, restore, places))
    desk.cli(*[w for w in words if w != "--force"], expect=1, why="restore over a desk in use")
    desk.cli(*words, why=str(restore))
    for purge in readme_commands("maildesk purge"):
        desk.cli(*in_process(as_written(desk, purge, {})), why=str(purge))
    desk.cli("purge", "--before", "2999-01-01", expect=1, why="purge within the retention period")


def _slow_processes(desk: Desk) -> list[Callable[[], Ran]]:
    """`make test PYTEST_ARGS=…` and `make bench`: seconds each, so started first."""
    part = readme_command('make test PYTEST_ARGS="')
    started = [
        desk.process(
            as_written(desk, part, {}),
            env={"PYTEST_ADDOPTS": "--collect-only -q"},  # what it selects, not a second suite
            cwd=ROOT,
            servers=False,
            why=str(part),
        )
    ]
    bench = readme_command("make bench")
    for database in ("sqlite", "postgresql"):  # the figures need 1,000 mails; the command, a few
        started.append(
            desk.process(
                as_written(desk, bench, {}),
                env={"BENCH_ARGS": f"--mails 12 --database {database}"},
                cwd=ROOT,
                servers=False,
                why=f"{bench} on {database}",
            )
        )
    peer = readme_command(".venv/bin/python bench/fetch_throughput.py")  # django-helpdesk's too
    started.append(
        desk.process(
            as_written(desk, peer, {"--mails 1000": "--mails 6 --batch 4"}),
            cwd=ROOT,
            servers=False,
            why=str(peer),
        )
    )
    report = readme_command(".venv/bin/python bench/report_speed.py")
    started.append(
        desk.process(
            as_written(desk, report, {}),
            env={"BENCH_ARGS": "--tickets 60 --messages 240"},
            cwd=ROOT,
            servers=False,
            why=str(report),
        )
    )
    for script, small in (
        ("escalation_pass.py", "--tickets 60 --open 20"),
        ("ticket_list.py", "--tickets 60"),
        (
            "page.py",
            "--tickets 40 --messages 80 --pages 5 --seconds 1 --connections 2 --client python",
        ),
        ("startup.py", "--tickets 20 --runs 1"),
        ("memory.py", "--mails 3 --attachment-mb 1"),
        ("workers.py", "--mails 4"),
        ("metrics_scrape.py", "--tickets 60 --messages 120 --repeat 1"),
        ("scheduler_tick.py", "--tickets 400 --repeat 1"),
        ("latency.py", "--mails 3 --burst 5"),
    ):
        command = readme_command(f".venv/bin/python bench/{script}")
        started.append(
            desk.process(
                as_written(desk, command, {}),
                env={"BENCH_ARGS": small},
                cwd=ROOT,
                servers=False,
                why=str(command),
            )
        )
    for console in readme_commands(".venv/bin/python bench/console_board.py"):
        started.append(
            desk.process(
                as_written(desk, console, {}),
                env={"BENCH_ARGS": "--tickets 300 --clients 2 --seconds 1"},
                cwd=ROOT,
                servers=False,
                why=str(console),
            )
        )
    return started


def test_readme_imap_selection_runs_imap_tests(story: Story) -> None:
    """`make test PYTEST_ARGS="-k imap -x"` selects the IMAP tests."""
    [ran] = [r for r in story.runs if "PYTEST_ARGS=-k imap -x" in r.argv]
    assert "test_imap" in ran.out, ran.out[-2000:]


def test_readme_commands_exit_as_documented(story: Story) -> None:
    """Every command run from the README exits with the code the README gives it."""
    assert not story.wrong, "\n\n".join(story.wrong)


@pytest.mark.parametrize("shown", shell_lines(), ids=str)
def test_every_readme_command_is_run_or_named(story: Story, shown: Shown) -> None:
    """A README command is run here as written, or named with the file that runs it."""
    if shown.text in story.as_written:
        return
    elsewhere = [v for k, v in ELSEWHERE.items() if shown.text.startswith(k)]
    assert elsewhere, f"{shown}: neither run by tests/integration/test_readme.py nor in ELSEWHERE"
    [(path, words)] = elsewhere
    text = (ROOT / path).read_text(encoding="utf-8")
    missing = [w for w in words if w not in text]
    assert not missing, f"{shown}: {path} no longer holds {missing}"


@pytest.mark.parametrize("shown", shell_lines(commands=False), ids=str)
def test_every_readme_output_is_printed(story: Story, shown: Shown) -> None:
    """What the README shows a command printing, a command here printed (figures aside)."""
    pattern = re.compile(
        r"\s+".join(
            r"-?[\d.,]+".join(re.escape(part) for part in re.split(r"-?\d[\d.,]*", word))
            for word in shown.text.split()
        )
    )
    near = [line for line in story.printed if shown.text.split()[1] in line]
    assert any(pattern.fullmatch(line.strip()) for line in story.printed), (
        f"{shown}: no command printed this line; nearest:\n" + "\n".join(near[:10])
    )


def form_options(form: str) -> tuple[list[str], list[str], list[tuple[str, str]]]:
    """The command words, the options and the (option, value) pairs a table form shows."""
    words = form.removeprefix("maildesk ").split()
    path = []
    for word in words:
        if not re.fullmatch(r"[a-z]+", word):
            break
        path.append(word)
    options = re.findall(r"--[a-z][a-z-]*", form)
    values = [
        (option, value)
        for option, choices in re.findall(r"(--[a-z-]+) ([a-z][a-z-]*(?:\|[a-z][a-z-]*)+)", form)
        for value in choices.split("|")
    ]
    return path, options, values


@pytest.mark.parametrize("form", table_forms(), ids=str)
def test_every_table_command_runs_with_its_options(story: Story, form: Shown) -> None:
    """Each form of the commands table ran with each of its options and listed values."""
    path, options, values = form_options(form.text)
    runs = []
    for ran in story.runs:
        argv = list(ran.argv)
        if argv[:1] == ["--config"]:
            argv = argv[2:]
        if argv[: len(path)] == path:
            runs.append(argv)
    assert runs, f"{form}: never run"
    missing = [o for o in options if not any(o in argv for argv in runs)]
    missing += [
        f"{o} {v}"
        for o, v in values
        if not any(
            argv[i + 1 : i + 2] == [v] for argv in runs for i, a in enumerate(argv) if a == o
        )
    ]
    assert not missing, f"{form}: never run with {missing}"


def test_readme_configuration_examples_load(tmp_path: Path) -> None:
    """The README's `maildesk.toml` examples, one building and several, are configurations
    maildesk accepts."""
    [(_, _, one), (_, _, several)] = [(n, i, c) for n, i, c in code_blocks() if i == "toml"]
    path = tmp_path / "maildesk.toml"
    path.write_text(one, encoding="utf-8")
    tomllib.loads(one)
    loaded = config_mod.load(path)
    assert loaded.desk.address == "soporte@example.org"
    path.write_text(several, encoding="utf-8")
    install = config_mod.load_install(path)
    assert install.slugs == ("norte", "sur")
    assert [s.email for s in install.desks[1].staff] == ["beto@example.org", "gerencia@example.org"]


def keys(value: Any) -> set[str]:
    """The key paths of a JSON value, lists by their first item."""
    found: set[str] = set()
    if isinstance(value, dict):
        for name, inner in value.items():
            found.add(name)
            found |= {f"{name}.{k}" for k in keys(inner)}
    elif isinstance(value, list) and value:
        found |= keys(value[0])
    return found


def test_ticket_show_json_has_the_readme_keys(story: Story) -> None:
    """`ticket show --format json` holds every key the README's example shows."""
    [(_, _, example)] = [(n, i, c) for n, i, c in code_blocks() if i == "json"]
    missing = keys(json.loads(example)) - keys(story.shown_json)
    assert not missing, f"the README shows keys that ticket show --format json lacks: {missing}"


def bench_output(story: Story, script: str) -> list[str]:
    """What each run of `bench/<script>` in the story printed: the benchmarks' smoke runs
    are the README's commands, and their figures are checked here, on those runs."""
    return [r.out for r in story.runs if any(a.endswith(f"bench/{script}") for a in r.argv)]


def test_report_speed_prints_its_figures_on_both_databases(story: Story) -> None:
    """`report_speed.py` prints the baselines, the report's time and the ratio for SQLite and PostgreSQL."""
    [out] = bench_output(story, "report_speed.py")
    for database in ("sqlite", "postgresql"):
        assert f"database: {database}" in out
    assert len(re.findall(r"ratio report/full scan: \d+\.\d\d", out)) == 2
    assert len(re.findall(r"baseline  full scan .*: +\d+\.\d{3} s", out)) == 2


def test_escalation_pass_prints_its_figures_and_agrees_with_the_old_scan(story: Story) -> None:
    """`escalation_pass.py` times the old full scan, the first and a steady pass; the first
    pass records exactly the escalations the old scan finds, and a minute later none are new."""
    [out] = bench_output(story, "escalation_pass.py")
    assert re.search(r"tickets: 60, open: 20, ", out)
    found = dict(re.findall(r"(baseline|first pass|steady pass).*: +\d+\.\d{3} s +(\d+)", out))
    assert found["baseline"] == found["first pass"] != "0"
    assert found["steady pass"] == "0"
    assert re.search(r"ratio steady pass/baseline: \d+\.\d{4}", out)


def test_ticket_list_prints_time_and_memory_against_the_old_list(story: Story) -> None:
    """`ticket_list.py` runs the old unpaged list, a page and the JSON, each with its peak RSS."""
    [out] = bench_output(story, "ticket_list.py")
    assert len(re.findall(r": +\d+\.\d{3} s +\d+\.\d MB peak", out)) == 4
    assert re.search(r"ratio page/baseline: time \d+\.\d{3}, memory \d+\.\d\d", out)


def test_page_bench_serves_the_status_page_against_a_bare_waitress(story: Story) -> None:
    """`page.py` loads the real `maildesk run --only web` and a bare waitress and prints both and the ratio."""
    [out] = bench_output(story, "page.py")
    rows = re.findall(
        r": +(\d+) req/s +p50 +[\d.]+ ms +p99 +[\d.]+ ms +\((\d+) requests, (\d+) not 200\)", out
    )
    assert len(rows) == 2, out
    assert all(int(requests) > 0 and bad == "0" for _, requests, bad in rows), out
    assert re.search(r"ratio maildesk/bare: \d+\.\d\d", out)


def test_startup_bench_times_help_and_ticket_list_against_a_bare_interpreter(story: Story) -> None:
    """`startup.py` prints the median of `python -c pass`, the ORM's import (the floor),
    `maildesk --help` and `ticket list`, and what the list takes over the floor."""
    [out] = bench_output(story, "startup.py")
    assert len(re.findall(r": +\d+\.\d{3} s +ratio to baseline +\d+\.\d", out)) == 4, out
    assert re.search(r"ticket list over the floor: -?\d+\.\d{3} s", out), out


def test_memory_bench_prints_idle_loaded_and_big_mail_figures(story: Story) -> None:
    """`memory.py` measures the daemon idle and after mail, and one mail with a big attachment."""
    [out] = bench_output(story, "memory.py")
    assert re.search(r"daemon idle RSS, first start .*: +\d+\.\d MB", out), out
    assert re.search(r"daemon idle RSS, restart .*: +\d+\.\d MB", out), out
    assert re.search(r"daemon RSS after 3 mails .*: +\d+\.\d MB", out), out
    assert re.search(r"attachment's cost: \+-?\d+\.\d MB, -?\d+\.\dx the mail", out), out


def test_workers_bench_prints_one_and_two_workers_of_each(story: Story) -> None:
    """`workers.py` carries a few mails through 1+1 and 2+2 fetch and outbox processes on
    PostgreSQL, and prints both rates and their ratio."""
    [out] = bench_output(story, "workers.py")
    assert "mails: 4, database: postgresql" in out
    assert re.search(r"baseline  1 fetch \+ 1 outbox worker +: +\d+\.\d\d s +\d+\.\d mails/s", out)
    assert re.search(r"maildesk  2 fetch \+ 2 outbox workers +: +\d+\.\d\d s +\d+\.\d mails/s", out)
    assert re.search(r"ratio 2\+2 / 1\+1: \d+\.\d\d", out)


def test_metrics_scrape_prints_its_figures_on_both_databases(story: Story) -> None:
    """`metrics_scrape.py` times one `/metrics` scrape against a count of the tickets."""
    [out] = bench_output(story, "metrics_scrape.py")
    for database in ("sqlite", "postgresql"):
        assert f"stored mails: 120, outbox: 60, database: {database}" in out
    assert len(re.findall(r"/metrics scrape \(\d+ bytes\) : +\d+\.\d ms", out)) == 2
    assert len(re.findall(r"ratio scrape/baseline: \d+\.\d", out)) == 2


def test_scheduler_tick_prints_its_figures_on_both_databases(story: Story) -> None:
    """`scheduler_tick.py` times the due pruning and a steady tick against a count of the
    outbox, on SQLite and PostgreSQL, and prunes the one day's bodies that are due."""
    [out] = bench_output(story, "scheduler_tick.py")
    for database in ("sqlite", "postgresql"):
        assert f"tickets: 400, outbox: 400, database: {database}" in out
    pruned = re.findall(r"pruning due \( *(\d+) bodies\) *: +\d+\.\d ms", out)
    assert len(pruned) == 2 and all(int(n) > 0 for n in pruned), out
    assert len(re.findall(r"steady tick, nothing due +: +\d+\.\d ms", out)) == 2
    assert len(re.findall(r"ratio steady tick/baseline: \d+\.\d\d", out)) == 2


def test_fetch_throughput_times_the_import_against_the_fetch_and_the_parse_floor(
    story: Story,
) -> None:
    """`fetch_throughput.py` imports a few mails and prints its rate beside both baselines."""
    outs = [r.out for r in story.runs if r.argv[:2] == ("make", "bench")]
    assert len(outs) == 2  # SQLite and PostgreSQL
    for out in outs:
        assert re.search(
            r"floor     fetch \+ stdlib parse, all parts: +[\d.]+ s +[\d.]+ mails/s", out
        )
        # A dozen mails: the command's start-up, subtracted, can outweigh the import itself.
        assert re.search(r"ratio maildesk/floor: -?\d+\.\d{3}", out)


def test_latency_times_confirmations_against_the_relay_and_the_push_delay(story: Story) -> None:
    """`latency.py` prints p50/p99/max for the listener (steady, burst) and IDLE, and its baselines."""
    [out] = bench_output(story, "latency.py")
    for line in ("relay round trip", "listener  steady", "listener  burst", "push delay", "IDLE"):
        assert re.search(rf"{line}.*p50 +[\d.]+ s +p99 +[\d.]+ s +max +[\d.]+ s", out), line
    assert re.search(r"last confirmation after last acceptance: +-?[\d.]+ s", out)
    assert re.search(r"ratio listener p50 / relay p50: [\d.]+", out)


def test_fetch_throughput_times_django_helpdesk_on_the_same_mails(story: Story) -> None:
    """`--peer django-helpdesk` installs django-helpdesk in a venv of its own (from PyPI, once),
    and its `get_email` imports every mail from the bench's Dovecot over plain IMAP: a ticket,
    a follow-up and a built confirmation each, the photos as attachments, nothing left behind."""
    [out] = bench_output(story, "fetch_throughput.py")
    assert re.search(
        r"peer      django-helpdesk 2\.6\.1 get_email: +-?[\d.]+ s +-?[\d.]+ mails/s", out
    )
    assert (
        "peer      imported: 6 tickets, 6 follow-ups, 2 attachments, 6 confirmations;"
        " 0 mails left on the server, 0 error lines"
    ) in out, out
    assert "failed on" not in out
    assert re.search(r"ratio maildesk/django-helpdesk: -?\d+\.\d{3}", out)
