"""REST API of tracking: bounce intake, mailing reports, and a journalist's timeline."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request, stream_with_context
from flask.typing import ResponseReturnValue

from mailer.errors import BadRequest
from mailer.http import page_params
from mailer.tracking import reports
from mailer.tracking.bounces import ingest, secrets_from_config

bp = Blueprint("tracking_api", __name__, url_prefix="/api/v1")

RFC822_TYPES = {"message/rfc822", "message/global", "text/plain", "application/octet-stream"}


@bp.post("/bounces")
def bounces() -> ResponseReturnValue:
    """Take in one raw bounce, complaint or mailed unsubscribe (``message/rfc822``)."""
    if request.mimetype not in RFC822_TYPES:
        raise BadRequest("Send the raw message with Content-Type: message/rfc822.")
    applied = ingest(request.get_data(cache=False), secrets_from_config(current_app.config),
                     source="api", recipient=request.args.get("recipient") or None)
    return applied.as_dict()


@bp.get("/mailings/<int:mailing_id>/report")
def mailing_report(mailing_id: int) -> ResponseReturnValue:
    """Everything staff learn about a mailing: figures, languages, outlets, time, links."""
    return reports.mailing_report(mailing_id).as_dict()


@bp.get("/mailings/<int:mailing_id>/report/recipients")
def report_recipients(mailing_id: int) -> ResponseReturnValue:
    """Per-recipient rows of a mailing's report, filtered and paged."""
    page, per_page = page_params()
    found = reports.recipients(mailing_id, reports.RecipientFilter.from_args(request.args),
                               page, per_page)
    return {"items": found.items, "total": found.total, "page": page, "per_page": per_page}


@bp.get("/mailings/<int:mailing_id>/report.csv")
def report_csv(mailing_id: int) -> ResponseReturnValue:
    """The per-recipient table as CSV, safe to open in a spreadsheet."""
    rows = reports.recipients_csv(mailing_id, reports.RecipientFilter.from_args(request.args))
    return Response(stream_with_context(rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="mailing-{mailing_id}-recipients.csv"'})


@bp.get("/contacts/<int:contact_id>/timeline")
def timeline(contact_id: int) -> ResponseReturnValue:
    """Every release this journalist was sent, in which language, and what happened."""
    return {"contact_id": contact_id, "items": reports.contact_timeline(contact_id)}
