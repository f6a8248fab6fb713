"""One ticket's whole history for a dispute: every public and internal message, event,
attachment list and time, as JSON (`ticket show --format json` plus when it was
exported) or as a PDF of the same data."""

from __future__ import annotations

import json
from typing import Any

from maildesk.cli import read as views
from maildesk.context import Desk
from maildesk.reports.formats.pdf import document


def ticket_data(desk: Desk, number: int) -> dict[str, Any] | None:
    data = views.ticket_detail(desk, number)
    if data is None:
        return None
    return {**data, "exported_at": desk.clock.now().isoformat()}


def as_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2).encode()


def as_pdf(data: dict[str, Any], desk_name: str) -> bytes:
    pdf = document()
    pdf.set_font("DejaVu", "B", 14)
    pdf.multi_cell(0, 8, f"#{data['number']} {data['subject']}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    for key in (
        "state",
        "priority",
        "category",
        "channel",
        "requester",
        "requester_name",
        "assignee",
        "team",
        "unit",
        "opened_at",
        "first_response_at",
        "resolved_at",
        "closed_at",
        "exported_at",
    ):
        pdf.cell(0, 5, f"{key}: {data.get(key) or '—'}", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 8, "messages", new_x="LMARGIN", new_y="NEXT")
    for message in data["messages"]:
        pdf.set_font("DejaVu", "B", 9)
        audience = "public" if message["public"] else "internal"
        pdf.multi_cell(
            0,
            5,
            f"{message['at']} · {message['direction']} · {message['kind']} · {audience} · "
            f"{message['sender_name']} <{message['sender']}>",
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(0, 5, message["text"] or "—", new_x="LMARGIN", new_y="NEXT")
        for item in message["attachments"]:
            pdf.multi_cell(
                0,
                5,
                f"  {item['filename']} ({item['content_type']}, {item['size']} B,"
                f" sha256 {item['sha256']})",
                new_x="LMARGIN",
                new_y="NEXT",
            )
        pdf.ln(2)
    pdf.set_font("DejaVu", "B", 11)
    pdf.cell(0, 8, "events", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 9)
    for event in data["events"]:
        detail = json.dumps(event["detail"], ensure_ascii=False) if event["detail"] else ""
        pdf.multi_cell(
            0,
            5,
            f"{event['at']} · {event['actor']} · {event['kind']} {detail}",
            new_x="LMARGIN",
            new_y="NEXT",
        )
    pdf.set_title(f"{desk_name} #{data['number']}")
    return bytes(pdf.output())
