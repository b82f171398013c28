"""Hostile input through the public surfaces: header injection, stored XSS, unsafe Markdown,
template syntax, spreadsheet formulas, path traversal, oversized bodies and open redirects."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import itertools
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import bearer, login
from tests.tracking.support import flush_hits, make_sent

SCRIPT = "<script>alert('x')</script>"
IMG = '"><img src=x onerror=alert(1)>'
XSS = f"Ann{IMG}{SCRIPT}"
INJECTED = "Bcc: stolen@example.net"
CRLF = f"News\r\n{INJECTED}\r\nX-Injected: yes"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def api(client: FlaskClient, token: str, method: str, path: str, **kw: Any) -> Any:
    """One /api/v1 call as the holder of ``token``."""
    return client.open(f"/api/v1{path}", method=method, headers=bearer(token), **kw)


def unescaped(page: str) -> list[str]:
    """The active markup of the payloads that reached ``page`` unescaped."""
    return [found for found in ("<script>alert", "<img src=x onerror", "onerror=alert(1)>")
            if found in page and not _only_as_text(page, found)]


def _only_as_text(page: str, found: str) -> bool:
    # `onerror=alert(1)>` escaped as text is preceded by `&lt;img src=x ` in the page.
    return found == "onerror=alert(1)>" and "<img src=x onerror" not in page


# --- header injection -----------------------------------------------------------------------


def composed_message(app: Flask, release_id: int, contact_email: str,
                     mail_from: str | None = None) -> bytes:
    """The bytes dispatch would send for a one-recipient mailing of ``release_id``."""
    from mailer.db import db
    from mailer.dispatch.compose import InstanceSettings, MailingComposer
    from mailer.dispatch.ledger import ClaimedDelivery
    from mailer.dispatch.models import Delivery

    sent = make_sent(app, contact_email, "en", release_id=release_id,
                     list_name=f"Desk {release_id} {contact_email}")
    with app.app_context():
        settings = InstanceSettings.from_config(
            {**app.config, "MAILER_FROM": mail_from or app.config["MAILER_FROM"]})
        composer = MailingComposer(sent.mailing_id, release_id, settings)
        delivery = db.session.get(Delivery, sent.delivery_id)
        assert delivery is not None
        claimed = ClaimedDelivery(delivery.id, delivery.contact_id, delivery.email, "en",
                                  delivery.message_id, 0)
        composer.prepare([claimed])
        return composer.compose(claimed).data


def header_names(raw: bytes) -> list[str]:
    """The top-level header field names of a serialised message."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    return [line.split(":", 1)[0] for line in head.split("\r\n")
            if line and not line[0].isspace()]


