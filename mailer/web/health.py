"""``GET /healthz``: is the database reachable, is the broker reachable."""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from mailer.db import db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


def database_status() -> str:
    """``"ok"`` or ``"error"`` after one trivial query."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure means unhealthy; the log has the detail
        log.warning("health check: database unreachable", exc_info=True)
        db.session.rollback()
        return "error"
    return "ok"


def broker_status() -> str:
    """``"ok"`` or ``"error"`` after connecting to the Celery broker once, briefly."""
    celery = current_app.extensions["celery"]
    try:
        with celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, interval_start=0, timeout=3)
    except Exception:  # any failure means unhealthy; the log has the detail
        log.warning("health check: broker unreachable", exc_info=True)
        return "error"
    return "ok"


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    """200 when the database and the broker answer, 503 otherwise."""
    database, broker = database_status(), broker_status()
    healthy = database == "ok" and broker == "ok"
    body = {"status": "ok" if healthy else "error", "database": database, "broker": broker}
    return jsonify(body), 200 if healthy else 503
