"""The whole press-office journey in Chromium, against the real service.

A `mailer run` web process and a separate `mailer worker` share Redis and one SQLite database;
mail goes over SMTP into the aiosmtpd sink. In the browser: sign in, import the journalists
through the wizard, write a release in English and Russian, preview it, test-send it, create and
send the mailing, watch it finish, read the report and a journalist's timeline. Then a Russian
reader's message is taken from the sink, its unsubscribe link opened and confirmed, and the
address found on the suppression list. Every main page is checked with axe-core (serious and
critical violations fail), at phone width (no sideways scrolling) and with the keyboard.
"""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, expect

from tests.support.processes import BIN, ServiceProcess, running
from tests.support.services import RedisServer
from tests.support.smtp import SmtpSink
from tests.web.journey_support import (
    PHONE,
    PageAudit,
    horizontal_overflow,
    journalists_by_language,
    journalists_csv,
    load_translation,
    shot,
)
from tests.web.test_service_run import RunningService, sign_in, start_service

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]

LIST_NAME = "Central Asia desk"
RELEASE_TITLE = "Regional conference on torture prevention"
TEST_ADDRESS = "press-desk@example.com"


@dataclass
class Journey:
    """The running service, its sink and worker, and what the journey created on the way."""

    service: RunningService
    worker: ServiceProcess
    sink: SmtpSink
    csv_path: Path
    pages: dict[str, str] = field(default_factory=dict)  # name -> path, for the later checks


@pytest.fixture(scope="module")
def journey(tmp_path_factory: pytest.TempPathFactory,
            redis_server: RedisServer) -> Iterator[Journey]:
    """`mailer run` (web only) plus a `mailer worker`, on Redis, sending to an SMTP sink."""
    tmp = tmp_path_factory.mktemp("journey")
    redis_server.flushall()
    sink = SmtpSink()
    sink.start()
    env = {"MAILER_SMTP_URL": sink.url, "MAILER_BROKER_URL": redis_server.url,
           "MAILER_FROM": "Press Office <press@example.org>", "MAILER_RETRY_BASE_SECONDS": "1",
           "MAILER_SCANNER_SECONDS": "0"}  # hits this soon after sending are people here
    services = start_service(tmp, env)
    try:
        service = next(services)
        assert "no worker here" in service.process.output()
        worker_env = {**env, "MAILER_INSTANCE": str(tmp / "instance"),
                      "MAILER_PUBLIC_URL": service.url}
        args = [str(BIN / "mailer"), "worker", "--pool", "threads", "--concurrency", "2",
                "--without-mingle", "--without-gossip", "--loglevel", "INFO",
                "--hostname", "journey@%h"]
        with running(args, worker_env, tmp / "worker.log") as worker:
            worker.wait_for_output(r"ready\.", timeout=60)
            yield Journey(service, worker, sink, journalists_csv(tmp))
    finally:
        services.close()  # stops `mailer run`
        sink.stop()


def go(page: Page, journey: Journey, path: str) -> None:
    page.goto(journey.service.url + path)


