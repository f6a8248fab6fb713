"""The residents' status page: `create_app(desk)` and its blueprints."""

from __future__ import annotations

from importlib.resources import files

from flask import Flask, Response

from maildesk.context import Desk

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def create_app(desk: Desk) -> Flask:
    assets = files("maildesk.web_assets")
    app = Flask(
        __name__,
        template_folder=str(assets / "templates"),
        static_folder=str(assets / "static"),
    )
    app.config["DESK"] = desk
    app.jinja_options = {**app.jinja_options}

    from maildesk.web import health, status

    app.register_blueprint(status.bp)
    app.register_blueprint(health.bp)

    @app.after_request
    def secure(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    return app
