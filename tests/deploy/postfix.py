"""A real Postfix for tests, as a plain process with all of its state in a temporary folder.

Like tests/servers.py's Dovecot: nothing of the system's mail setup is read or changed.
`postfix -c DIR start` runs a master whose main.cf and master.cf live in DIR, with its
own queue, data and log file there, and smtpd on a free loopback port; the deploy
example's lines are then added to those files by the test. The master runs as root
(Postfix needs it), its daemons as the `postfix` user.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from tests.servers import free_port

MAIN = """\
# Written by tests/deploy/postfix.py: a throwaway Postfix, everything under {root}.
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
meta_directory = /etc/postfix
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.maildesk.test
mydomain = maildesk.test
mydestination =
alias_maps =
alias_database =
local_recipient_maps =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtp_dns_support_level = disabled
maillog_file = {root}/maillog
maillog_file_prefixes = {root}
# Retry soon, so a test sees a deferred mail delivered once maildesk can take it.
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
"""

MASTER = """\
# Written by tests/deploy/postfix.py: the services a loopback relay needs, none chrooted.
127.0.0.1:{port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""


class PostfixUnavailable(RuntimeError):
    """Postfix is not installed, or this process may not start it (it needs root)."""


def find_postfix() -> str:
    for candidate in (shutil.which("postfix"), "/usr/sbin/postfix"):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise PostfixUnavailable("postfix is not installed (apt-get install postfix)")


class Postfix:
    """A Postfix master on 127.0.0.1:`port` (smtpd), configured by `main`/`master` lines
    added before `start()`."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.binary = find_postfix()
        if os.geteuid() != 0:
            raise PostfixUnavailable("the Postfix master must be started as root")
        # Under /tmp, traversable: Postfix's daemons run as `postfix`.
        self.root = Path(tempfile.mkdtemp(prefix="maildesk-postfix-"))
        self.root.chmod(0o755)
        self.port = free_port()
        (self.root / "main.cf").write_text(MAIN.format(root=self.root))
        (self.root / "master.cf").write_text(MASTER.format(port=self.port))
        (self.root / "queue").mkdir(mode=0o755)  # `postfix start` makes what is inside
        (self.root / "data").mkdir(mode=0o700)
        shutil.chown(self.root / "data", "postfix")
        self.started = False

    def add(self, name: str, text: str) -> None:
        """Append lines to main.cf or master.cf (or write another file of the folder)."""
        with (self.root / name).open("a", encoding="utf-8") as file:
            file.write("\n" + text)

    def postmap(self, name: str) -> None:
        done = self._run("/usr/sbin/postmap", "-c", str(self.root), str(self.root / name))
        if done.returncode != 0:
            raise RuntimeError(f"postmap {name}: {done.stderr}")

    def _run(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(argv, capture_output=True, text=True, timeout=120)

    def start(self, timeout: float = 30.0) -> None:
        done = self._run(self.binary, "-c", str(self.root), "start")
        if done.returncode != 0:
            raise PostfixUnavailable(
                f"postfix start: {done.stdout}{done.stderr}\n{self.log_tail()}"
            )
        self.started = True
        deadline = time.monotonic() + timeout
        while not self._greets():
            if time.monotonic() > deadline:
                raise PostfixUnavailable(f"smtpd did not greet on {self.port}\n{self.log_tail()}")
            time.sleep(0.1)

    def _greets(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=1) as sock:
                return sock.recv(64).startswith(b"220")
        except OSError:
            return False

    def send(self, sender: str, recipients: list[str], raw: bytes) -> None:
        with smtplib.SMTP(self.host, self.port, timeout=30) as smtp:
            smtp.sendmail(sender, recipients, raw)

    def queued(self) -> list[Path]:
        """The mail still in the queue (incoming, active, deferred, hold)."""
        queue = self.root / "queue"
        return [
            path
            for sub in ("maildrop", "incoming", "active", "deferred", "hold")
            for path in (queue / sub).rglob("*")
            if path.is_file()
        ]

    def log(self) -> str:
        path = self.root / "maillog"
        return path.read_text(errors="replace") if path.exists() else ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:]) or "(no log)"

    def stop(self) -> None:
        """`postfix stop` (its master waits for its daemons), then delete the folder."""
        if self.started:
            self._run(self.binary, "-c", str(self.root), "stop")
            pid_file = self.root / "queue" / "pid" / "master.pid"
            deadline = time.monotonic() + 15
            while pid_file.exists() and time.monotonic() < deadline:
                with contextlib.suppress(ValueError, OSError):
                    os.kill(int(pid_file.read_text().split()[0]), 0)
                    time.sleep(0.1)
                    continue
                break
            self.started = False
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Postfix:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