def nav_link(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main").get_by_role("link", name=name, exact=True).click()


def test_press_office_journey(page: Page, journey: Journey) -> None:
    audit = PageAudit()
    service = journey.service
    url = service.url

    # Sign in; the dashboard.
    page.goto(url + "/login")
    audit.check(page, "sign in")
    sign_in(page, service)
    audit.check(page, "dashboard")
    shot(page, "dashboard")
    journey.pages["dashboard"] = "/"

    # Import the journalists through the wizard: upload, map columns, options, report.
    nav_link(page, "Journalists")
    expect(page.get_by_role("heading", name="Journalists", level=1)).to_be_visible()
    audit.check(page, "journalists")
    page.get_by_role("main").get_by_role("link", name=re.compile(r"^Import")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Import journalists")
    audit.check(page, "import: file")
    page.get_by_label("CSV file").set_input_files(str(journey.csv_path))
    page.get_by_role("button", name="Upload and check").click()
    expect(page.get_by_role("heading", name="Which column holds what?")).to_be_visible()
    language_column = page.get_by_label(re.compile(r"^Column \d+: language$"))
    expect(language_column).to_have_value("language")  # recognised from the header
    expect(page.get_by_role("row", name=re.compile(r"^email "))).to_contain_text("@example")
    audit.check(page, "import: columns")
    shot(page, "import-columns")
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("…or to a new list named").fill(LIST_NAME)
    audit.check(page, "import: options")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Imported")
    rows = sum(len(v) for v in journalists_by_language(journey.csv_path).values())
    created = page.locator("dt", has_text="Created").locator("xpath=following-sibling::dd[1]")
    expect(created).to_have_text(str(rows))
    expect(page.get_by_role("link", name=LIST_NAME)).to_be_visible()
    audit.check(page, "import: report")
    shot(page, "import-report")
    journey.pages["journalists"] = "/contacts/"

    # Write the release in English, then the Russian translation, with the live preview.
    english, russian = load_translation("en"), load_translation("ru")
    nav_link(page, "Releases")
    audit.check(page, "releases")
    page.get_by_role("link", name="New release").click()
    audit.check(page, "new release")
    page.get_by_label("Title", exact=False).first.fill(RELEASE_TITLE)
    page.get_by_label("Default language").fill("en")
    page.get_by_label("Subject", exact=True).fill(english.subject)
    page.get_by_label("Preheader", exact=False).fill(english.preheader)
    page.get_by_label("Body (Markdown)").fill(english.body)
    page.get_by_role("button", name="Create release").click()
    expect(page.get_by_role("heading", name=RELEASE_TITLE)).to_be_visible()
    journey.pages["release"] = page.url.replace(url, "")

    page.get_by_role("tab", name=re.compile(r"Add a translation")).click()
    new_panel = page.locator("#panel-__new__")
    new_panel.get_by_label("Language").fill("ru")
    new_panel.get_by_label("Subject", exact=True).fill(russian.subject)
    new_panel.get_by_label("Preheader", exact=False).fill(russian.preheader)
    new_panel.get_by_label("Body (Markdown)").fill(russian.body)
    new_panel.get_by_role("button", name="Add translation").click()
    panel = page.locator("#panel-ru")
    expect(panel).to_be_visible()
    panel.locator("summary", has_text="Quick Markdown preview").click()
    preview = panel.locator(".markdown-preview")
    expect(preview).to_contain_text("Региональная конференция")
    expect(preview.locator("strong").first).to_be_visible()
    audit.check(page, "release editor")
    page.get_by_role("tablist").scroll_into_view_if_needed()
    shot(page, "release-editor", view=True)

    # The preview matrix: both languages, desktop and phone frames.
    page.get_by_role("link", name="Preview matrix").click()
    for language, heading in (("ru", "Региональная конференция"), ("en", "Regional Conference")):
        frame = page.locator(f"#lang-{language} .frame-mobile iframe").first
        frame.scroll_into_view_if_needed()  # the frames load lazily
        expect(frame.content_frame.locator("h1")).to_contain_text(heading)
    audit.check(page, "preview matrix")
    shot(page, "preview-matrix")
    journey.pages["preview"] = page.url.replace(url, "")

    # The mailing: choose the list, see who gets which language.
    nav_link(page, "Mailings")
    audit.check(page, "mailings")
    go(page, journey, "/mailings/new")
    page.get_by_label("Release", exact=True).select_option(label=RELEASE_TITLE)
    page.get_by_label("Lists", exact=True).select_option(label=LIST_NAME)
    page.get_by_label("Fallback languages, in order").fill("ru, en")
    audit.check(page, "new mailing")
    page.get_by_role("button", name="Create mailing").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(RELEASE_TITLE)
    expect(page.locator("#mailing-status")).to_have_text("draft")
    languages = page.get_by_role("region", name="Languages").or_(
        page.locator("section", has=page.get_by_role("heading", name="Languages")))
    expect(languages.get_by_role("row", name=re.compile(r"^ru \d+"))).to_be_visible()
    expect(languages.get_by_role("row", name=re.compile(r"^en \d+"))).to_be_visible()
    audit.check(page, "mailing draft")
    shot(page, "mailing-coverage")
    mailing_path = page.url.replace(url, "")
    journey.pages["mailing"] = mailing_path

    # A test send first: it reaches the sink, marked as a test, and changes no figure.
    page.get_by_label("Send a test to").fill(TEST_ADDRESS)
    page.get_by_role("button", name="Send test").click()
    expect(page.get_by_role("status")).to_contain_text(f"Test sent to {TEST_ADDRESS}")
    (test_message,) = journey.sink.wait_for(1, timeout=30)
    assert test_message.rcpt_tos == [TEST_ADDRESS]
    expect(page.locator("[data-count=recipients]")).to_have_text("0")
    # The message carries its delivery's mark: its unsubscribe page knows it was a test.
    test_page = page.context.new_page()
    test_page.goto(unsubscribe_url(test_message.message))
    expect(test_page.get_by_role("status")).to_contain_text("This was a test message")
    test_page.close()

    # Send, watch the progress reach done, read the report.
    page.get_by_role("button", name="Send now").click()
    expect(page.get_by_role("status").first).to_contain_text("Sending started")
    expect(page.locator("#mailing-status")).to_have_text("sent", timeout=90_000)
    expect(page.locator("[data-count=sent]")).to_have_text(str(rows))
    expect(page.locator("[data-count=failed]")).to_have_text("0")
    # The page reloads itself once the mailing is done; the correction form comes with it.
    expect(page.get_by_role("button", name="Prepare correction")).to_be_visible()
    audit.check(page, "mailing sent")
    shot(page, "mailing-progress", view=True)
    journey.sink.wait_for(rows + 1, timeout=30)
    sent = [m for m in journey.sink.messages if m.rcpt_tos != [TEST_ADDRESS]]
    english_readers = set(journalists_by_language(journey.csv_path).get("en", []))
    in_english = [m for m in sent if m.rcpt_tos[0].lower() in english_readers]
    for received in sent[:4]:  # a few readers open it; two in English follow its link
        read_like_a_person(received.message, url, click=False)
    clickers = in_english[:2]
    assert clickers and all(read_like_a_person(m.message, url, click=True) for m in clickers)
    page.wait_for_timeout(600)  # the service writes buffered hits every 200 ms

    page.get_by_role("link", name=re.compile(r"^Report")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Report")
    expect(page.get_by_role("img", name="Opened per language")).to_be_visible()
    expect(page.get_by_role("img", name="Opens and clicks per hour")).to_be_visible()
    expect(page.locator("[data-count=clicked]")).to_contain_text(str(len(clickers)))
    expect(page.get_by_role("heading", name="Links")).to_be_visible()
    audit.check(page, "report")
    page.get_by_role("heading", name="Opens and clicks over time").evaluate(
        "heading => heading.closest('section').scrollIntoView({block: 'start'})")
    shot(page, "mailing-report", view=True)
    journey.pages["report"] = page.url.replace(url, "")

    # A Russian-language journalist: their message is in Russian.
    russian_readers = set(journalists_by_language(journey.csv_path)["ru"])
    to_russians = [m for m in journey.sink.messages if m.rcpt_tos[0].lower() in russian_readers]
    assert len(to_russians) == len(russian_readers)
    message = to_russians[0].message
    reader = to_russians[0].rcpt_tos[0]
    assert str(message["Subject"]) == russian.subject
    assert "Региональная конференция" in body_text(message)

    # Their timeline on the journalist's page.
    nav_link(page, "Journalists")
    page.get_by_label(re.compile(r"^Search")).fill(reader)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=re.compile(re.escape(reader), re.I)).or_(
        page.get_by_role("row", name=re.compile(re.escape(reader), re.I)).get_by_role("link")
    ).first.click()
    timeline = page.get_by_role("region", name="Releases sent")
    expect(timeline).to_contain_text(russian.subject[:40])
    expect(timeline).to_contain_text("ru")
    audit.check(page, "journalist")
    shot(page, "journalist-timeline")
    journey.pages["journalist"] = page.url.replace(url, "")

    # Its unsubscribe link, opened in the browser, confirmed on a page in Russian.
    unsubscribe = unsubscribe_url(message)
    assert unsubscribe.startswith(url + "/u/")
    reader_page = page.context.browser.new_page(locale="ru-RU") if page.context.browser else page
    try:
        reader_page.goto(unsubscribe)
        expect(reader_page.locator("html")).to_have_attribute("lang", "ru")
        expect(reader_page.get_by_role("heading", name="Отписаться от рассылки")).to_be_visible()
        audit.check(reader_page, "unsubscribe page")
        reader_page.get_by_role("button", name="Отписаться от рассылки").click()
        expect(reader_page.get_by_role("status").first).to_contain_text("Вы отписаны")
        audit.check(reader_page, "unsubscribed page")
        shot(reader_page, "unsubscribe-ru")
    finally:
        if reader_page is not page:
            reader_page.close()

    # Staff see the address on the suppression list.
    go(page, journey, "/suppressions/")
    page.get_by_label("Address contains").fill(reader)
    page.get_by_role("button", name="Search").click()
    row = page.get_by_role("row", name=re.compile(re.escape(reader), re.I))
    expect(row).to_be_visible()
    expect(row).to_contain_text("unsubscribed")
    audit.check(page, "suppressions")
    shot(page, "suppressions")
    journey.pages["suppressions"] = "/suppressions/"

    # Back on the dashboard, the mailing is among the recent ones.
    nav_link(page, "Dashboard")
    recent = page.get_by_role("link", name=re.compile(re.escape(RELEASE_TITLE)))
    expect(recent.first).to_be_visible()
    audit.check(page, "dashboard after sending")
    shot(page, "dashboard-after", view=True)

    audit.assert_clean()


def read_like_a_person(message: EmailMessage, base: str, click: bool) -> bool:
    """Load the message's images and, if asked, follow its first tracked link, as a mail app
    in a person's hands would (not a link scanner: a GET from a desktop browser). True if a
    link was followed."""
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    markup = html.unescape(str(part.get_content()))
    pixels = re.findall(re.escape(base) + r"/t/o/[^\"'\s>]+", markup)
    links = re.findall(re.escape(base) + r"/t/c/[^\"'\s>]+", markup)
    assert pixels, "no open pixel in the message"
    opener = urllib.request.build_opener(NoRedirect)
    for target in pixels[:1] + (links[:1] if click else []):
        request = urllib.request.Request(target, headers={"User-Agent": BROWSER_AGENT})
        try:
            with opener.open(request, timeout=10) as response:
                assert response.status == 200
        except urllib.error.HTTPError as exc:  # the click's redirect
            assert exc.code == 302, exc
    return bool(click and links)


BROWSER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def body_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    assert part is not None
    return str(part.get_content())


def unsubscribe_url(message: EmailMessage) -> str:
    header = str(message["List-Unsubscribe"])
    links = re.findall(r"<(https?://[^>]+)>", header)
    assert links, header
    return links[0]


MAIN_PAGES = ("dashboard", "journalists", "release", "preview", "mailing", "report",
              "journalist", "suppressions")


def signed_in_page(browser: Browser, journey: Journey, viewport: ViewportSize) -> Page:
    context = browser.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    sign_in(page, journey.service)
    return page


def test_main_pages_fit_a_phone(browser: Browser, journey: Journey) -> None:
    page = signed_in_page(browser, journey, PHONE)
    audit = PageAudit()
    try:
        overflowing = {}
        paths = {name: journey.pages.get(name, path) for name, path in
                 (("dashboard", "/"), ("journalists", "/contacts/"), ("release", "/releases/"),
                  ("preview", "/releases/"), ("mailing", "/mailings/"),
                  ("report", "/mailings/"), ("journalist", "/contacts/"),
                  ("suppressions", "/suppressions/"))}
        for name in MAIN_PAGES:
            go(page, journey, paths[name])
            nav = page.get_by_role("navigation", name="Main")
            expect(nav.get_by_role("link", name="Releases", exact=True)).to_be_visible()
            box = nav.bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 376, box
            found = horizontal_overflow(page)
            if found:
                overflowing[name] = found
            if name == "journalists":  # a table scrolling on its own is still a table
                expect(page.get_by_role("table").get_by_role("row").nth(1)).to_be_visible()
            audit.check(page, f"{name} at phone width")
            shot(page, f"phone-{name}")
        assert not overflowing, "wider than a phone:\n" + "\n".join(
            f"{name}: {found}" for name, found in overflowing.items())
        audit.assert_clean()
    finally:
        page.context.close()


def test_nav_and_a_form_work_from_the_keyboard(browser: Browser, journey: Journey) -> None:
    page = signed_in_page(browser, journey, {"width": 1280, "height": 800})
    try:
        # The skip link comes first and leads to the content.
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        assert focused == "Skip to content", focused
        # Tab along the main nav to "Releases" and follow it with Enter.
        for _ in range(20):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.textContent.trim()") == "Releases":
                break
        else:
            pytest.fail("the Releases link in the main nav is not reachable with Tab")
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Releases", level=1)).to_be_visible()

        # The suppression form, filled and submitted with the keyboard alone.
        go(page, journey, "/suppressions/")
        page.get_by_label("Email", exact=True).focus()
        page.keyboard.type("keyboard.only@example.com")
        page.keyboard.press("Enter")
        expect(page.get_by_role("row", name=re.compile("keyboard.only@example.com"))) \
            .to_be_visible()
        outline = page.evaluate("""() => {
            const link = document.querySelector('nav a');
            link.focus();
            const style = getComputedStyle(link);
            return style.outlineStyle + ' ' + style.outlineWidth;
        }""")
        assert not outline.startswith("none"), f"no visible focus on the nav: {outline}"
    finally:
        page.context.close()
