"""`/healthz` for monitoring: 200 when the database answers, 503 otherwise."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    desk = current_app.config["DESK"]
    ok = desk.db.ping()
    return jsonify({"database": "ok" if ok else "unreachable"}), 200 if ok else 503
