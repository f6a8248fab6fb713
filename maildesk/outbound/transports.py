"""Transports: the only code that hands our mail to the outside world.

`SmtpTransport` talks to the configured relay; `DirectoryTransport` writes one
`.eml` per message, which is what the embedded defaults use so a first run needs
no relay. Failures are sorted into temporary (retry later) and permanent (the
relay refused this mail for good).
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Protocol

from maildesk.config import SmtpConfig
from maildesk.errors import PermanentError, RecipientRefused, TemporaryError


class Transport(Protocol):
    def send(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> None: ...

    def batch(self) -> AbstractContextManager[None]:
        """Within it, sends may share one connection (a queue is not a handshake per mail)."""
        ...


class SmtpTransport:
    """The relay; inside `batch()` one connection carries mail after mail."""

    def __init__(self, config: SmtpConfig) -> None:
        self.config = config
        self._kept: smtplib.SMTP | None = None
        self._batching = False

    @contextmanager
    def batch(self) -> Iterator[None]:
        self._batching = True
        try:
            yield
        finally:
            self._batching = False
            self._drop()

    def _drop(self) -> None:
        client, self._kept = self._kept, None
        if client is not None:
            try:
                client.quit()
            except (OSError, smtplib.SMTPException):
                client.close()

    def _client(self) -> smtplib.SMTP:
        if self._kept is None:
            client = self._connect()
            try:
                if self.config.username:
                    client.login(self.config.username, self.config.password)
            except BaseException:
                client.close()
                raise
            self._kept = client
        return self._kept

    def _connect(self) -> smtplib.SMTP:
        cfg = self.config
        if cfg.security == "ssl":
            return smtplib.SMTP_SSL(
                cfg.host,
                cfg.port,
                timeout=cfg.timeout_seconds,
                context=ssl.create_default_context(),
            )
        client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        if cfg.security == "starttls":
            client.starttls(context=ssl.create_default_context())
        return client

    def _sendmail(
        self, envelope_from: str, recipients: Sequence[str], raw: bytes
    ) -> dict[str, tuple[int, bytes]]:
        reused = self._kept is not None
        try:
            return self._client().sendmail(envelope_from, list(recipients), raw)
        except smtplib.SMTPServerDisconnected:
            # A kept connection the relay closed while idle: one fresh try.
            self._drop()
            if not reused:
                raise
            return self._client().sendmail(envelope_from, list(recipients), raw)

    def send(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> None:
        try:
            refused = self._sendmail(envelope_from, recipients, raw)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            text = "; ".join(
                f"{rcpt}: {code} {msg!r}" for rcpt, (code, msg) in exc.recipients.items()
            )
            if all(code >= 500 for code in codes):
                raise RecipientRefused(f"relay refused the recipient: {text}") from exc
            raise TemporaryError(f"relay deferred the recipient: {text}") from exc
        except smtplib.SMTPResponseException as exc:
            error = f"relay answered {exc.smtp_code} {exc.smtp_error!r}"
            if 500 <= exc.smtp_code < 600 and exc.smtp_code not in (530, 535):
                raise PermanentError(error) from exc
            raise TemporaryError(error) from exc
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise TemporaryError(f"relay unreachable: {exc}") from exc
        finally:
            if not self._batching:
                self._drop()
        if refused:
            raise RecipientRefused(f"relay refused some recipients: {refused}")


class DirectoryTransport:
    """Writes each mail as `<dir>/<time>-<unique>.eml`, atomically, in sending order."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def batch(self) -> AbstractContextManager[None]:
        return nullcontext()

    def send(self, envelope_from: str, recipients: Sequence[str], raw: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(f"X-Envelope-From: <{envelope_from}>\r\n".encode())
            fh.write(f"X-Envelope-To: {', '.join(f'<{r}>' for r in recipients)}\r\n".encode())
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{time.perf_counter_ns()}-{Path(tmp).name[5:]}.eml"
        os.replace(tmp, self.directory / name)
