"""The mailbox watcher: fetch new mail from one IMAP folder and hand the raw bytes to a store.

Its one job, and the rules that make it safe ("never lose a mail"):

- Mail is read with `BODY.PEEK[]`, so fetching never sets `\\Seen`: people read this mailbox
  too, and what they have read says nothing about what we have imported.
- The place is kept by UIDVALIDITY and the last UID stored (`MailboxStore.position`), never
  by flags. The store saves the mails and the new position in one transaction.
- Only after the store has committed is a mail acknowledged on the server: moved to the
  processed folder (MOVE), or else flagged `$MaildeskImported`. Nothing is ever deleted or
  expunged. A crash between commit and acknowledgement only leaves a mail unflagged.
- A new mailbox starts "from now" unless `import_existing` is set; then the old mail is
  imported as backfill (no confirmations are sent for backfill).
- When UIDVALIDITY changes, the whole folder is fetched again; mail older than the last
  pass is backfill, and the store's dedupe key keeps everything from being stored twice.

`ImapWatcher.run` waits with IDLE when the server has it (polling otherwise) and survives
any connection failure by reconnecting with exponential backoff. A failure is explained
in one line naming the key to look at (`MailboxError`); one that will not pass by itself
(login refused, missing credentials) is retried slowly and reported as a problem.
"""

from __future__ import annotations

import ast
import contextlib
import enum
import imaplib
import logging
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import LoginError

from maildesk.clock import as_utc
from maildesk.errors import MaildeskError

if TYPE_CHECKING:
    from maildesk.config import ImapConfig

__all__ = [
    "IMPORTED_FLAG",
    "ImapWatcher",
    "Fetched",
    "LeaseLost",
    "MailboxClaim",
    "MailboxError",
    "MailboxStore",
    "Position",
    "Start",
    "StartKind",
    "backoff_delay",
    "check_credentials",
    "connect_imap",
    "explain",
    "login_backoff_delay",
    "mailbox_key",
    "where_to_start",
]

log = logging.getLogger(__name__)

IMPORTED_FLAG = b"$MaildeskImported"
MAX_IDLE_SECONDS = 25 * 60  # RFC 2177: re-issue IDLE before the server's 30-minute timeout
IDLE_SLICE_SECONDS = 1.0  # how long one idle_check may block: bounds how late `stop` is seen
IDLE_FIRST_SECONDS = 1.0  # the first IDLE of a wait ends this soon (`ImapWatcher._wait`)
MAX_BATCH_BYTES = 64 * 1024 * 1024  # a batch of 50 huge mails must not need gigabytes of memory

# What a broken or refused connection looks like: socket and TLS errors are OSError;
# imaplib's error/abort are imapclient's IMAPClientError/IMAPClientAbortError.
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, imaplib.IMAP4.error, EOFError)


@dataclass(frozen=True, slots=True)
class Fetched:
    """One mail as the server holds it."""

    uid: int
    raw: bytes
    internaldate: datetime | None


@dataclass(frozen=True, slots=True)
class Backfill:
    """Which mails of an import under way are old: no confirmation is sent for them.

    Kept with the position, so an import interrupted by a crash goes on treating
    the rest of the old mail as old after the restart.
    """

    below_uid: int  # mail already in the folder when the import started
    before: datetime | None = None  # after a UIDVALIDITY change: only mail older than this

    def covers(self, mail: Fetched) -> bool:
        if mail.uid >= self.below_uid:
            return False
        if self.before is None:
            return True
        return mail.internaldate is None or as_utc(mail.internaldate) < self.before


@dataclass(frozen=True, slots=True)
class Position:
    """Where the watcher is in one folder."""

    uidvalidity: int
    last_uid: int
    checked_at: datetime  # when the last pass completed
    backfill: Backfill | None = None  # an import of old mail still under way


class StartKind(enum.StrEnum):
    FROM_NOW = "from_now"
    IMPORT = "import"
    UIDVALIDITY_CHANGED = "uidvalidity_changed"
    RESUME = "resume"


# What the operator reads when a pass does not simply resume.
_START_LOG = {
    StartKind.FROM_NOW: "new mailbox, starting from now; existing mail is not imported",
    StartKind.IMPORT: "new mailbox, importing existing mail as backfill",
    StartKind.UIDVALIDITY_CHANGED: (
        "UIDVALIDITY changed; fetching the whole folder again, older mail as backfill"
    ),
}


