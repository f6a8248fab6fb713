"""A reader whose module takes longer to import than a mail may take to read: the child
that reads with it is slow to start, as on a busy machine (tests/unit/test_poison.py)."""

from __future__ import annotations

import time
from typing import BinaryIO

from maildesk.domain import ParsedMail
from maildesk.inbound.parse import parse_mail
from maildesk.mime.limits import ParseLimits

IMPORT_SECONDS = 2.0
time.sleep(IMPORT_SECONDS)


def slow_to_import_reader(raw: BinaryIO, limits: ParseLimits) -> ParsedMail:
    return parse_mail(raw, limits)
