"""The report in Chromium, from `mailer run`: a mailing sent by the in-process worker, opens
and clicks over HTTP, then the charts and tables under the real CSP; and the unsubscribe page
in the reader's language."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from mailer import create_app
from tests.tracking.support import make_release, make_sent
from tests.web.test_service_run import RunningService, shot, sign_in, start_service

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    """`mailer run` with no configuration; hits this fast are taken for people here."""
    yield from start_service(tmp_path, {"MAILER_SCANNER_SECONDS": "0"})


def fetch(url: str) -> int:
    request = urllib.request.Request(url, headers={"User-Agent": "Mozilla/5.0 Firefox/128.0"})
    opener = urllib.request.build_opener(NoRedirect)
    with opener.open(request, timeout=10) as response:
        return int(response.status)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@pytest.mark.browser
def test_report_charts_render_in_the_browser(page: Page, service: RunningService,
                                             tmp_path: Path) -> None:
    from mailer.releases.links import links_for

    app = create_app({"MAILER_INSTANCE": str(tmp_path / "instance"),
                      "MAILER_PUBLIC_URL": service.url})
    release = make_release(app, ("en", "ru", "kk"))
    sent = [make_sent(app, f"reader{n}@example.kz", ("ru", "kk", "en")[n % 3],
                      release_id=release, list_name=f"Desk {n}") for n in range(6)]
    mailing_id = sent[0].mailing_id
    from mailer.db import db
    from mailer.dispatch.models import Delivery

    with app.app_context():
        for item in sent[1:]:
            row = db.session.get(Delivery, item.delivery_id)
            assert row is not None
            row.mailing_id = mailing_id
        db.session.commit()
    links = links_for(app.config)
    for n, item in enumerate(sent):
        if n < 4:
            assert fetch(links.open_url(item.ref())) == 200
        if n < 2:
            try:
                fetch(links.click_url(item.ref(), "https://example.org/report"))
            except urllib.error.HTTPError as exc:
                assert exc.code == 302
    unsubscribe = links.unsubscribe_url(sent[1].ref())
    time.sleep(0.6)  # the service writes its buffered hits every 200 ms

    page.goto(unsubscribe)
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_role("heading", name="Жазылымнан бас тарту")).to_be_visible()
    shot(page, "unsubscribe-kk")
    page.get_by_role("button", name="Жазылымнан бас тарту").click()
    expect(page.get_by_role("status")).to_contain_text("жазылымнан бас тарттыңыз")

    sign_in(page, service)
    page.goto(f"{service.url}/mailings/{mailing_id}/report")
    expect(page.get_by_role("heading", name="Report: Conference")).to_be_visible()
    expect(page.locator("[data-count=opened]")).to_contain_text("4")
    expect(page.locator("[data-count=clicked]")).to_contain_text("2")
    expect(page.locator("[data-count=unsubscribed]")).to_have_text("1")
    chart = page.get_by_role("img", name="Opens and clicks per hour")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 80
    expect(page.get_by_role("img", name="Opened per language")).to_be_visible()
    marks = page.locator("#chart-over-time polyline, #chart-over-time circle")
    expect(marks.first).to_be_attached()
    expect(page.get_by_role("cell", name="https://example.org/report")).to_be_visible()
    shot(page, "mailing-report")
    page.get_by_label("What happened").select_option("clicked")
    page.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("2 recipients match.")).to_be_visible()
