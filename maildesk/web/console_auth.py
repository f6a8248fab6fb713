"""Signing staff in and out of the console, without passwords.

`/staff/` mails a one-time link (`staff_links`) to a configured staff address and
answers every address the same way. The link's page asks for one click (a POST), so
a mail scanner that opens links cannot spend it. Signing in stores the address and
the session's end in Flask's signed cookie (HttpOnly, SameSite=Lax, Secure over
https); every console request checks both, and that the address is still staff, so
removing someone from the configuration ends their sessions.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from maildesk.config import StaffConfig
from maildesk.web import desk_of_app, page_language, staff_links
from maildesk.web.console_words import CONSOLE_WORDS

signin_bp = Blueprint("console_signin", __name__)
link_bp = Blueprint("console_link", __name__)

_WHO, _UNTIL = "staff", "staff_until"


def console_words() -> dict[str, str]:
    return CONSOLE_WORDS[page_language()]


@signin_bp.context_processor
@link_bp.context_processor
def _words() -> dict[str, object]:
    return {"c": console_words(), "member": None, "supervising": False}


def signed_in() -> StaffConfig | None:
    """The staff member this request is signed in as, while the session and membership last."""
    desk = desk_of_app()
    email, until = session.get(_WHO), session.get(_UNTIL)
    if not isinstance(email, str) or not isinstance(until, float):
        return None
    member = desk.config.staff_member(email)
    if member is None or desk.clock.now().timestamp() >= until:
        session.pop(_WHO, None)
        session.pop(_UNTIL, None)
        return None
    return member


def _sign_in(email: str, now: datetime) -> None:
    hours = desk_of_app().config.web.staff_session_hours
    session.clear()
    session.permanent = True
    session[_WHO] = email
    session[_UNTIL] = (now + timedelta(hours=hours)).timestamp()


def _no_store(body: str, code: int = 200) -> ResponseReturnValue:
    return body, code, {"Cache-Control": "no-store"}


@signin_bp.get("/staff/")
def form() -> ResponseReturnValue:
    if signed_in() is not None:
        return redirect(url_for("console.board_page"))
    return _no_store(render_template("console/signin.html.j2"))


@signin_bp.post("/staff/")
def send() -> ResponseReturnValue:
    desk = desk_of_app()
    typed = request.form.get("email", "")[:320]
    with desk.db.transaction() as db_session:
        staff_links.send_link(db_session, desk, typed, desk.clock.now())
    return _no_store(render_template("console/signin_sent.html.j2"))


def _claim(token: str) -> staff_links.Claim | None:
    desk = desk_of_app()
    claim = staff_links.read(desk, token, desk.clock.now())
    if claim is None:
        return None
    with desk.db.read_only() as db_session:
        return None if staff_links.used(db_session, claim.nonce) else claim


def _bad_link() -> ResponseReturnValue:
    return _no_store(render_template("console/link_bad.html.j2"), 400)


@link_bp.get("/staff/entrar/<token>")
def link(token: str) -> ResponseReturnValue:
    claim = _claim(token)
    if claim is None:
        return _bad_link()
    return _no_store(render_template("console/link.html.j2", token=token, email=claim.email))


@link_bp.post("/staff/entrar/<token>")
def enter(token: str) -> ResponseReturnValue:
    desk = desk_of_app()
    claim = _claim(token)
    if claim is None:
        return _bad_link()
    now = desk.clock.now()
    try:
        with desk.db.transaction() as db_session:
            staff_links.spend(db_session, claim, now)
    except IntegrityError:
        return _bad_link()
    _sign_in(claim.email, now)
    return redirect(url_for("console.board_page"), code=303)


@link_bp.post("/staff/salir")
def sign_out() -> ResponseReturnValue:
    session.clear()
    return _no_store(render_template("console/signed_out.html.j2"))


def require_member() -> StaffConfig:
    """The signed-in member, else the request ends in a redirect to the sign-in page."""
    member = signed_in()
    if member is None:
        abort(redirect(url_for("console_signin.form")))
    return member