@dataclass(frozen=True, slots=True)
class Start:
    """Where a pass begins: the last UID already handled, the import under way, and
    whether the position must be written even if the pass finds nothing."""

    kind: StartKind
    last_uid: int
    pending: Backfill | None = None
    must_record: bool = False


def where_to_start(
    position: Position | None,
    *,
    uidvalidity: int,
    uidnext: int | None,
    highest_uid: int | None,
    import_existing: bool,
) -> Start:
    """Decide where a pass starts (pure).

    A new mailbox starts from now, or imports what it holds as backfill
    (`import_existing`); a changed UIDVALIDITY fetches the whole folder again, mail
    from before the last completed pass as backfill (INTERNALDATE has whole seconds: a
    mail from that same second counts as new); otherwise the pass resumes where the
    last one ended, keeping an import still under way. `highest_uid` stands in for
    UIDNEXT on servers that do not send it.
    """
    below = uidnext or 2**32
    if position is None and not import_existing:
        last = (uidnext - 1) if uidnext else (highest_uid or 0)
        return Start(StartKind.FROM_NOW, last)
    if position is None:
        return Start(StartKind.IMPORT, 0, Backfill(below), must_record=True)
    if position.uidvalidity != uidvalidity:
        before = as_utc(position.checked_at).replace(microsecond=0)
        return Start(StartKind.UIDVALIDITY_CHANGED, 0, Backfill(below, before), must_record=True)
    return Start(StartKind.RESUME, position.last_uid, position.backfill)


class LeaseLost(MaildeskError):
    """Another worker holds the mailbox now: this one must not store what it fetched."""


class MailboxClaim(Protocol):
    """Who may fetch this mailbox among several workers (`inbound/lease.py`)."""

    seconds: int

    def hold(self) -> bool:
        """Take or renew; False while another worker holds it."""
        ...

    def release(self) -> None: ...


class MailboxStore(Protocol):
    """Where fetched mail goes; the database implements it (`ingest`)."""

    def position(self, mailbox: str) -> Position | None: ...

    def store(
        self,
        mailbox: str,
        uidvalidity: int,
        mails: Sequence[Fetched],
        last_uid: int,
        *,
        backfill: bool,
        pending: Backfill | None = None,
    ) -> None:
        """Durably store the raw mails (deduplicated) and the new position in ONE transaction.

        Commit before returning. The stored position's `checked_at` is the commit time;
        `pending` is the import still under way after this batch (None when done).
        """
        ...


def backoff_delay(attempt: int) -> float:
    """Seconds to wait before reconnect attempt `attempt` (0-based): 1, 2, 4, ... up to 300."""
    return float(min(300, 2 ** min(max(attempt, 0), 9)))


def login_backoff_delay(attempt: int) -> float:
    """Seconds before retrying a failure a person must fix: 60, 120, ... up to an hour.

    Slower than `backoff_delay`: a wrong password tried every few minutes can get the
    desk's address locked out or banned by the mail provider.
    """
    return float(min(3600, 60 * 2 ** min(max(attempt, 0), 6)))


class MailboxError(MaildeskError):
    """Why the mailbox cannot be read, as one line naming the configuration key to look at.

    `lasting` failures (login refused, missing credentials, TLS refused) will not pass by
    themselves: a person must act (exit 78). The others (refused port, unknown host,
    timeout) may pass: try again later (exit 75).
    """

    def __init__(self, key: str, what: str, *, lasting: bool) -> None:
        self.key, self.what, self.lasting = key, what, lasting
        super().__init__(f"{key}: {what}")


def check_credentials(config: ImapConfig) -> None:
    """Missing credentials are a `MailboxError` before any connection is tried."""
    for key, value in (("username", config.username), ("password", config.password)):
        if not value:
            raise MailboxError(
                f"imap.{key}",
                f"not set; give it in the [imap] table or in MAILDESK_IMAP_{key.upper()}",
                lasting=True,
            )


