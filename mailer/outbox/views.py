"""The outbox pages: what the ``outbox:`` transport kept, raw and rendered."""

from __future__ import annotations

from flask import Blueprint, current_app, make_response, render_template
from flask.typing import ResponseReturnValue

from mailer.outbox import service

bp = Blueprint("outbox", __name__, url_prefix="/outbox")

# The rendered HTML of a message is untrusted: show it in a sandboxed frame with no scripts.
MESSAGE_CSP = "default-src 'none'; img-src 'self' data: https:; style-src 'unsafe-inline'"


@bp.get("/")
def index() -> ResponseReturnValue:
    """The newest messages in the outbox."""
    return render_template("web/outbox/index.html", messages=service.recent_messages(),
                           transport=current_app.config["MAILER_SMTP_URL"])


@bp.get("/<int:message_id>")
def show(message_id: int) -> ResponseReturnValue:
    """One message: headers, text part, HTML part (sandboxed), raw source."""
    row = service.get_message(message_id)
    return render_template("web/outbox/show.html", message=row, view=service.view_message(row))


@bp.get("/<int:message_id>/html")
def html(message_id: int) -> ResponseReturnValue:
    """The HTML part alone, for the sandboxed frame, under a CSP that forbids scripts."""
    view = service.view_message(service.get_message(message_id))
    response = make_response(view.html or "")
    response.headers["Content-Type"] = "text/html; charset=utf-8"
    response.headers["Content-Security-Policy"] = MESSAGE_CSP + "; sandbox"
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/<int:message_id>/raw")
def raw(message_id: int) -> ResponseReturnValue:
    """The message source exactly as stored, as ``message/rfc822`` download."""
    row = service.get_message(message_id)
    response = make_response(row.data)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="outbox-{row.id}.eml"'
    return response