def test_crlf_in_every_header_field_is_refused_or_neutralised(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    editor = staff["editor"]["token"]
    baseline_release = api(client, editor, "POST", "/releases", json={
        "title": "Plain", "default_language": "en",
        "translations": {"en": {"subject": "Plain news", "body": "Body"}}}).get_json()["id"]
    baseline = header_names(composed_message(app, baseline_release, "plain@example.com"))

    created = api(client, editor, "POST", "/releases", json={
        "title": CRLF, "default_language": "en",
        "translations": {"en": {"subject": CRLF, "preheader": CRLF, "body": "Body"}}})
    if created.status_code == 422:  # refused with the field named
        assert created.get_json()["error"]["fields"]
        release_id = baseline_release
    else:
        assert created.status_code == 201, created.get_json()
        release_id = created.get_json()["id"]
    contact = api(client, editor, "POST", "/contacts", json={
        "email": "crlf@example.com", "first_name": CRLF, "last_name": CRLF, "outlet": CRLF})
    assert contact.status_code in {201, 422}, contact.get_json()
    if contact.status_code == 422:
        assert contact.get_json()["error"]["fields"]
    bad_from = '"Press\r\nBcc: stolen@example.net" <press@example.org>'
    raw = composed_message(app, release_id, "crlf@example.com", mail_from=bad_from)
    names = header_names(raw)
    assert "Bcc" not in names and "X-Injected" not in names
    assert sorted(names) == sorted(baseline), raw.split(b"\r\n\r\n", 1)[0]
    message = email.message_from_bytes(raw, policy=email.policy.default)
    for name in ("Subject", "To", "From"):
        assert "\n" not in str(message[name]) and "\r" not in str(message[name])
    # A contact address cannot carry a header either: refused outright.
    response = api(client, editor, "POST", "/contacts",
                   json={"email": "a@example.com\r\nBcc: stolen@example.net"})
    assert response.status_code == 422


def test_template_syntax_in_a_contact_name_is_printed_not_run(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    editor = staff["editor"]["token"]
    release = api(client, editor, "POST", "/releases", json={
        "title": "Hello", "default_language": "en",
        "translations": {"en": {"subject": "Hi {{ first_name }}",
                                "body": "Dear {{ first_name }},\n\nNews."}}})
    assert release.status_code == 201, release.get_json()
    name = "{{ ''.__class__.__mro__ }}{% import os %}"
    assert api(client, editor, "POST", "/contacts", json={
        "email": "tpl@example.com", "first_name": name}).status_code == 201
    raw = composed_message(app, release.get_json()["id"], "tpl@example.com")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert "<class" not in str(message["Subject"]) and "object" not in str(message["Subject"])
    assert "{{ ''.__class__.__mro__ }}" in str(message["Subject"])
    text = message.get_body(("plain",))
    assert text is not None and "<class" not in text.get_content()


SANDBOX_PAYLOADS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{% import os %}{{ os.system('id') }}",
    "{{ config }}",
    "{{ self._TemplateReference__context }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{% for x in range(10**9) %}x{% endfor %}",
    "{{ first_name.__class__ }}",
    "{{ first_name|attr('__class__') }}",
    "{# comment #}",
    "{% raw %}{{ x }}{% endraw %}",
]


def test_template_payloads_in_release_text_are_refused(
        client: FlaskClient, staff: dict[str, Any]) -> None:
    editor = staff["editor"]["token"]
    for payload, field in itertools.product(SANDBOX_PAYLOADS, ("subject", "preheader", "body")):
        fields = {"subject": "News", "body": "Body", field: f"Hello {payload}"}
        response = api(client, editor, "POST", "/releases", json={
            "title": "T", "default_language": "en", "translations": {"en": fields}})
        assert response.status_code == 422, (field, payload, response.get_json())
        assert field in response.get_json()["error"]["fields"] or any(
            field in name for name in response.get_json()["error"]["fields"])


def test_title_and_contact_block_are_plain_text(app: Flask, client: FlaskClient,
                                                staff: dict[str, Any]) -> None:
    """The title and contact block are not templates at all: shown exactly as written."""
    editor = staff["editor"]["token"]
    response = api(client, editor, "POST", "/releases", json={
        "title": "{{ config }}", "default_language": "en", "contact": "{{ ''.__class__ }}",
        "translations": {"en": {"subject": "News", "body": "Body"}}})
    assert response.status_code in {201, 422}
    if response.status_code == 201:
        raw = composed_message(app, response.get_json()["id"], "plain@example.com")
        assert b"SECRET_KEY" not in raw and b"<class" not in raw


# --- stored XSS -----------------------------------------------------------------------------


def test_stored_payloads_are_escaped_on_every_page(app: Flask, client: FlaskClient,
                                                   staff: dict[str, Any]) -> None:
    from mailer.auth import service as auth_service
    from mailer.contacts import lists, segments
    from mailer.db import db

    editor = staff["editor"]["token"]
    release = api(client, editor, "POST", "/releases", json={
        "title": XSS, "default_language": "en", "contact": XSS,
        "translations": {"en": {"subject": XSS, "preheader": XSS,
                                "body": f"# {XSS}\n\n{XSS}\n\n[{XSS}](https://example.org)"}}})
    assert release.status_code == 201, release.get_json()
    release_id = release.get_json()["id"]
    contact = {"first_name": XSS, "last_name": XSS, "outlet": XSS, "beat": XSS, "role": XSS,
               "notes": XSS, "tags": [XSS[:60]]}
    sent = make_sent(app, "xss@example.com", "en", release_id=release_id, list_name=XSS,
                     contact=contact)
    with app.app_context():
        segment = segments.create_segment({"name": f"S{XSS}", "description": XSS,
                                           "filters": {}})
        lists.update_list(sent.list_id, {"description": XSS})
        auth_service.create_user("xss-user@example.com", "long enough pass", "viewer", name=XSS)
        segment_id = segment.id
        db.session.commit()
    # A bounce whose diagnostic text carries the payload, recorded against the delivery.
    from tests.tracking import bounce_samples as samples

    with app.app_context():
        from mailer.dispatch.verp import verp_address
        from mailer.tracking.bounces import ingest, secrets_from_config

        verp = verp_address(sent.delivery_id, app.config["SECRET_KEY"],
                            app.config["MAILER_BOUNCE_DOMAIN"])
        applied = ingest(samples.postfix_dsn(verp, sent.email, sent.message_id,
                                             diagnostic=f"550 5.1.1 {XSS}"),
                         secrets_from_config(app.config))
        assert applied.matched
    # An audit entry whose summary carries it (an import's file name is recorded).
    upload = api(client, editor, "POST", "/contacts/import",
                 data={"file": (io.BytesIO(b"email\nimp@example.com\n"), f"{XSS}.csv")},
                 content_type="multipart/form-data")
    assert upload.status_code < 500, upload.get_data(as_text=True)

    browser = app.test_client()
    login(browser, "admin@example.com")
    pages = [
        "/", "/contacts/", f"/contacts/{sent.contact_id}", f"/contacts/{sent.contact_id}/edit",
        "/lists/", f"/lists/{sent.list_id}", "/segments/",
        f"/segments/{segment_id}", "/releases/", f"/releases/{release_id}",
        f"/releases/{release_id}/preview", f"/releases/{release_id}/preview/frame",
        f"/releases/{release_id}/translations/en/revisions", "/mailings/",
        f"/mailings/{sent.mailing_id}", f"/mailings/{sent.mailing_id}/report",
        "/suppressions/", "/users/", "/audit/", "/contacts/import", "/outbox/",
    ]
    data = browser.get(f"/contacts/{sent.contact_id}/data")
    # The right-of-access download is JSON, never rendered as a page.
    assert data.mimetype == "application/json"
    assert data.headers["Content-Disposition"].startswith("attachment")
    assert data.headers["X-Content-Type-Options"] == "nosniff"
    # Pages that must show the payload (escaped), so the check above is not vacuous.
    shown = {f"/contacts/{sent.contact_id}", "/lists/", "/segments/", "/releases/",
             f"/releases/{release_id}", "/users/", "/suppressions/"}
    failures = {}
    for path in pages:
        response = browser.get(path)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, (path, response.status_code)
        found = unescaped(page)
        if found:
            failures[path] = found
        if path in shown and "&lt;script&gt;alert(" not in page:
            failures[path] = ["the payload is not on the page, escaped or not"]
    from mailer.releases.links import links_for

    web_path = links_for(app.config).web_version_url(release_id, "en")
    web_path = "/" + web_path.split("/", 3)[3]
    page = app.test_client().get(web_path).get_data(as_text=True)
    if unescaped(page):
        failures[web_path] = unescaped(page)
    assert not failures, failures


def test_markdown_with_raw_html_and_script_links_is_sanitised(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    editor = staff["editor"]["token"]
    body = ("Hello\n\n<script>alert(1)</script>\n\n<img src=x onerror=alert(2)>\n\n"
            "[click](javascript:alert(3))\n\n[data](data:text/html;base64,PHNjcmlwdD4=)\n\n"
            "<a href=\"javascript:alert(4)\">raw link</a>\n\n"
            "<iframe src=\"https://evil.example\"></iframe>\n\n"
            "[vb](vbscript:msgbox)\n\n[ok](https://example.org/ok)\n\n"
            "<div style=\"background:url(javascript:alert(5))\">styled</div>\n\n"
            "[spaced](java\tscript:alert(6)) [entity](&#106;avascript:alert(7))")
    response = api(client, editor, "POST", "/releases", json={
        "title": "Links", "default_language": "en",
        "translations": {"en": {"subject": "Links", "body": body}}})
    assert response.status_code in {201, 422}, response.get_json()
    if response.status_code == 422:
        return
    release_id = response.get_json()["id"]
    raw = composed_message(app, release_id, "md@example.com")
    message = email.message_from_bytes(raw, policy=email.policy.default)
    html_part = message.get_body(("html",))
    assert html_part is not None
    browser = app.test_client()
    login(browser, "viewer@example.com")
    frame = browser.get(f"/releases/{release_id}/preview/frame").get_data(as_text=True)
    preview = api(client, editor, "GET", f"/releases/{release_id}/preview").get_data(
        as_text=True)
    for where, html in (("email", html_part.get_content()), ("preview frame", frame),
                        ("preview API", preview)):
        lowered = html.lower().replace("\\u003c", "<").replace("\\u003e", ">")
        assert "<script" not in lowered, where
        assert "<iframe" not in lowered, where
        assert not re.search(r"<[^>]+\son\w+\s*=", lowered), where
        assert not re.search(r"(href|src)\s*=\s*[\"']?\s*(javascript|vbscript|data):", lowered), \
            where
        assert "javascript:alert(5)" not in lowered or "style=" not in lowered, where
    assert "https://example.org/ok" in html_part.get_content() or "/t/c/" in frame


# --- spreadsheet formulas -------------------------------------------------------------------

FORMULAS = ["=HYPERLINK(\"https://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1)",
            "\t=1+1", "\r=1+1"]
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def formula_cells(body: str) -> list[str]:
    """The cells of a CSV document a spreadsheet would run as formulas."""
    rows = csv.reader(io.StringIO(body.lstrip("\ufeff")))
    return [cell for row in rows for cell in row if cell.startswith(TRIGGERS)]


def test_every_csv_export_neutralises_formulas(app: Flask, client: FlaskClient,
                                               staff: dict[str, Any]) -> None:
    from mailer.audit import service as audit

    release_id = None
    sent = None
    for number, formula in enumerate(FORMULAS):
        sent = make_sent(app, f"f{number}@example.com", "en", release_id=release_id,
                         list_id=sent.list_id if sent else None,
                         contact={"first_name": formula, "last_name": formula,
                                  "outlet": formula, "beat": formula, "notes": formula})
        release_id = sent.release_id
    assert sent is not None
    with app.app_context():
        for formula in FORMULAS:
            audit.record("contacts.exported", actor_email=formula, summary=formula,
                         target_type=formula[:16], target_id=formula[:16], commit=True)
    admin = app.test_client()
    login(admin, "admin@example.com")
    token = staff["admin"]["token"]
    exports = {
        "contacts (web)": lambda: admin.get("/contacts/export"),
        "contacts (API)": lambda: api(client, token, "GET", "/contacts/export"),
        "audit log": lambda: admin.get("/audit/export.csv"),
        "report (web)": lambda: admin.get(f"/mailings/{sent.mailing_id}/report.csv"),
        "report (API)": lambda: api(client, token, "GET",
                                    f"/mailings/{sent.mailing_id}/report.csv"),
    }
    for name, export in exports.items():
        response = export()
        # Read each streamed export before the next request, as a server would.
        body = response.get_data(as_text=True)
        assert response.status_code == 200, name
        assert response.mimetype == "text/csv", name
        assert "'=HYPERLINK" in body or name.startswith("report"), name
        assert not formula_cells(body), (name, formula_cells(body))


def test_every_csv_route_is_covered(app: Flask) -> None:
    """A new CSV export must be added to the test above (and use mailer.csv_safe)."""
    csv_endpoints = {rule.endpoint for rule in app.url_map.iter_rules()
                     if "csv" in rule.rule or "export" in rule.rule}
    assert csv_endpoints == {"contacts.export_csv", "contacts_api.export_csv", "audit.export",
                             "reports.report_csv", "tracking_api.report_csv"}


# --- attachments: names and sizes -----------------------------------------------------------

TRAVERSAL_NAMES = ["../../etc/passwd", "/etc/passwd", "..\\..\\windows\\win.ini",
                   "C:\\evil\\x.png", "evil\x00.png", "a/../../b.png", "....//....//x.png",
                   "name\r\nContent-Type: text/html\r\n.png", "\u202egnp.exe", ".htaccess",
                   "x" * 500 + ".png", "%2e%2e%2fetc%2fpasswd.png", "", " ", "..", "."]


def test_attachment_names_cannot_leave_the_release_folder(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    for name in TRAVERSAL_NAMES:
        upload_named(app, client, staff["editor"]["token"], name)


def upload_named(app: Flask, client: FlaskClient, editor: str, name: str) -> None:
    """Upload a PNG called ``name``; check where it lands and how it is served."""
    from pathlib import Path

    release_id = api(client, editor, "POST", "/releases", json={
        "title": "T", "default_language": "en",
        "translations": {"en": {"subject": "S", "body": "B"}}}).get_json()["id"]
    instance = Path(app.instance_path)
    before = set(instance.rglob("*"))
    response = api(client, editor, "POST", f"/releases/{release_id}/attachments",
                   data={"file": (io.BytesIO(PNG), name)}, content_type="multipart/form-data")
    if response.status_code != 201:
        assert response.status_code in {400, 422}, (name, response.get_data(as_text=True))
        return
    stored = response.get_json()
    filename = stored["filename"]
    assert "/" not in filename and "\\" not in filename and "\x00" not in filename
    assert not filename.startswith(".") and ".." not in filename.replace("...", "")
    assert all(ch.isprintable() for ch in filename) and len(filename) <= 255
    new_files = set(instance.rglob("*")) - before
    folder = (instance / "attachments" / str(release_id)).resolve()
    for path in new_files:
        assert path.resolve().is_relative_to(folder) or folder.is_relative_to(path.resolve()), \
            (name, path)
    download = api(client, editor, "GET",
                   f"/releases/{release_id}/attachments/{stored['id']}")
    assert download.status_code == 200
    disposition = download.headers["Content-Disposition"]
    assert "\r" not in disposition and "\n" not in disposition
    assert disposition.startswith("attachment")
    assert "text/html" not in download.headers["Content-Type"]
    assert download.headers.get("X-Content-Type-Options") == "nosniff"


def test_oversized_attachment_is_413_and_writes_nothing(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    from pathlib import Path

    app.config["MAILER_ATTACHMENT_MAX_BYTES"] = 1000
    editor = staff["editor"]["token"]
    release_id = api(client, editor, "POST", "/releases", json={
        "title": "T", "default_language": "en",
        "translations": {"en": {"subject": "S", "body": "B"}}}).get_json()["id"]
    def files() -> list[Path]:
        return sorted(path for path in Path(app.instance_path).rglob("*") if path.is_file())

    files_before = files()
    response = api(client, editor, "POST", f"/releases/{release_id}/attachments",
                   data={"file": (io.BytesIO(PNG + b"\x00" * 2000), "big.png")},
                   content_type="multipart/form-data")
    assert response.status_code == 413
    assert response.get_json()["error"]["message"]
    assert files() == files_before
    listed = api(client, editor, "GET", f"/releases/{release_id}/attachments").get_json()
    assert (listed["items"] if isinstance(listed, dict) else listed) == []
    browser = app.test_client()
    login(browser, "editor@example.com")
    from tests.conftest import csrf_token

    page = browser.post(f"/releases/{release_id}/attachments",
                        data={"file": (io.BytesIO(PNG + b"\x00" * 2000), "big.png"),
                              "csrf_token": csrf_token(browser, f"/releases/{release_id}")},
                        content_type="multipart/form-data")
    assert page.status_code == 413
    assert files() == files_before


def test_oversized_import_is_413_and_writes_nothing(app: Flask, client: FlaskClient,
                                                   staff: dict[str, Any]) -> None:
    from mailer.contacts.models import Contact
    from mailer.db import db

    app.config["MAILER_IMPORT_MAX_BYTES"] = 1000
    rows = "".join(f"r{n}@example.com\n" for n in range(200)).encode()
    response = api(client, staff["editor"]["token"], "POST", "/contacts/import",
                   data={"file": (io.BytesIO(b"email\n" + rows), "big.csv")},
                   content_type="multipart/form-data")
    assert response.status_code == 413
    assert "limit" in response.get_json()["error"]["message"]
    with app.app_context():
        assert db.session.query(Contact).count() == 0
    browser = app.test_client()
    login(browser, "editor@example.com")
    from tests.conftest import csrf_token

    page = browser.post("/contacts/import", data={
        "file": (io.BytesIO(b"email\n" + rows), "big.csv"),
        "csrf_token": csrf_token(browser, "/contacts/import")},
        content_type="multipart/form-data")
    assert page.status_code == 413, page.status_code
    with app.app_context():
        assert db.session.query(Contact).count() == 0


def test_huge_json_body_is_413_with_a_clear_error(app: Flask, client: FlaskClient,
                                                 staff: dict[str, Any]) -> None:
    from mailer.db import db
    from mailer.releases.models import Release

    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b'{"title": "' + b"x" * (limit + 1) + b'"}'
    response = api(client, staff["editor"]["token"], "POST", "/releases", data=body,
                   content_type="application/json")
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "payload_too_large" and error["message"]
    with app.app_context():
        assert db.session.query(Release).count() == 0


# --- redirects ------------------------------------------------------------------------------

FOREIGN_NEXT = ["https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
                "http:evil.example", "https:/evil.example", "/%2F%2Fevil.example",
                "/\t/evil.example", " //evil.example", "javascript:alert(1)", "///evil.example",
                "/%5Cevil.example", "%2F%2Fevil.example"]


def test_login_next_never_leaves_the_site(app: Flask, staff: dict[str, Any]) -> None:
    for target in FOREIGN_NEXT:
        sign_in_with_next(app, target)


def sign_in_with_next(app: Flask, target: str) -> None:
    """Sign in with ``?next=target``; the redirect must stay on this site."""
    from urllib.parse import urlsplit

    from tests.conftest import csrf_token

    browser = app.test_client()
    token = csrf_token(browser, "/login")
    response = browser.post("/login", query_string={"next": target},
                            data={"email": "viewer@example.com",
                                  "password": "correct horse battery", "csrf_token": token})
    assert response.status_code == 302
    location = response.headers["Location"]
    parts = urlsplit(location)
    assert not parts.netloc or parts.netloc == "localhost", location
    assert not location.startswith("//") and "\\" not in location, location
    # Already signed in: the login page redirects at once, with the same rule.
    again = browser.get("/login", query_string={"next": target})
    assert urlsplit(again.headers["Location"]).netloc in {"", "localhost"}


def test_click_redirect_goes_only_to_signed_mailing_links(app: Flask) -> None:
    from mailer.releases.links import DeliveryRef, Links, links_for

    sent = make_sent(app)
    links = links_for(app.config)
    path_of = lambda url: "/" + url.split("/", 3)[3]  # noqa: E731
    good = links.click_url(sent.ref(), "https://example.org/r")
    client = app.test_client()
    response = client.get(path_of(good))
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.org/r"
    # A query string naming another target is ignored; a changed token is refused.
    assert client.get(path_of(good) + "?url=https://evil.example").headers.get(
        "Location") == "https://example.org/r"
    token = path_of(good).rsplit("/", 1)[1]
    for forged in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
                   token + "x", "x" + token, ""):
        forged_response = client.get(path_of(good).rsplit("/", 1)[0] + "/" + forged)
        assert forged_response.status_code == 404, forged
    # Signed with another secret: refused too.
    other = Links(app.config["MAILER_PUBLIC_URL"], "another-secret-key-for-this-test-x")
    foreign = other.click_url(DeliveryRef(sent.delivery_id, sent.contact_id),
                              "https://evil.example/")
    assert client.get(path_of(foreign)).status_code == 404
    # A signed link to anything but http(s) is refused even though it verifies.
    for target in ("javascript:alert(1)", "data:text/html,x", "//evil.example", "/local"):
        signed = links.click_url(sent.ref(), target)
        assert client.get(path_of(signed)).status_code == 404, target
    flush_hits(app)  # write the recorded click before the database goes away


# --- characters a database cannot store -----------------------------------------------------

NUL = "Ann\x00a"


def test_nul_characters_are_refused_or_dropped_not_a_crash(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    """PostgreSQL text cannot hold NUL: every API write answers 4xx or stores it cleaned."""
    admin = staff["admin"]["token"]
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/contacts", {"email": "nul@example.com", "first_name": NUL, "last_name": NUL,
                               "outlet": NUL, "beat": NUL, "notes": NUL, "tags": [NUL]}),
        ("POST", "/contacts", {"email": "nul\x00@example.com"}),
        ("POST", "/lists", {"name": NUL, "description": NUL}),
        ("POST", "/segments", {"name": NUL, "filters": {"q": NUL}}),
        ("POST", "/segments/preview", {"filters": {"q": NUL, "outlet": NUL}}),
        ("POST", "/releases", {"title": NUL, "default_language": "en", "contact": NUL,
                               "translations": {"en": {"subject": NUL, "body": NUL}}}),
        ("POST", "/suppressions", {"email": "x\x00@example.com", "reason": NUL}),
        ("POST", "/users", {"email": "nul-user@example.com", "password": "long enough pass",
                            "role": "viewer", "name": NUL}),
        ("POST", "/tokens", {"name": NUL}),
    ]
    failures = []
    for method, path, body in calls:
        response = api(client, admin, method, path, json=body)
        if response.status_code >= 500:
            failures.append((method, path, response.status_code))
    for path in ("/contacts?q=a%00b", "/contacts?outlet=%00", "/releases?q=%00",
                 "/suppressions?q=%00"):
        response = api(client, admin, "GET", path)
        if response.status_code >= 500:
            failures.append(("GET", path, response.status_code))
    browser = app.test_client()
    login(browser, "admin@example.com")
    for path in ("/contacts/?q=a%00b", "/releases/?q=%00", "/audit/?actor=%00",
                 "/suppressions/?q=%00", "/login?next=/%00"):
        response = browser.get(path)
        if response.status_code >= 500:
            failures.append(("GET web", path, response.status_code))
    assert not failures, failures
