"""The releases editor in Chromium, under the real CSP: tabs, the Markdown preview, the matrix."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from tests.web.test_service_run import RunningService, shot, sign_in, start_service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[RunningService]:
    """`mailer run` with no configuration: SQLite, embedded broker, outbox."""
    yield from start_service(tmp_path, {})


@pytest.mark.browser
def test_write_translate_and_preview_a_release(page: Page, service: RunningService) -> None:
    problems: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if message.type == "error":
            problems.append(message.text)

    page.on("console", watch)
    sign_in(page, service)
    page.get_by_role("link", name="Releases").click()
    page.get_by_role("link", name="New release").click()
    page.get_by_label("Title", exact=False).first.fill("Regional conference")
    page.get_by_label("Default language").fill("en")
    page.get_by_label("Subject", exact=True).fill("Conference in Dushanbe")
    page.get_by_label("Body (Markdown)").fill("# Conference\n\nSixty NGOs meet in **Dushanbe**.")
    page.get_by_role("button", name="Create release").click()
    expect(page.get_by_role("heading", name="Regional conference")).to_be_visible()

    # Add a translation; the page comes back on its tab, the source beside it.
    page.get_by_role("tab", name="+ Add a translation").click()
    new_panel = page.locator("#panel-__new__")
    new_panel.get_by_label("Language").fill("ru")
    new_panel.get_by_label("Subject", exact=True).fill("Конференция в Душанбе")
    new_panel.get_by_label("Body (Markdown)").fill("# Конференция\n\nШестьдесят НКО.")
    new_panel.get_by_role("button", name="Add translation").click()
    expect(page.locator("#panel-ru")).to_be_visible()
    expect(page.locator("#panel-ru .source")).to_contain_text("Sixty NGOs meet")

    # Tabs switch without a reload (releases.js, loaded from a file under script-src 'self').
    page.locator("#tab-en").click()
    expect(page.locator("#panel-en")).to_be_visible()
    expect(page.locator("#panel-ru")).to_be_hidden()
    expect(page).to_have_url(re.compile(r"lang=en"))

    # The quick Markdown preview follows the typing; typed HTML stays text.
    panel = page.locator("#panel-en")
    panel.locator("summary", has_text="Quick Markdown preview").click()
    panel.get_by_label("Body (Markdown)").fill("## Live\n\n*typed* <b>not bold</b>")
    preview = panel.locator(".markdown-preview")
    expect(preview.locator("h4")).to_have_text("Live")
    expect(preview.locator("em")).to_have_text("typed")
    expect(preview).to_contain_text("<b>not bold</b>")
    shot(page, "release-editor")

    # The matrix: every language in sandboxed frames, desktop and mobile.
    page.get_by_role("link", name="Preview matrix").click()
    expect(page.locator("#lang-ru iframe")).to_have_count(2)
    frame = page.frame_locator("#lang-ru .frame-mobile iframe")
    expect(frame.locator("h1")).to_have_text("Конференция")
    shot(page, "release-preview-matrix")
    assert not [p for p in problems if "Content Security Policy" in p], problems
