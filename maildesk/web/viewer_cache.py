"""A viewer's signatures on the status page's fast path, checked and made once, not per view.

Verifying the session cookie (an HMAC, base64, JSON) and signing the CSRF token (JSON, an
HMAC) cost most of a cached view (`fast_page`). Both are pure functions of their inputs,
so their results are kept:
- `VerifiedSessions`: what Flask's cookie interface reads from a request's cookies, by
  the exact `Cookie` header, so no other header (a byte changed, another viewer's
  cookie) ever meets another's entry. A signature's validity never changes for the same
  string; its age does, so the age is checked at every view against the signing time
  kept with the entry, as `itsdangerous` checks it for Flask (Flask's
  `PERMANENT_SESSION_LIFETIME`, `web.staff_session_hours`): an expired cookie is never
  revived.
- `CsrfTokens`: a secret's signed token for the current second. `itsdangerous`
  timestamps are whole seconds, so within one second the same secret signs to the same
  bytes; the token is kept only for the second it was signed in.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import cast

from flask import Flask
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode, bytes_to_int
from werkzeug.http import parse_cookie

# A resident's `Cookie` header is their session, about 120 characters; longer headers are
# read at each view, so the cache's memory stays bounded whatever clients send.
MAX_HEADER = 512
MAX_SESSIONS = 4096


@dataclass(frozen=True, slots=True)
class Verified:
    """A cookie whose signature held: when it was signed, and the CSRF secret it carries
    (None for a session the fast path leaves to Flask: no secret, permanent, with notes)."""

    signed_at: int
    csrf_secret: str | None


class VerifiedSessions:
    """The CSRF secret of a request's session as Flask's `SecureCookieSessionInterface` reads it."""

    def __init__(self, app: Flask, csrf_field: str, max_sessions: int = MAX_SESSIONS) -> None:
        interface = app.session_interface
        if not isinstance(interface, SecureCookieSessionInterface):
            raise TypeError(f"a signed cookie session is expected, not {interface!r}")
        serializer = interface.get_signing_serializer(app)
        if serializer is None:
            raise ValueError("the app has no SECRET_KEY to sign sessions with")
        self.app, self.serializer, self.csrf_field = app, serializer, csrf_field
        self.cookie_name = interface.get_cookie_name(app)
        self.clock = clock_of(serializer)
        self.max_sessions = max_sessions
        self._verified: OrderedDict[str, Verified] = OrderedDict()
        self._lock = threading.Lock()

    def csrf_secret(self, header: str | None) -> str | None:
        """The secret of a live, plain session (not permanent, no flashed notes) in the
        request's `Cookie` header.

        None whenever Flask would answer differently from the stored page: no session
        cookie, a bad signature, an expired one, a session Flask writes back.
        """
        if not header:
            return None
        kept = len(header) <= MAX_HEADER
        found = self._kept(header) if kept else None
        if found is None:
            found = self._verify(header)
            if found is None:
                return None
            if kept:
                self._keep(header, found)
        # As `TimestampSigner.unsign(max_age=...)` decides it for Flask, at every view.
        age = self.clock.get_timestamp() - found.signed_at
        if age > int(self.app.permanent_session_lifetime.total_seconds()) or age < 0:
            return None
        return found.csrf_secret

    def _verify(self, header: str) -> Verified | None:
        # As `request.cookies` reads a WSGI request's (the first of a name that comes twice).
        cookie = parse_cookie(header).get(self.cookie_name)
        if not cookie:
            return None
        try:
            data, signed = self.serializer.loads(cookie, return_timestamp=True)
        except BadSignature:
            return None
        secret = data.get(self.csrf_field) if isinstance(data, dict) else None
        plain = isinstance(secret, str) and not data.get("_permanent") and "_flashes" not in data
        return Verified(int(signed.timestamp()), secret if plain else None)

    def _kept(self, header: str) -> Verified | None:
        with self._lock:
            found = self._verified.get(header)
            if found is not None:
                self._verified.move_to_end(header)
            return found

    def _keep(self, header: str, verified: Verified) -> None:
        with self._lock:
            self._verified[header] = verified
            while len(self._verified) > self.max_sessions:
                self._verified.popitem(last=False)

    def __len__(self) -> int:
        return len(self._verified)


class CsrfTokens:
    """A CSRF secret signed as Flask-WTF signs it, once per secret and second."""

    def __init__(self, serializer: URLSafeTimedSerializer) -> None:
        self.serializer = serializer
        self.clock = clock_of(serializer)
        self._second: tuple[int, dict[str, str]] = (-1, {})

    def token(self, secret: str) -> str:
        now = self.clock.get_timestamp()
        second, tokens = self._second
        if second != now:
            tokens = {}
            self._second = (now, tokens)
        found = tokens.get(secret)
        if found is None:
            found = self.serializer.dumps(secret)
            if _signed_at(found) == now:  # not one signed across the turn of a second
                tokens[secret] = found
        return found


def clock_of(serializer: URLSafeTimedSerializer) -> TimestampSigner:
    """The clock the serializer signs and checks ages with (a test may stop it)."""
    return cast(TimestampSigner, serializer.make_signer())


def _signed_at(token: str) -> int:
    """The whole second in a timed token (`payload.timestamp.signature`)."""
    return bytes_to_int(base64_decode(token.rsplit(".", 2)[1]))
