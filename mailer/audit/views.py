"""The audit log pages (admins only): browse, filter, export as CSV."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from mailer.audit import service
from mailer.csv_safe import csv_rows
from mailer.db import db
from mailer.http import page_params

bp = Blueprint("audit", __name__, url_prefix="/audit")

EXPORT_HEADER = ["time", "actor", "action", "target_type", "target_id", "summary", "ip"]


def _filters() -> dict[str, str | None]:
    return {name: (request.args.get(name) or "").strip() or None
            for name in ("action", "target_type", "target_id", "actor")}


@bp.get("/")
def index() -> ResponseReturnValue:
    """The newest events, filtered."""
    filters = _filters()
    page, per_page = page_params()
    query = service.events_query(**filters)
    events = list(db.session.scalars(query.limit(per_page + 1).offset((page - 1) * per_page)))
    return render_template("web/audit/index.html", events=events[:per_page],
                           has_next=len(events) > per_page, page=page, per_page=per_page,
                           filters=filters)


@bp.get("/export.csv")
def export() -> ResponseReturnValue:
    """Every matching event as a spreadsheet-safe CSV."""
    query = service.events_query(**_filters())
    rows = ((e.at.isoformat(), e.actor_email, e.action, e.target_type, e.target_id, e.summary,
             e.ip) for e in service.iter_events(query))
    service.record("audit.exported", summary="Audit log exported", commit=True)
    return Response(stream_with_context(csv_rows(EXPORT_HEADER, rows)), mimetype="text/csv",
                    headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'})
