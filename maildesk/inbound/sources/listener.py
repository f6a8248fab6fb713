"""Receive mail straight from an MTA over SMTP or LMTP (aiosmtpd).

The peer gets 250 only after the mail is committed, and a 4xx when it could not
be stored, so the MTA keeps it and retries. Only the desks' addresses (and their
`+` extensions) are accepted as recipients; each is stored for its own desk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
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
    """aiosmtpd handler: plain methods returning the SMTP status line.

    Each recipient is routed to the desk whose address (or `+` extension) it is; a
    mail to several desks is stored once for each of them.
    """

    def __init__(self, desks: Sequence[Desk], *, lmtp: bool) -> None:
        self.desks = desks
        self.lmtp = lmtp

    def desk_for(self, address: str) -> Desk | None:
        return next((d for d in self.desks if is_desk_address(address, d.address)), None)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self.desk_for(address) is None:
            return "550 5.1.1 Not a mailbox of this help desk"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or (
            envelope.content if isinstance(envelope.content, bytes) else b""
        )
        loop = asyncio.get_running_loop()
        by_desk: dict[int, list[str]] = {}
        for address in envelope.rcpt_tos:
            desk = self.desk_for(address)
            assert desk is not None  # RCPT accepted only the desks' addresses
            by_desk.setdefault(desk.desk_id, []).append(address)
        statuses: dict[int, str] = {}
        for desk_id, rcpt_tos in by_desk.items():
            desk = next(d for d in self.desks if d.desk_id == desk_id)
            try:
                result = await loop.run_in_executor(
                    None, self._accept, desk, raw, envelope.mail_from or "", rcpt_tos
                )
                statuses[desk_id] = f"250 2.0.0 Stored as {result}"
            except TemporaryError as exc:
                log.warning("listener could not store a mail: %s", exc)
                statuses[desk_id] = "451 4.3.0 Temporary failure, please retry"
            except Exception:  # noqa: BLE001 - the MTA must keep the mail and retry
                log.exception("listener failed to store a mail")
                statuses[desk_id] = "451 4.3.0 Temporary failure, please retry"
        if self.lmtp:
            # LMTP answers DATA once per accepted recipient.
            return "\r\n".join(
                statuses[desk.desk_id]
                for desk in (self.desk_for(a) for a in envelope.rcpt_tos)
                if desk is not None
            )
        failed = [s for s in statuses.values() if not s.startswith("250")]
        # SMTP has one answer: a retry stores again only where it failed (dedupe).
        return failed[0] if failed else "; ".join(statuses.values())

    def _accept(self, desk: Desk, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> str:
        accepted = accept(
            desk,
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

    def __init__(self, desks: Sequence[Desk], config: ListenerConfig) -> None:
        host, port = parse_endpoint(config.listen, key="listener.listen")
        lmtp = config.protocol == "lmtp"
        desk = desks[0]  # the install's listener and size limit are shared by every desk
        self.port = port
        self.source, self.listen = desk.config.source, config.listen
        self.controller = _Controller(
            DeskHandler(desks, lmtp=lmtp),
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
