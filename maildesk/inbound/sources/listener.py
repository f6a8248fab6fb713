"""Receive mail straight from an MTA over SMTP or LMTP (aiosmtpd).

The peer gets 250 only after the mail is committed, and a 4xx when it could not
be stored, so the MTA keeps it and retries. Only the desk's addresses (and their
`+` extensions) are accepted as recipients.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from maildesk.config import ListenerConfig, parse_endpoint
from maildesk.context import Desk
from maildesk.errors import ConfigError, TemporaryError
from maildesk.inbound.accept import accept
from maildesk.signing import is_desk_address

log = logging.getLogger(__name__)


class DeskHandler:
    """aiosmtpd handler: plain methods returning the SMTP status line."""

    def __init__(self, desk: Desk, *, lmtp: bool) -> None:
        self.desk = desk
        self.lmtp = lmtp

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if not is_desk_address(address, self.desk.address):
            return "550 5.1.1 Not a mailbox of this help desk"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or (
            envelope.content if isinstance(envelope.content, bytes) else b""
        )
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                None, self._accept, raw, envelope.mail_from or "", list(envelope.rcpt_tos)
            )
            status = f"250 2.0.0 Stored as {result}"
        except TemporaryError as exc:
            log.warning("listener could not store a mail: %s", exc)
            status = "451 4.3.0 Temporary failure, please retry"
        except Exception:  # noqa: BLE001 - the MTA must keep the mail and retry
            log.exception("listener failed to store a mail")
            status = "451 4.3.0 Temporary failure, please retry"
        if self.lmtp:
            # LMTP answers DATA once per accepted recipient.
            return "\r\n".join([status] * max(len(envelope.rcpt_tos), 1))
        return status

    def _accept(self, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> str:
        accepted = accept(
            self.desk,
            raw,
            source="listener",
            envelope_from=mail_from.strip("<>"),
            envelope_to=rcpt_tos,
        )
        return f"inbound {accepted.inbound_id} ({accepted.status})"


class _Controller(Controller):
    def __init__(self, handler: DeskHandler, *, lmtp: bool, **kwargs: Any) -> None:
        self._lmtp = lmtp
        super().__init__(handler, **kwargs)

    def factory(self) -> SMTP:
        cls = LMTP if self._lmtp else SMTP
        return cls(self.handler, **self.SMTP_kwargs)


class Listener:
    """The SMTP/LMTP server in its own thread; `start()` returns once it listens."""

    def __init__(self, desk: Desk, config: ListenerConfig) -> None:
        host, port = parse_endpoint(config.listen, key="listener.listen")
        lmtp = config.protocol == "lmtp"
        self.port = port
        self.source, self.listen = desk.config.source, config.listen
        self.controller = _Controller(
            DeskHandler(desk, lmtp=lmtp),
            lmtp=lmtp,
            hostname=host,
            port=port,
            data_size_limit=desk.config.desk.max_message_mb * 1024 * 1024,
            server_hostname=desk.domain,
            decode_data=False,
        )

    def start(self) -> None:
        try:
            self.controller.start()
        except OSError as exc:
            raise ConfigError(
                self.source,
                "listener.listen",
                "an address free to listen on",
                f"{self.listen} ({exc.strerror})",
            ) from exc
        log.info("listening for mail on %s:%s", self.controller.hostname, self.port)

    def stop(self) -> None:
        self.controller.stop()
