"""Reports: a mailing's figures, breakdowns, time series, links and recipients (API, CSV and
page), and a journalist's timeline."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask

from tests.conftest import bearer, login
from tests.tracking.support import FORM, ONE_CLICK_BODY, flush_hits, links, make_sent

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 Firefox/128.0"


def populate(app: Flask) -> dict[str, Any]:
    """Four recipients: one opens and clicks, one opens, one unsubscribes, one bounces."""
    from mailer.db import db
    from mailer.dispatch.models import Delivery
    from mailer.tracking.bounces import record_smtp_rejection

    first = make_sent(app, "a@example.kz", "ru")
    common = {"list_id": first.list_id, "release_id": first.release_id}
    second = make_sent(app, "b@example.kz", "kk", contact={"outlet": "=HYPERLINK(1)"}, **common)
    third = make_sent(app, "c@example.kz", "ru", **common)
    fourth = make_sent(app, "d@example.kz", "en", status="failed", **common)
    with app.app_context():
        # All four in one mailing.
        for sent in (second, third, fourth):
            row = db.session.get(Delivery, sent.delivery_id)
            assert row is not None
            row.mailing_id = first.mailing_id
        db.session.commit()
        record_smtp_rejection(fourth.delivery_id, 550, "5.1.1 user unknown")
    client = app.test_client()
    base = app.config["MAILER_PUBLIC_URL"]
    for sent in (first, second):
        ref = sent.ref()
        client.get(links(app).open_url(ref).removeprefix(base), headers={"User-Agent": BROWSER})
    client.get(links(app).click_url(first.ref(), "https://example.org/r").removeprefix(base),
               headers={"User-Agent": BROWSER})
    client.get(links(app).click_url(first.ref(), "https://example.org/r").removeprefix(base),
               headers={"User-Agent": "Mimecast URL protect"})
    flush_hits(app)
    client.post(links(app).unsubscribe_url(third.ref()).removeprefix(base), data=ONE_CLICK_BODY,
                content_type=FORM)
    return {"mailing_id": first.mailing_id, "contact_id": first.contact_id,
            "second": second}


def test_mailing_report_api(app: Flask, staff: dict[str, Any]) -> None:
    found = populate(app)
    client = app.test_client()
    report = client.get(f"/api/v1/mailings/{found['mailing_id']}/report",
                        headers=bearer(staff["viewer"]["token"])).get_json()
    counts = report["counts"]
    assert {k: counts[k] for k in ("recipients", "sent", "failed", "opened", "clicked",
                                   "unsubscribed", "complaints")} == {
        "recipients": 4, "sent": 3, "failed": 1, "opened": 2, "clicked": 1, "unsubscribed": 1,
        "complaints": 0}
    assert report["rates"]["opened"] == 66.7
    languages = {row["key"]: row for row in report["languages"]}
    assert languages["ru"]["recipients"] == 2 and languages["ru"]["opened"] == 1
    assert languages["ru"]["unsubscribed"] == 1 and languages["kk"]["opened"] == 1
    outlets = {row["key"]: row["recipients"] for row in report["outlets"]}
    assert outlets == {"Steppe Wire": 3, "=HYPERLINK(1)": 1}
    assert report["links"] == [{"url": "https://example.org/r", "clicks": 1,
                                "unique_clicks": 1, "scanner_clicks": 1}]
    points = report["over_time"]["points"]
    assert report["over_time"]["unit"] == "hour"
    assert sum(p["opens"] for p in points) == 2 and sum(p["clicks"] for p in points) == 1
    assert report["scanners"]["clicks"] == 1
    assert report["bounces"] == {"hard": 1}

    recipients = client.get(
        f"/api/v1/mailings/{found['mailing_id']}/report/recipients?engagement=opened",
        headers=bearer(staff["viewer"]["token"])).get_json()
    assert recipients["total"] == 2
    assert {r["email"] for r in recipients["items"]} == {"a@example.kz", "b@example.kz"}
    filtered = client.get(
        f"/api/v1/mailings/{found['mailing_id']}/report/recipients?language=en&status=failed",
        headers=bearer(staff["viewer"]["token"])).get_json()
    assert [r["email"] for r in filtered["items"]] == ["d@example.kz"]
    assert filtered["items"][0]["bounce"]["kind"] == "hard"
    bad = client.get(f"/api/v1/mailings/{found['mailing_id']}/report/recipients?engagement=x",
                     headers=bearer(staff["viewer"]["token"]))
    assert bad.status_code == 422
    assert client.get("/api/v1/mailings/999/report",
                      headers=bearer(staff["viewer"]["token"])).status_code == 404


def test_csv_export_is_spreadsheet_safe(app: Flask, staff: dict[str, Any]) -> None:
    found = populate(app)
    response = app.test_client().get(f"/api/v1/mailings/{found['mailing_id']}/report.csv",
                                     headers=bearer(staff["viewer"]["token"]))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeffemail,")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 4
    by_email = {row["email"]: row for row in rows}
    assert by_email["b@example.kz"]["outlet"] == "'=HYPERLINK(1)"
    assert by_email["a@example.kz"]["clicks"] == "1"
    assert by_email["d@example.kz"]["bounce_status"] == "5.1.1"


def test_contact_timeline_api_and_page(app: Flask, staff: dict[str, Any]) -> None:
    found = populate(app)
    client = app.test_client()
    timeline = client.get(f"/api/v1/contacts/{found['contact_id']}/timeline",
                          headers=bearer(staff["viewer"]["token"])).get_json()
    assert len(timeline["items"]) == 1
    item = timeline["items"][0]
    assert item["language"] == "ru" and item["subject"] == "Конференция в Душанбе"
    assert item["summary"] == ["sent", "opened", "clicked"]
    assert client.get("/api/v1/contacts/999999/timeline",
                      headers=bearer(staff["viewer"]["token"])).status_code == 404
    login(client, "viewer@example.com")
    page = client.get(f"/contacts/{found['contact_id']}").get_data(as_text=True)
    assert "Releases sent" in page and "Конференция в Душанбе" in page and "clicked" in page


def test_report_page_has_accessible_charts_and_filters(app: Flask,
                                                        staff: dict[str, Any]) -> None:
    found = populate(app)
    client = app.test_client()
    login(client, "viewer@example.com")
    mailing = client.get(f"/mailings/{found['mailing_id']}").get_data(as_text=True)
    assert f"/mailings/{found['mailing_id']}/report" in mailing
    response = client.get(f"/mailings/{found['mailing_id']}/report")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert page.count('<svg class="chart" role="img"') == 2
    assert "<title id=" in page and "<desc id=" in page
    assert "Opens and clicks per hour" in page
    assert "<caption>Opens and clicks per hour (UTC)</caption>" in page  # the table fallback
    assert "https://example.org/r" in page
    filtered = client.get(f"/mailings/{found['mailing_id']}/report?engagement=unsubscribed")
    assert "1 recipient matches." in filtered.get_data(as_text=True)
    download = client.get(f"/mailings/{found['mailing_id']}/report.csv?language=ru")
    assert download.status_code == 200
    assert download.get_data(as_text=True).count("@example.kz") == 2
