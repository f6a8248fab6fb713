"""The walk over a mail's MIME tree: every part becomes body text, a file or a defect.

Bodies are decoded from their raw bytes against the declared charset; files keep
their exact bytes; a multipart whose boundary never appears is recovered;
uuencoded blocks and winmail.dat are unpacked. "part N" in a defect counts parts
depth first, 1 being the message itself. Every expansion is bounded by
`ParseLimits` (parts, nesting, files, decoded bytes): what fits is kept and the
rest is one "truncated: ..." defect, so no mail can make the walk hang.
"""

from __future__ import annotations

import binascii
import email
import re
from dataclasses import dataclass, field
from email.message import Message

from maildesk.mime import tnef, uuencode
from maildesk.mime.charsets import clean, cut, decode_text
from maildesk.mime.filenames import sender_filename
from maildesk.mime.limits import MB, ParseLimits

_BOUNDARY_LINE = re.compile(r"^--([0-9A-Za-z'()+_,\-./:=?]{1,70})[ \t]*\r?$", re.MULTILINE)


@dataclass
class PartFile:
    """A file found in the tree; the name is still the sender's, unsanitised."""

    name: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass
class Parts:
    """What the walk over the MIME tree collects."""

    defects: list[str]
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    decoded: list[tuple[int, str, str]] = field(default_factory=list)
    recovered: int = 0  # inside a re-parsed multipart, mail-parser saw other parts
    files: list[PartFile] = field(default_factory=list)
    tnef_text: str = ""
    tnef_html: str = ""
    count: int = 0
    limits: ParseLimits = field(default_factory=ParseLimits)
    size: int = 0  # decoded bytes kept so far, bodies and files
    files_dropped: int = 0
    size_dropped: int = 0


def read_parts(message: Message, defects: list[str], limits: ParseLimits | None = None) -> Parts:
    """Walk the tree within `limits`; what cannot be read is appended to `defects`."""
    walk = Parts(defects, limits=limits or ParseLimits())
    _walk(message, walk, depth=0)
    bounds = walk.limits
    if walk.count > bounds.parts:
        defects.append(f"truncated: {walk.count} MIME parts, kept {bounds.parts}")
    if walk.files_dropped:
        total = len(walk.files) + walk.files_dropped + walk.size_dropped
        defects.append(f"truncated: {total} files, kept {len(walk.files)}")
    if walk.size_dropped:
        defects.append(
            f"truncated: decoded size over {bounds.decoded_bytes // MB} MB; "
            f"{walk.size_dropped} files dropped"
        )
    return walk


def _keep(walk: Parts, found: PartFile) -> None:
    """Keep a file if it fits the bounds; count it as dropped if not."""
    if len(walk.files) >= walk.limits.files:
        walk.files_dropped += 1
    elif walk.size + len(found.data) > walk.limits.decoded_bytes:
        walk.size_dropped += 1
    else:
        walk.size += len(found.data)
        walk.files.append(found)


def _walk(part: Message, walk: Parts, depth: int) -> None:
    """Every part becomes body text, a file or a defect; none is skipped."""
    walk.count += 1
    index = walk.count
    if index > walk.limits.parts:
        return  # counted, and reported once by read_parts
    ctype = part.get_content_type()
    try:
        if depth >= walk.limits.depth:
            walk.defects.append(f"part {index}: nested over {walk.limits.depth} levels; kept whole")
            _keep(walk, PartFile("", ctype, _body_bytes(part, walk, index)))
        elif part.is_multipart() and part.get_content_maintype() == "multipart":
            for child in part.get_payload():
                if isinstance(child, Message):
                    _walk(child, walk, depth + 1)
        elif part.is_multipart():  # message/rfc822, delivery-status: keep whole
            name = sender_filename(part, walk.defects, index)
            _keep(walk, PartFile(name, ctype, _body_bytes(part, walk, index)))
        elif part.get_content_maintype() == "multipart":
            _broken_multipart(part, walk, depth, index)
        else:
            _leaf(part, walk, index, ctype)
    except MemoryError:
        raise  # the reader's limit, not this part's defect
    except Exception as exc:  # a stdlib bug on one odd part must not cost the others
        walk.defects.append(cut(f"part {index} ({ctype}): unreadable ({exc!r}); kept raw"))
        _keep(walk, PartFile("", ctype, _body_bytes(part, walk, index)))
    finally:
        for defect in part.defects:
            walk.defects.append(f"part {index} ({ctype}): {type(defect).__name__}")


def _broken_multipart(part: Message, walk: Parts, depth: int, index: int) -> None:
    """A multipart whose boundary never appears: recover the one the body uses."""
    body = _body_bytes(part, walk, index)
    text = body.decode("ascii", "replace")
    found = _BOUNDARY_LINE.findall(text)
    boundary = next(
        (b for b in found if f"--{b}--" in text or found.count(b) > 1 and not b.endswith("--")),
        None,
    )
    if boundary is None:
        walk.defects.append(f"part {index}: multipart without parts; body kept as text")
        _add_body(part, walk, index, "text/plain")
        return
    walk.defects.append(f"part {index}: MIME boundary not found; recovered {boundary!r}")
    head = f'Content-Type: {part.get_content_type()}; boundary="{boundary}"\r\n\r\n'
    walk.recovered += 1
    try:
        _walk(email.message_from_bytes(head.encode() + body, policy=part.policy), walk, depth + 1)
    finally:
        walk.recovered -= 1