def server_words(said: object) -> str:
    """The server's own words: imapclient hands over `str(b'...')`, and the RFC 5530
    response code (`[AUTHENTICATIONFAILED]`) is for programs, not for the operator."""
    text = str(said).strip()
    if re.fullmatch(r"b(['\"]).*\1", text, re.S):
        text = str(ast.literal_eval(text).decode(errors="replace"))
    elif isinstance(said, bytes):
        text = said.decode(errors="replace").strip()
    return re.sub(r"^\[[A-Z0-9-]+\]\s*", "", text.strip())


def explain(exc: BaseException, config: ImapConfig) -> MailboxError | None:
    """The one line an operator needs for a connection or login failure; None if not one."""
    where = f"{config.host}:{config.port}"
    if isinstance(exc, MailboxError):
        return exc
    if isinstance(exc, LoginError):
        detail = server_words(exc.args[0] if exc.args else "") or "no reason given"
        return MailboxError(
            "imap.password",
            f"the server refused the login of {config.username!r} ({detail});"
            " check imap.username and imap.password",
            lasting=True,
        )
    if isinstance(exc, ssl.SSLError):
        return MailboxError(
            "imap.security",
            f"TLS with {where} failed ({exc.reason or exc}); is security = {config.security!r}"
            " right for this port?",
            lasting=True,
        )
    if isinstance(exc, socket.gaierror):
        return MailboxError(
            "imap.host", f"unknown host {config.host!r} ({exc.strerror})", lasting=False
        )
    if isinstance(exc, ConnectionRefusedError):
        return MailboxError(
            "imap.port",
            f"nothing accepts connections at {where} (connection refused)",
            lasting=False,
        )
    if isinstance(exc, TimeoutError):
        return MailboxError(
            "imap.host",
            f"no answer from {where} within {config.timeout_seconds} s (imap.timeout_seconds)",
            lasting=False,
        )
    if isinstance(exc, OSError):
        return MailboxError(
            "imap.host", f"cannot reach {where} ({exc.strerror or exc})", lasting=False
        )
    if isinstance(exc, imaplib.IMAP4.abort | EOFError):
        return MailboxError(
            "imap.host", f"{where} closed the connection ({exc or 'end of file'})", lasting=False
        )
    if isinstance(exc, imaplib.IMAP4.error) and "select" in str(exc).lower():
        return MailboxError(
            "imap.folder", f"cannot open {config.folder!r} on {where} ({exc})", lasting=True
        )
    return None


def mailbox_key(config: ImapConfig) -> str:
    """The stable name a folder's position is kept under."""
    return f"imap://{config.username}@{config.host}:{config.port}/{config.folder}"


def connect_imap(config: ImapConfig) -> IMAPClient:
    """A logged-in client, over TLS, STARTTLS or plain text as configured."""
    check_credentials(config)
    context = ssl.create_default_context()
    client = IMAPClient(
        config.host,
        port=config.port,
        ssl=config.security == "ssl",
        ssl_context=context if config.security == "ssl" else None,
        timeout=config.timeout_seconds,
    )
    try:
        if config.security == "starttls":
            client.starttls(context)
        if (config.username + config.password).isascii():
            client.login(config.username, config.password)
        else:
            # LOGIN's quoted strings are ASCII (imaplib refuses anything else);
            # AUTHENTICATE PLAIN carries UTF-8, so "contraseña" logs in.
            client.plain_login(config.username, config.password)
    except BaseException:
        _shutdown(client)
        raise
    return client


