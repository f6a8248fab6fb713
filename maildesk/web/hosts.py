"""Several desks behind one web server: each request goes to the desk of its Host.

Each desk has its own Flask app (`create_app`), so its status links, lookup form,
console sign-in and board only ever read that desk's rows: a token of one building
asked on another's host is the same 404 as an unknown token. A host that is no
desk's (`127.0.0.1` for monitoring) goes to the first desk.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from werkzeug.wsgi import get_host

from maildesk.context import Desk
from maildesk.web import create_app

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def host_name(value: str) -> str:
    """`Soporte.Example.org:8080` -> `soporte.example.org` (an IPv6 literal too)."""
    return (urlsplit(f"//{value}").hostname or "").lower()


class DeskHosts:
    """A WSGI application choosing among the desks' apps by the request's host."""

    def __init__(self, apps: Mapping[str, WSGIApplication], first: WSGIApplication) -> None:
        self.apps, self.first = apps, first

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self.apps.get(host_name(get_host(environ)), self.first)
        return app(environ, start_response)


def desk_hosts(desks: Sequence[Desk]) -> WSGIApplication:
    """One app for one desk (as before); for several, the app of each desk's base_url host."""
    apps = [create_app(desk) for desk in desks]
    if len(apps) == 1:
        return apps[0]
    by_host = {
        host_name(urlsplit(desk.config.desk.base_url).netloc): app
        for desk, app in zip(desks, apps, strict=True)
    }
    return DeskHosts(by_host, apps[0])
