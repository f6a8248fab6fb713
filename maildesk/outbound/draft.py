"""What intake keeps of a mail to send: its rendered words and every header's input.

Building a mail (`compose.build`, then `as_bytes`) costs more than rendering it and
more than all of a ticket's rows together, and nobody waits for it before the relay:
so intake stores this draft beside the outbox row, and the outbox worker builds the
bytes just before the first try and keeps them, so every retry sends the same mail.
A mail's files are the attachment rows of the message it is recorded as (their bytes
are in the blob store already); a mail recorded nowhere, such as a digest with its
charts, is built at once instead.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from maildesk.domain import Attachment
from maildesk.models import Attachment as StoredAttachment
from maildesk.models import Outbox
from maildesk.outbound import compose
from maildesk.storage import BlobStore


@dataclass(frozen=True, slots=True)
class Draft:
    """`compose.build`'s inputs, with the files named by their stored rows."""

    rendered: compose.Rendered
    from_name: str
    from_addr: str
    to: str
    to_name: str
    message_id: str
    date: datetime
    loop_marker: str
    reply_to: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = False
    attachment_ids: tuple[int, ...] = ()

    def build(self, attachments: Sequence[Attachment] = ()) -> EmailMessage:
        return compose.build(
            self.rendered,
            from_name=self.from_name,
            from_addr=self.from_addr,
            to=self.to,
            to_name=self.to_name,
            message_id=self.message_id,
            date=self.date,
            loop_marker=self.loop_marker,
            reply_to=self.reply_to,
            in_reply_to=self.in_reply_to,
            references=self.references,
            automatic=self.automatic,
            attachments=attachments,
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "subject": self.rendered.subject,
                "text": self.rendered.text,
                "html": self.rendered.html,
                "from_name": self.from_name,
                "from_addr": self.from_addr,
                "to": self.to,
                "to_name": self.to_name,
                "message_id": self.message_id,
                "date": self.date.isoformat(),
                "loop_marker": self.loop_marker,
                "reply_to": self.reply_to,
                "in_reply_to": self.in_reply_to,
                "references": list(self.references),
                "automatic": self.automatic,
                "attachment_ids": list(self.attachment_ids),
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Draft:
        data = json.loads(text)
        return cls(
            rendered=compose.Rendered(data["subject"], data["text"], data["html"]),
            from_name=data["from_name"],
            from_addr=data["from_addr"],
            to=data["to"],
            to_name=data["to_name"],
            message_id=data["message_id"],
            date=datetime.fromisoformat(data["date"]),
            loop_marker=data["loop_marker"],
            reply_to=data["reply_to"],
            in_reply_to=data["in_reply_to"],
            references=tuple(data["references"]),
            automatic=bool(data["automatic"]),
            attachment_ids=tuple(data["attachment_ids"]),
        )


def bytes_of(session: Session, blobs: BlobStore, row: Outbox) -> bytes:
    """The mail as it was sent or will be: its bytes once built, else built from its draft."""
    if row.raw is not None:
        return bytes(row.raw)
    if row.draft is None:
        raise ValueError(f"outbox {row.id} has neither bytes nor a draft")
    draft = Draft.from_json(row.draft)
    stored = {
        a.id: a
        for a in session.scalars(
            select(StoredAttachment).where(StoredAttachment.id.in_(draft.attachment_ids))
        )
    }
    files = [
        Attachment(
            filename=a.filename,
            content_type=a.content_type,
            data=blobs.get(a.sha256),
            inline=a.inline,
            content_id=a.content_id,
        )
        for a in (stored[i] for i in draft.attachment_ids)
    ]
    return draft.build(files).as_bytes()
