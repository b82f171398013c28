"""Staff pages of tracking: a mailing's report (charts, tables, per-recipient filters, CSV) and
the journalist's timeline on their page."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context
from flask.typing import ResponseReturnValue

from mailer.http import page_params
from mailer.tracking import charts, reports
from mailer.tracking.reports import ENGAGEMENT_FILTERS, RecipientFilter

bp = Blueprint("reports", __name__, url_prefix="/mailings")


def _charts(report: reports.MailingReport) -> dict[str, Any]:
    points = report.over_time["points"]
    moments = [datetime.fromisoformat(point["at"]) for point in points]
    unit = report.over_time["unit"]
    return {
        "time": charts.time_chart(
            f"Opens and clicks per {unit}", moments,
            [charts.Series("Opens", charts.OPEN_COLOUR, [p["opens"] for p in points]),
             charts.Series("Clicks", charts.CLICK_COLOUR, [p["clicks"] for p in points])],
            "%d %b %H:%M" if unit == "hour" else "%d %b") if points else None,
        "languages": charts.bar_chart(
            "Opened per language", [(row["key"] or "—", row["opened"],
                                     row["sent"] + row["bounced"])
                                    for row in report.languages]),
    }


@bp.get("/<int:mailing_id>/report")
def report(mailing_id: int) -> ResponseReturnValue:
    """One mailing's report page."""
    found = reports.mailing_report(mailing_id)
    spec = RecipientFilter.from_args(request.args)
    page, per_page = page_params()
    rows = reports.recipients(mailing_id, spec, page, per_page)
    return render_template("web/mailings/report.html", report=found, charts=_charts(found),
                           spec=spec, rows=rows, page=page, per_page=per_page,
                           engagement_filters=ENGAGEMENT_FILTERS, args=request.args)


@bp.get("/<int:mailing_id>/report.csv")
def report_csv(mailing_id: int) -> ResponseReturnValue:
    """The per-recipient table (with the page's filters) as spreadsheet-safe CSV."""
    rows = reports.recipients_csv(mailing_id, RecipientFilter.from_args(request.args))
    return Response(stream_with_context(rows), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="mailing-{mailing_id}-recipients.csv"'})


@bp.app_template_global()
def contact_timeline(contact_id: int) -> list[dict[str, Any]]:
    """A journalist's timeline, for their page (templates/web/contacts/show.html)."""
    return reports.contact_timeline(contact_id)