def _leaf(part: Message, walk: Parts, index: int, ctype: str) -> None:
    disposition = part.get_content_disposition() or ""
    name = sender_filename(part, walk.defects, index)
    cte = str(part.get("content-transfer-encoding", "")).strip().lower()
    if cte in uuencode.TRANSFER_ENCODINGS:
        _uu_part(part, walk, index, name, ctype)
    elif ctype in ("text/plain", "text/html") and not name and disposition != "attachment":
        _add_body(part, walk, index, ctype)
    elif tnef.is_tnef(ctype, name):
        _tnef(walk, index, name, ctype, _payload(part, walk, index))
    else:
        cid = clean("".join(str(part.get("content-id", "")).split())).strip("<>") or None
        inline = disposition == "inline" or (cid is not None and disposition != "attachment")
        _keep(walk, PartFile(name, ctype, _payload(part, walk, index), inline, cid))


def _add_body(part: Message, walk: Parts, index: int, ctype: str) -> None:
    data = _payload(part, walk, index)
    room = max(walk.limits.decoded_bytes - walk.size, 0)
    if len(data) > room:
        walk.defects.append(
            f"truncated: part {index} ({ctype}) body of {len(data)} bytes, kept {room}"
        )
        data = data[:room]
    walk.size += len(data)
    try:
        charset = part.get_content_charset()
    except Exception as exc:  # the same decode_params failure, on charset*0*=
        walk.defects.append(cut(f"part {index}: charset unreadable ({exc!r})"))
        charset = None
    text, defect = decode_text(data, charset)
    if defect:
        walk.defects.append(f"part {index} ({ctype}): {defect}")
    if "\x00" in text:
        walk.defects.append(f"part {index} ({ctype}): NUL characters replaced")
    text = clean(text.replace("\r\n", "\n").replace("\r", "\n"))
    if not walk.recovered:
        walk.decoded.append((index, ctype, text))
    if ctype == "text/html":
        walk.html.append(text)
        return
    text, files, defects = uuencode.extract_uuencoded(text)
    walk.plain.append(text)
    walk.defects.extend(f"part {index}: {d}" for d in defects)
    for found in files:
        _keep(walk, PartFile(found.filename, found.content_type, found.data))


def _uu_part(part: Message, walk: Parts, index: int, name: str, ctype: str) -> None:
    """A Content-Transfer-Encoding: x-uuencode part; the stdlib fails on it silently."""
    payload = part.get_payload()
    text = payload if isinstance(payload, str) else ""
    rest, files, defects = uuencode.extract_uuencoded(
        text.encode("utf-8", "surrogateescape").decode("latin-1")
    )
    walk.defects.extend(f"part {index}: {d}" for d in defects)
    if not files:
        walk.defects.append(f"part {index}: uuencoded part does not decode; kept as is")
        _keep(walk, PartFile(name, ctype, rest.encode("latin-1")))
    for found in files:
        content_type = ctype if ctype != "text/plain" else found.content_type
        _keep(walk, PartFile(name or found.filename, content_type, found.data))


def _tnef(walk: Parts, index: int, name: str, ctype: str, data: bytes) -> None:
    try:
        contents = tnef.unpack_tnef(data, walk.limits.files)
    except ValueError as exc:
        walk.defects.append(cut(f"part {index}: winmail.dat not unpacked ({exc}); kept as is"))
        _keep(walk, PartFile(name or "winmail.dat", ctype, data))
        return
    if contents.announced > len(contents.files):
        walk.defects.append(
            f"truncated: {contents.announced} files in winmail.dat, kept {len(contents.files)}"
        )
    if contents.rtf_only:
        walk.defects.append(f"part {index}: winmail.dat body is RTF only; kept winmail.dat")
    if contents.rtf_only or not (contents.files or contents.text or contents.html):
        _keep(walk, PartFile(name or "winmail.dat", ctype, data))
    for found in contents.files:
        _keep(walk, PartFile(found.filename, found.content_type, found.data))
    if "\x00" in contents.text + contents.html:
        walk.defects.append(f"part {index}: NUL characters in winmail.dat body replaced")
    walk.tnef_text = walk.tnef_text or clean(contents.text)
    walk.tnef_html = walk.tnef_html or clean(contents.html)


def _payload(part: Message, walk: Parts, index: int) -> bytes:
    found = _base64(part)
    data = part.get_payload(decode=True) if found is None else found
    return data if isinstance(data, bytes) else _body_bytes(part, walk, index)


def _base64(part: Message) -> bytes | None:
    """A base64 body decoded straight from its text, or None for the stdlib's way.

    The stdlib encodes the text again, splits it into lines and joins them before it
    decodes: three copies of a 25 MB attachment. `a2b_base64` skips the line breaks
    itself; anything it refuses (bad padding, non-ASCII) goes the stdlib's way, which
    records the defect.
    """
    if str(part.get("content-transfer-encoding", "")).strip().lower() != "base64":
        return None
    text = part.get_payload()
    if not isinstance(text, str):
        return None
    try:
        return binascii.a2b_base64(text)
    except (binascii.Error, ValueError):
        return None


def _body_bytes(part: Message, walk: Parts, index: int) -> bytes:
    """A part's body as bytes, serialised with CRLF like the mail it came in."""
    try:
        flat = part.as_bytes(policy=part.policy.clone(linesep="\r\n"))
    except Exception as exc:  # a charset the generator cannot re-encode
        walk.defects.append(cut(f"part {index}: not serialisable ({exc}); body lost"))
        return b""
    if flat.startswith(b"\r\n"):
        return flat[2:]
    return flat.partition(b"\r\n\r\n")[2]
