"""Real loopback servers for tests and benchmarks: Dovecot (IMAP, LMTP) and an SMTP relay.

The classes work outside pytest (`bench/` uses them); the fixtures at the bottom are what
tests ask for. Nothing here talks to a system service: every Dovecot runs as a plain
foreground process with all its state in its own temporary directory.

A test that cannot run because a server is missing calls `require_server`: it skips on a
developer's machine and fails in CI (`CI=true`), so CI never goes green by skipping.
"""

from __future__ import annotations

import contextlib
import ctypes
import grp
import itertools
import os
import pwd
import re
import secrets
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, NoReturn

import pytest
from aiosmtpd.controller import Controller
from imapclient import IMAPClient

if TYPE_CHECKING:
    from maildesk.config import ImapConfig

__all__ = [
    "CuttableProxy",
    "Dovecot",
    "DovecotUnavailable",
    "ImapUser",
    "Postgres",
    "Relay",
    "RelayedMessage",
    "dovecot",
    "find_dovecot",
    "free_port",
    "imap_user",
    "own_postgres",
    "relay",
    "require_server",
]


def require_server(name: str, why: str) -> NoReturn:
    """Skip on a developer's machine, fail in CI: a missing server must never pass as a skip."""
    message = f"{name} is needed: {why}"
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{message} (CI=true, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


def free_port(host: str = "127.0.0.1") -> int:
    """A port that was free a moment ago (servers here set SO_REUSEADDR: restarts reuse it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- Dovecot


class DovecotUnavailable(RuntimeError):
    """The `dovecot` binary is not installed (or not where we look)."""


def find_dovecot() -> str:
    """The dovecot binary: `$MAILDESK_DOVECOT`, then PATH, then /usr/sbin (not in a user's PATH)."""
    candidates = [os.environ.get("MAILDESK_DOVECOT", ""), shutil.which("dovecot") or ""]
    candidates += ["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"]
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise DovecotUnavailable(
        "dovecot is not installed (apt-get install dovecot-imapd dovecot-lmtpd)"
    )


@dataclass(frozen=True, slots=True)
class _Identity:
    """Which system users Dovecot runs as and which uid/gid owns the mail."""

    internal_user: str
    internal_group: str
    login_user: str
    mail_uid: int
    mail_gid: int


def _identity() -> _Identity:
    """As root, Dovecot's own users (it refuses uid 0 for mail); otherwise the current user."""
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return _Identity(
            me.pw_name, grp.getgrgid(os.getegid()).gr_name, me.pw_name, os.geteuid(), os.getegid()
        )
    internal = _first_user("dovecot", "nobody")
    login = _first_user("dovenull", "nobody")
    return _Identity(
        internal.pw_name,
        grp.getgrgid(internal.pw_gid).gr_name,
        login.pw_name,
        internal.pw_uid,
        internal.pw_gid,
    )


def _first_user(*names: str) -> pwd.struct_passwd:
    for name in names:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise DovecotUnavailable(f"none of the system users {names} exists")


_CONFIG = """\
# Written by tests/servers.py: a throwaway Dovecot, everything under {root}.
protocols = imap lmtp
listen = 127.0.0.1
instance_name = maildesk-test-{imap_port}
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_verbose = yes
default_internal_user = {id.internal_user}
default_internal_group = {id.internal_group}
default_login_user = {id.login_user}
first_valid_uid = {id.mail_uid}
first_valid_gid = {first_gid}
mail_location = maildir:~/Maildir
mail_fsync = never
mail_max_userip_connections = 200
# Without inotify (some containers) IDLE would only notice new mail every 30 s.
mailbox_idle_check_interval = 1 secs
recipient_delimiter = +
lmtp_save_to_detail_mailbox = no
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users/%u
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
service anvil {{
  chroot =
}}
"""


class Dovecot:
    """A real Dovecot on 127.0.0.1 (IMAP with IDLE, UIDPLUS, MOVE; LMTP), state in a temp dir.

    Users live in a passwd-file that Dovecot re-reads whenever it changes, so `add_user`
    needs no reload. `halt()`/`start()` (or `restart()`) take the server down and up on
    the same ports with the same mail, to test reconnects; `stop()` also deletes the state.
    """

    host = "127.0.0.1"

    def __init__(self, *, start: bool = True) -> None:
        self.binary = find_dovecot()
        self.identity = _identity()
        self.root = Path(tempfile.mkdtemp(prefix="maildesk-dovecot-"))
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        self.passwords: dict[str, str] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        try:
            self._lay_out()
            if start:
                self.start()
        except BaseException:
            self.stop()
            raise

    # -- life cycle -------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self.imap_port

    @property
    def config_path(self) -> Path:
        return self.root / "dovecot.conf"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _lay_out(self) -> None:
        for sub in ("run", "state", "home", "users"):
            (self.root / sub).mkdir()
        ident = self.identity
        if os.geteuid() == 0:
            # Dovecot's auth process (running as `dovecot`) reads the passwd-files, and mail
            # processes (running as the mail uid) create homes: open the way for them.
            self.root.chmod(0o755)
            _make_traversable(self.root.parent)
            os.chown(self.root / "home", ident.mail_uid, ident.mail_gid)
        self.config_path.write_text(
            _CONFIG.format(
                root=self.root,
                imap_port=self.imap_port,
                lmtp_port=self.lmtp_port,
                id=ident,
                first_gid=min(1, ident.mail_gid),
            )
        )

    def start(self, timeout: float = 15.0) -> None:
        """Start Dovecot (again) and return once the IMAP port answers with a greeting."""
        if self.running:
            return
        stderr = open(self.root / "stderr.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            self._process = subprocess.Popen(
                [self.binary, "-F", "-c", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        finally:
            stderr.close()
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"dovecot exited with {self._process.returncode}\n{self.log_tail()}"
                )
            if _imap_greets(self.host, self.imap_port):
                return
            if time.monotonic() > deadline:
                self.halt()
                raise RuntimeError(f"dovecot did not greet on {self.imap_port}\n{self.log_tail()}")
            time.sleep(0.05)

    def halt(self, *, graceful: bool = True, timeout: float = 10.0) -> None:
        """Stop Dovecot and every connection it serves, but keep users, mail and ports.

        Graceful: clients get `* BYE` before the connection closes; otherwise every process
        is killed at once and clients just see the connection drop, as after a crash.
        The whole process group is signalled: when only the master stops, the `imap`
        processes of open connections live on, and a client would never notice.
        """
        process, self._process = self._process, None
        if process is None:
            return
        if graceful:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            # The imap processes say BYE at once; the master may take a second more.
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(0.3)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        # Dead processes linger as zombies until reaped, hence "no live member".
        deadline = time.monotonic() + timeout
        while _live_group_members(process.pid) and time.monotonic() < deadline:
            time.sleep(0.01)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout)

    def restart(self, *, graceful: bool = True) -> None:
        """Drop every connection and come back on the same port with the same mail."""
        self.halt(graceful=graceful)
        self.start()

    def stop(self) -> None:
        """Stop the process and delete all of its state."""
        self.halt()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Dovecot:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def log_tail(self, lines: int = 30) -> str:
        """The last lines of Dovecot's log and of its stderr, for error messages."""
        out: list[str] = []
        for name in ("dovecot.log", "stderr.log"):
            path = self.root / name
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {name}\n" + "\n".join(text))
        return "\n".join(out) or "(no log)"

    # -- users and mail ---------------------------------------------------------------

    def add_user(self, name: str, password: str) -> None:
        """Add a user, usable at once: one passwd-file per user, read on that user's first login.

        (One shared passwd-file would not do: Dovecot checks a passwd-file for changes at
        most once a second, so a user added within that second is "unknown".)
        """
        if not re.fullmatch(r"[A-Za-z0-9._+-]+(@[A-Za-z0-9.-]+)?", name) or name in self.passwords:
            raise ValueError(f"bad or existing user name {name!r}")
        if any(c in password for c in ":\n"):
            raise ValueError("a password may not contain ':' or newlines")
        ident = self.identity
        home = self.root / "home" / name
        line = f"{name}:{{PLAIN}}{password}:{ident.mail_uid}:{ident.mail_gid}::{home}::\n"
        tmp = self.root / "users" / f".{name}.tmp"
        tmp.write_text(line)
        tmp.chmod(0o644)
        tmp.rename(self.root / "users" / name)
        with self._lock:
            self.passwords[name] = password

    def client(self, user: str, *, timeout: float = 10.0) -> IMAPClient:
        """A logged-in client for `user` (close it with `logout()`)."""
        client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=timeout)
        client.normalise_times = False
        try:
            client.login(user, self.passwords[user])
        except BaseException:
            client.shutdown()
            raise
        return client

    @contextlib.contextmanager
    def session(self, user: str) -> Iterator[IMAPClient]:
        client = self.client(user)
        try:
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(
        self,
        user: str,
        raw: bytes,
        folder: str = "INBOX",
        flags: Sequence[str | bytes] = (),
        *,
        msg_time: datetime | None = None,
    ) -> int:
        """APPEND one message (creating the folder if needed); returns its UID (APPENDUID)."""
        return self.append_many(user, [raw], folder, flags, msg_time=msg_time)[0]

    def append_many(
        self,
        user: str,
        raws: Iterable[bytes],
        folder: str = "INBOX",
        flags: Sequence[str | bytes] = (),
        *,
        msg_time: datetime | None = None,
    ) -> list[int]:
        """APPEND several messages over one connection; returns their UIDs."""
        uids: list[int] = []
        with self.session(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in raws:
                response = client.append(folder, raw, flags=tuple(flags), msg_time=msg_time)
                uids.append(_appenduid(response))
        return uids

    def deliver(self, user: str, raw: bytes, *, sender: str = "sender@example.org") -> None:
        """Deliver over LMTP, the way an MTA would (Dovecot sets INTERNALDATE to now)."""
        with smtplib.LMTP(self.host, self.lmtp_port, timeout=10) as lmtp:
            lmtp.sendmail(sender, [user], raw)

    def uids(self, user: str, folder: str = "INBOX") -> list[int]:
        with self.session(user) as client:
            if not client.folder_exists(folder):
                return []
            client.select_folder(folder, readonly=True)
            return sorted(int(uid) for uid in client.search("ALL"))

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """Every message's flags by UID (read-only SELECT: looking never changes \\Recent)."""
        with self.session(user) as client:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            uids = client.search("ALL")
            if not uids:
                return {}
            fetched = client.fetch(uids, ["FLAGS"])
            return {int(uid): tuple(data[b"FLAGS"]) for uid, data in fetched.items()}

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.session(user) as client:
            return int(client.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def create_folder(self, user: str, folder: str) -> None:
        with self.session(user) as client:
            client.create_folder(folder)

    def delete_folder(self, user: str, folder: str) -> None:
        """Delete a folder and its mail (recreating it gives it a new UIDVALIDITY)."""
        with self.session(user) as client:
            client.delete_folder(folder)


def _make_traversable(path: Path) -> None:
    """The temp dir's parents must let Dovecot's users through (a TMPDIR under /root would not)."""
    for parent in [path, *path.parents]:
        if not parent.stat().st_mode & 0o001:
            raise RuntimeError(f"{parent} is not traversable by the dovecot user; set TMPDIR=/tmp")


def _die_with_parent() -> Callable[[], None] | None:
    """Linux: have the kernel stop Dovecot when the test process dies without tearing down.

    Without it, a pytest killed by `timeout` leaves a Dovecot behind. The signal follows the
    thread that started the process, so this is only used from the main thread.
    """
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None
    pr_set_pdeathsig = 1

    def set_pdeathsig() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)

    return set_pdeathsig


def _live_group_members(pgid: int) -> bool:
    """Whether any process of group `pgid` is still running (zombies do not count)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def _imap_greets(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            return sock.recv(64).startswith(b"* OK")
    except OSError:
        return False


def _appenduid(response: Any) -> int:
    """`[APPENDUID <uidvalidity> <uid>] ...` -> uid."""
    text = response.decode() if isinstance(response, bytes) else str(response)
    if "APPENDUID" not in text:
        raise RuntimeError(f"no APPENDUID in {text!r}")
    return int(text.split("APPENDUID", 1)[1].split("]", 1)[0].split()[1])


# --------------------------------------------------------------------------- SMTP relay


@dataclass(frozen=True, slots=True)
class RelayedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes


class _RecordingHandler:
    """aiosmtpd handler: records each message, or refuses DATA while the relay is failing,
    or refuses RCPT for the addresses in `relay.refuse`."""

    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        return self.relay._recipient(envelope, address)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return self.relay._receive(session, envelope)


class Relay:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 that keeps every message it accepts.

    `stop()`/`start()` keep the port, for "relay down, then up" tests; set `fail_with`
    (e.g. "451 4.3.0 try later") to refuse DATA, for retry tests; put an address in
    `refuse` (e.g. "550 5.1.1 no such user") to refuse RCPT TO for it alone.
    `rcpt_attempts` counts the RCPT TO commands per address.
    """

    host = "127.0.0.1"

    def __init__(self, *, port: int | None = None, start: bool = True) -> None:
        self.port = port or free_port()
        self.fail_with: str | None = None
        self.refuse: dict[str, str] = {}
        self.rcpt_attempts: Counter[str] = Counter()
        self.attempts = 0
        self._messages: list[RelayedMessage] = []
        self._sessions: list[Any] = []  # kept, so each connection's session stays distinct
        self._changed = threading.Condition()
        self._controller: Controller | None = None
        if start:
            self.start()

    @property
    def messages(self) -> list[RelayedMessage]:
        with self._changed:
            return list(self._messages)

    @property
    def running(self) -> bool:
        return self._controller is not None

    @property
    def connections(self) -> int:
        """How many SMTP connections handed over at least one message (accepted or refused)."""
        with self._changed:
            return len(self._sessions)

    def _recipient(self, envelope: Any, address: str) -> str:
        with self._changed:
            self.rcpt_attempts[address.lower()] += 1
            refusal = self.refuse.get(address.lower())
        if refusal:
            return refusal
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    def _receive(self, session: Any, envelope: Any) -> str:
        with self._changed:
            self.attempts += 1
            if not any(known is session for known in self._sessions):
                self._sessions.append(session)
            if self.fail_with:
                return self.fail_with
            raw = envelope.original_content or envelope.content
            self._messages.append(
                RelayedMessage(
                    str(envelope.mail_from), tuple(str(r) for r in envelope.rcpt_tos), bytes(raw)
                )
            )
            self._changed.notify_all()
        return "250 2.0.0 OK queued"

    def wait_for(self, count: int, timeout: float = 10.0) -> list[RelayedMessage]:
        """All messages once there are at least `count`; AssertionError on timeout."""
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._messages) >= count, timeout):
                raise AssertionError(
                    f"relay got {len(self._messages)} of {count} messages in {timeout} s"
                )
            return list(self._messages)

    def clear(self) -> None:
        with self._changed:
            self._messages.clear()
            self._sessions.clear()
            self.attempts = 0

    def start(self) -> None:
        if self._controller is not None:
            return
        controller = Controller(
            _RecordingHandler(self),
            hostname=self.host,
            port=self.port,
            ready_timeout=10,
            enable_SMTPUTF8=True,
            data_size_limit=64 * 1024 * 1024,
        )
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def __enter__(self) -> Relay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --------------------------------------------------------------------------- TCP proxy


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 to `target` whose connections a test can cut.

    `cut()` closes every open connection at once (the client sees the stream end, as when
    a NAT or the server's host drops it); `cut_after(n)` closes each connection once
    the server has sent `n` more bytes through it, to cut a response in the middle.
    `seen(b"IDLE")` tells whether a client sent those bytes (it is waiting in IDLE).
    """

    host = "127.0.0.1"

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._server = socket.create_server((self.host, 0))
        self.port: int = self._server.getsockname()[1]
        self._lock = threading.Lock()
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._budget: int | None = None
        self._from_clients = bytearray()
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # closed
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self._pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, from_server: bool) -> None:
        while True:
            try:
                data = source.recv(4096)
            except OSError:
                data = b""
            if not data:
                self._close(source, sink)
                return
            cut = False
            with self._lock:
                if not from_server:
                    self._from_clients.extend(data)
                elif self._budget is not None:
                    if len(data) >= self._budget:
                        data, cut, self._budget = data[: self._budget], True, None
                    else:
                        self._budget -= len(data)
            try:
                sink.sendall(data)
            except OSError:
                self._close(source, sink)
                return
            if cut:
                self.cut()
                return

    def _close(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def cut(self) -> None:
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self.cuts += 1
        for client, upstream in pairs:
            self._close(client, upstream)

    def cut_after(self, server_bytes: int) -> None:
        with self._lock:
            self._budget = server_bytes

    def seen(self, data: bytes) -> bool:
        with self._lock:
            return data in self._from_clients

    def forget_seen(self) -> None:
        with self._lock:
            self._from_clients.clear()

    def close(self) -> None:
        self._server.close()
        self.cut()


# --------------------------------------------------------------------------- PostgreSQL


def find_postgres_bin() -> Path:
    """The newest /usr/lib/postgresql/*/bin holding initdb and postgres."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    )
    for directory in found:
        if (directory / "initdb").exists() and (directory / "postgres").exists():
            return directory
    raise FileNotFoundError("PostgreSQL server binaries (apt-get install postgresql)")


class Postgres:
    """A PostgreSQL of a test's own on a free port, its cluster in a temp dir.

    `stop()`/`start()` take it down and up on the same port with the same data, to test
    a database that goes away for a while. As root it runs as the `postgres` (or
    `nobody`) user: the server refuses to run as root.
    """

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.bin = find_postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="maildesk-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            self.user = _first_user("postgres", "nobody").pw_name
            _make_traversable(self.root.parent)
            self.root.chmod(0o755)
            shutil.chown(self.root, self.user)
        self._process: subprocess.Popen[bytes] | None = None
        subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            check=True,
            capture_output=True,
            user=self.user,
        )
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@{self.host}:{self.port}/postgres"

    def start(self, timeout: float = 30.0) -> None:
        log = open(self.root / "postgres.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            self._process = subprocess.Popen(
                [
                    str(self.bin / "postgres"),
                    "-D",
                    str(self.data),
                    "-p",
                    str(self.port),
                    "-k",
                    str(self.root),
                    "-c",
                    f"listen_addresses={self.host}",
                    "-c",
                    "fsync=off",
                ],
                stdout=log,
                stderr=log,
                user=self.user,
                start_new_session=True,
                preexec_fn=_die_with_parent(),
            )
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while not self._ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"postgres did not start:\n{self.log_tail()}")
            time.sleep(0.1)

    def _ready(self) -> bool:
        ready = subprocess.run(
            [str(self.bin / "pg_isready"), "-h", self.host, "-p", str(self.port)],
            capture_output=True,
        )
        return ready.returncode == 0

    def stop(self) -> None:
        """Fast shutdown: open connections are cut, as when the server goes away."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, lines: int = 30) -> str:
        path = self.root / "postgres.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@pytest.fixture
def own_postgres() -> Iterator[Postgres]:
    """A PostgreSQL for this test alone, which the test may stop and start."""
    try:
        server = Postgres()
    except (FileNotFoundError, subprocess.CalledProcessError, RuntimeError) as exc:
        require_server("PostgreSQL server binaries", str(exc))
    try:
        yield server
    finally:
        server.remove()


# --------------------------------------------------------------------------- fixtures


@dataclass(frozen=True, slots=True)
class ImapUser:
    """Where a test's own mailbox is, and how to log in to it."""

    host: str
    port: int
    username: str
    password: str
    server: Dovecot = field(repr=False, compare=False)

    def table(self, **extra: Any) -> dict[str, Any]:
        """This mailbox as the `[imap]` table of a test's config, with `extra` keys."""
        return {
            "host": self.host,
            "port": self.port,
            "security": "none",
            "username": self.username,
            "password": self.password,
            **extra,
        }

    def config(self, **overrides: Any) -> ImapConfig:
        """An ImapConfig for this mailbox (plain IMAP on loopback), with `overrides`."""
        from maildesk.config import ImapConfig  # here, so server-only users need no maildesk

        base = ImapConfig(
            host=self.host,
            port=self.port,
            security="none",
            username=self.username,
            password=self.password,
            timeout_seconds=10,
        )
        return replace(base, **overrides)


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One real Dovecot for the whole session (each test gets its own user)."""
    try:
        server = Dovecot()
    except DovecotUnavailable as exc:
        require_server("Dovecot", str(exc))
    try:
        yield server
    finally:
        server.stop()


_user_numbers = itertools.count(1)


@pytest.fixture
def imap_user(dovecot: Dovecot) -> ImapUser:
    """A fresh user with an empty INBOX for this test."""
    if not dovecot.running:  # a test that halted the shared server must not break the next
        dovecot.start()
    name = f"user{next(_user_numbers)}-{secrets.token_hex(3)}"
    password = secrets.token_urlsafe(12)
    dovecot.add_user(name, password)
    return ImapUser(dovecot.host, dovecot.imap_port, name, password, dovecot)


@pytest.fixture
def relay() -> Iterator[Relay]:
    """A real SMTP relay on a free loopback port, stopped after the test."""
    server = Relay()
    try:
        yield server
    finally:
        server.stop()