class ImapWatcher:
    """Watches one folder; `poll_once` is one pass, `run` is the daemon loop."""

    def __init__(
        self,
        config: ImapConfig,
        store: MailboxStore,
        *,
        now: Callable[[], datetime],
        connect: Callable[[ImapConfig], IMAPClient] | None = None,
        backoff: Callable[[int], float] = backoff_delay,
        login_backoff: Callable[[int], float] = login_backoff_delay,
        on_problem: Callable[[str | None], None] = lambda _problem: None,
        claim: MailboxClaim | None = None,
        on_reconnect: Callable[[str], None] = lambda _mailbox: None,
    ) -> None:
        self.config = config
        self.store = store
        self.now = now
        self.mailbox = mailbox_key(config)
        self.last_pass_at: datetime | None = None  # for status displays; set after a good pass
        self._connect = connect or connect_imap
        self._backoff = backoff
        self._login_backoff = login_backoff
        self._on_problem = on_problem  # told of a lasting failure, and None once it passes
        self._claim = claim  # None: the only fetcher (SQLite, cron mode with one worker)
        self._on_reconnect = on_reconnect  # told of each connection made again (`/metrics`)
        self._connected_once = False
        self._client: IMAPClient | None = None
        self._folder_ready = False  # processed folder known to exist on this connection

    # -- one pass ---------------------------------------------------------------------

    def poll_once(self) -> int:
        """Connect if needed, store everything new, acknowledge it; return how many were stored.

        A connection error drops the connection (the next call reconnects) and is re-raised,
        as is any error from the store. While another worker holds the mailbox's lease,
        nothing is fetched and the connection is closed.
        """
        if self._claim is not None and not self._claim.hold():
            self.close()
            return 0
        client = self._ensure_client()
        try:
            stored = self._pass(client)
        except CONNECTION_ERRORS:
            self._drop()
            raise
        self.last_pass_at = self.now()
        return stored

    def _pass(self, client: IMAPClient) -> int:
        selected = client.select_folder(self.config.folder)
        uidvalidity = int(selected[b"UIDVALIDITY"])
        uidnext = int(selected.get(b"UIDNEXT", 0)) or None
        permanent = tuple(selected.get(b"PERMANENTFLAGS", ()))
        writable = b"READ-ONLY" not in selected
        position = self.store.position(self.mailbox)

        highest = max(client.search("ALL") or [0]) if uidnext is None else None
        start = where_to_start(
            position,
            uidvalidity=uidvalidity,
            uidnext=uidnext,
            highest_uid=highest,
            import_existing=self.config.import_existing,
        )
        if start.kind in _START_LOG:
            log.log(
                logging.WARNING if start.kind is StartKind.UIDVALIDITY_CHANGED else logging.INFO,
                "%s: %s (uidvalidity %d, from uid %d)",
                self.mailbox,
                _START_LOG[start.kind],
                uidvalidity,
                start.last_uid,
            )
        if start.kind is StartKind.FROM_NOW:
            self.store.store(self.mailbox, uidvalidity, [], start.last_uid, backfill=False)
        last_uid, pending, must_record = start.last_uid, start.pending, start.must_record

        def is_backfill(mail: Fetched) -> bool:
            return pending is not None and pending.covers(mail)

        def still_pending(uid: int) -> Backfill | None:
            return pending if pending is not None and uid + 1 < pending.below_uid else None

        stored = 0
        while True:  # until a search finds nothing; IDLE then reports anything later
            found = client.search(["UID", f"{last_uid + 1}:*"])
            uids = sorted(u for u in (int(x) for x in found) if u > last_uid)  # n:* matches max<n
            batches = self._batches(client, uids)
            if not batches:  # all expunged since the search (or no sizes): look next pass
                break
            for batch in batches:
                mails = self._fetch(client, batch)
                old = [m for m in mails if is_backfill(m)]
                new = [m for m in mails if not is_backfill(m)]
                if old and new:
                    # One store call per kind. The first must not move the position past
                    # the second's mails, or a crash in between would skip them.
                    self.store.store(
                        self.mailbox, uidvalidity, old, last_uid, backfill=True, pending=pending
                    )
                    self.store.store(
                        self.mailbox,
                        uidvalidity,
                        new,
                        batch[-1],
                        backfill=False,
                        pending=still_pending(batch[-1]),
                    )
                else:
                    self.store.store(
                        self.mailbox,
                        uidvalidity,
                        mails,
                        batch[-1],
                        backfill=bool(old),
                        pending=still_pending(batch[-1]),
                    )
                must_record = False
                last_uid = batch[-1]
                stored += len(mails)
                log.info(
                    "%s: stored %d mail(s) (%d backfill), uids %d-%d, uidvalidity %d",
                    self.mailbox,
                    len(mails),
                    len(old),
                    batch[0],
                    batch[-1],
                    uidvalidity,
                )
                if writable:
                    self._acknowledge(client, [m.uid for m in mails], permanent)
        if must_record or not stored:
            # Record every completed pass: after an import or a UIDVALIDITY change on an
            # empty folder so the next pass does not start over, and on a quiet mailbox so
            # monitoring (`/healthz`) sees the watcher is alive.
            self.store.store(
                self.mailbox,
                uidvalidity,
                [],
                last_uid,
                backfill=False,
                pending=still_pending(last_uid),
            )
        return stored

    def _batches(self, client: IMAPClient, uids: list[int]) -> list[list[int]]:
        """At most `batch_size` mails and about MAX_BATCH_BYTES per batch (RFC822.SIZE)."""
        size = max(1, self.config.batch_size)
        sizes: dict[int, int] = {}
        for i in range(0, len(uids), 1000):
            for uid, data in client.fetch(uids[i : i + 1000], ["RFC822.SIZE"]).items():
                sizes[int(uid)] = int(data.get(b"RFC822.SIZE", 0))
        batches: list[list[int]] = []
        current: list[int] = []
        total = 0
        for uid in uids:
            if uid not in sizes:  # expunged since the search
                continue
            if current and (len(current) >= size or total + sizes[uid] > MAX_BATCH_BYTES):
                batches.append(current)
                current, total = [], 0
            current.append(uid)
            total += sizes[uid]
        if current:
            batches.append(current)
        return batches

    def _fetch(self, client: IMAPClient, uids: list[int]) -> list[Fetched]:
        """BODY.PEEK[] never sets \\Seen; INTERNALDATE tells old mail from new."""
        data = client.fetch(uids, ["BODY.PEEK[]", "INTERNALDATE"])
        mails = []
        for uid in uids:
            item: dict[bytes, Any] | None = data.get(uid)
            if item is None or b"BODY[]" not in item:  # expunged meanwhile: nothing to keep
                log.warning("%s: uid %d vanished before it could be fetched", self.mailbox, uid)
                continue
            when = item.get(b"INTERNALDATE")
            mails.append(
                Fetched(uid, bytes(item[b"BODY[]"]), when if isinstance(when, datetime) else None)
            )
        return mails

    def _acknowledge(
        self, client: IMAPClient, uids: list[int], permanent: tuple[bytes, ...]
    ) -> None:
        """Move to the processed folder, or flag; never \\Seen, never delete or expunge."""
        if not uids:
            return
        target = self.config.processed_folder
        if target and client.has_capability("MOVE"):
            if not self._folder_ready:
                if not client.folder_exists(target):
                    try:
                        client.create_folder(target)
                    except imaplib.IMAP4.error:
                        if not client.folder_exists(target):  # lost a race: fine; else real
                            raise
                    log.info("%s: created folder %r for processed mail", self.mailbox, target)
                self._folder_ready = True
            client.move(uids, target)
        elif b"\\*" in permanent:
            client.add_flags(uids, [IMPORTED_FLAG], silent=True)

    # -- the daemon loop --------------------------------------------------------------

    def run(self, stop: threading.Event, on_stored: Callable[[int], None]) -> None:
        """Poll, wait (IDLE or sleep), repeat until `stop` is set; reconnect with backoff."""
        attempt = 0
        log.info(
            "%s: watching (idle=%s, every %d s at most)",
            self.mailbox,
            self.config.idle,
            self.config.poll_seconds,
        )
        try:
            while not stop.is_set():
                try:
                    stored = self.poll_once()
                    if attempt:
                        self._on_problem(None)
                    attempt = 0
                    if stored:
                        self._notify(on_stored, stored)
                    if not stop.is_set():
                        self._wait(stop)
                except KeyboardInterrupt:
                    raise
                except LeaseLost as exc:
                    log.warning("%s; waiting for the lease", exc)
                    self.close()
                    stop.wait(self._round_seconds())
                except Exception as exc:
                    failure = explain(exc, self.config)
                    if failure is not None and failure.lasting:
                        delay = self._login_backoff(attempt)
                        log.error("%s: %s; retrying in %.0f s", self.mailbox, failure, delay)
                        self._on_problem(str(failure))
                    elif failure is not None:
                        delay = self._backoff(attempt)
                        log.warning(
                            "%s: connection failed: %s; retrying in %.1f s",
                            self.mailbox,
                            failure,
                            delay,
                        )
                    else:
                        delay = self._backoff(attempt)
                        log.exception("%s: pass failed; retrying in %.1f s", self.mailbox, delay)
                    attempt += 1
                    self._drop()
                    stop.wait(delay)
        finally:
            self.close()
            self.release()
            log.info("%s: stopped", self.mailbox)

    def release(self) -> None:
        """Give the lease up on a clean stop, so another worker need not wait for it."""
        if self._claim is not None:
            with contextlib.suppress(Exception):  # it expires by itself anyway
                self._claim.release()

    def _notify(self, on_stored: Callable[[int], None], stored: int) -> None:
        try:
            on_stored(stored)
        except Exception:
            log.exception("%s: on_stored callback failed", self.mailbox)

    def _wait(self, stop: threading.Event) -> None:
        """Until new mail, `poll_seconds`, or `stop`: with IDLE when the server has it.

        The first IDLE of a wait ends after `IDLE_FIRST_SECONDS`: mail that came between
        the pass's last search and IDLE is told of when a command ends, not while idling
        (Dovecot's notification starts with the IDLE), so it would wait for the round.
        """
        client = self._client
        if client is None or not self.config.idle or not client.has_capability("IDLE"):
            stop.wait(self._round_seconds())
            return
        deadline = time.monotonic() + self._round_seconds()
        first = time.monotonic() + IDLE_FIRST_SECONDS
        while not stop.is_set() and time.monotonic() < deadline:
            client.idle()
            told = self._idle_until(client, stop, min(first, deadline))
            _text, after = client.idle_done()
            if told or any(_is_new_mail(r) for r in after):
                return
            first = deadline

    def _idle_until(self, client: IMAPClient, stop: threading.Event, until: float) -> bool:
        """Idle until `until` or `stop`; whether the server told of new mail."""
        quick_empty = 0
        while not stop.is_set():
            left = until - time.monotonic()
            if left <= 0:
                return False
            slice_ = min(IDLE_SLICE_SECONDS, left)
            started = time.monotonic()
            responses = client.idle_check(timeout=slice_)
            if any(_is_bye(r) for r in responses):
                raise imaplib.IMAP4.abort("server said BYE during IDLE")
            if any(_is_new_mail(r) for r in responses):
                log.debug("%s: IDLE reports new mail", self.mailbox)
                return True
            # imapclient swallows EOF in idle_check: a closed connection looks like a
            # readable socket that yields nothing, again and again.
            if not responses and time.monotonic() - started < slice_ / 2:
                quick_empty += 1
                if quick_empty >= 3:
                    raise imaplib.IMAP4.abort("connection closed during IDLE")
            else:
                quick_empty = 0
        return False

    def _round_seconds(self) -> float:
        """The longest wait between passes: `poll_seconds`, and a third of a lease, so the
        holder renews it twice before it could expire and a waiting worker looks as often."""
        seconds: float = min(max(self.config.poll_seconds, 1), MAX_IDLE_SECONDS)
        if self._claim is not None:
            seconds = min(seconds, max(self._claim.seconds / 3, 1))
        return float(seconds)

    # -- connection -------------------------------------------------------------------

    def _ensure_client(self) -> IMAPClient:
        if self._client is None:
            client = self._connect(self.config)
            client.normalise_times = False  # keep INTERNALDATE's zone: aware datetimes
            self._client = client
            self._folder_ready = False
            log.info("%s: connected", self.mailbox)
            if self._connected_once:
                self._count_reconnect()
            self._connected_once = True
        return self._client

    def _count_reconnect(self) -> None:
        """Best effort: a count for monitoring must never stop the watcher."""
        try:
            self._on_reconnect(self.mailbox)
        except Exception:
            log.warning("%s: could not count the reconnection", self.mailbox, exc_info=True)

    def _drop(self) -> None:
        """Forget the connection without talking to the server (it may be gone)."""
        client, self._client = self._client, None
        if client is not None:
            _shutdown(client)

    def close(self) -> None:
        """Log out politely, or just close the socket if that fails."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            client.logout()
        except Exception:
            _shutdown(client)


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(OSError, imaplib.IMAP4.error, AttributeError):
        client.shutdown()


def _is_new_mail(response: tuple[Any, ...]) -> bool:
    return len(response) >= 2 and response[1] == b"EXISTS"


def _is_bye(response: tuple[Any, ...]) -> bool:
    return bool(response) and response[0] == b"BYE"
