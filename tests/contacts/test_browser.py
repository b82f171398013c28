"""The journalist pages in Chromium, on `mailer run --demo`: search, filter, open, import."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.web.test_service_run import RunningService, shot, sign_in, start_service


@pytest.fixture
def demo_service(tmp_path: Path) -> Iterator[RunningService]:
    """The whole service with the demo data loaded."""
    yield from start_service(tmp_path, {}, ("--demo",))


@pytest.mark.browser
def test_find_a_journalist_and_import_more(page: Page, demo_service: RunningService,
                                           tmp_path: Path) -> None:
    sign_in(page, demo_service)
    page.get_by_role("link", name="Journalists", exact=True).click()
    expect(page.get_by_role("heading", name="Journalists")).to_be_visible()
    rows = page.locator("table tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 20
    shot(page, "journalists")

    page.get_by_label("Language", exact=True).fill("ru")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"language=ru"))
    filtered = rows.count()
    assert 0 < filtered < 60

    csv = tmp_path / "desk.csv"
    csv.write_text("email,first_name,last_name,language,tags\n"
                   "new.desk@example.org,Айгерим,Сейткали,kk,tv;vip\n"
                   "not-an-address,Bad,Row,en,\n", encoding="utf-8")
    page.goto(demo_service.url + "/contacts/import")
    page.locator("input[type=file]").set_input_files(str(csv))
    page.get_by_role("button", name=re.compile("Upload|Next|Continue", re.I)).first.click()
    for _ in range(3):  # mapping, then options: the wizard's own buttons lead on
        button = page.get_by_role("button", name=re.compile("Import|Next|Continue", re.I))
        if not button.count():
            break
        button.first.click()
    expect(page.get_by_role("row", name=re.compile(r"^3 email"))).to_be_visible()
    shot(page, "import-report")

    page.goto(demo_service.url + "/contacts/?q=Сейткали")
    expect(page.get_by_role("cell", name="new.desk@example.org", exact=True)).to_be_visible()
