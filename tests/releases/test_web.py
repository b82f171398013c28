"""The releases pages: list, create, edit tabs, history, approvals, files, roles, escaping."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token, login
from tests.releases.conftest import Api, text

Maker = Callable[..., dict[str, Any]]
XSS = "<script>alert(1)</script>"


def signed_in(app: Flask, role: str = "editor") -> FlaskClient:
    """A browser signed in as the ``role`` account of the ``staff`` fixture."""
    client = app.test_client()
    login(client, f"{role}@example.com")
    return client


def field_value(html: str, name: str) -> str:
    """The value of the input ``name`` in a page."""
    match = re.search(rf'name="{re.escape(name)}"[^>]*value="([^"]*)"', html)
    assert match, name
    return match.group(1)


def test_nav_list_and_badges(app: Flask, staff: dict[str, Any], api: Api,
                             make_release: Maker) -> None:
    release = make_release(approvals_required=True,
                           translations={"en": text(), "ru": text("Тема", "Текст"),
                                         "kk": text("Тақырып", "Мәтін")})
    api("POST", f"/releases/{release['id']}/translations/ru/approve")
    api("PUT", f"/releases/{release['id']}/translations/en", text(body="Changed"))
    api("POST", f"/releases/{release['id']}/translations/en/approve")
    browser = signed_in(app, "viewer")
    assert 'href="/releases/"' in browser.get("/").get_data(as_text=True)
    page = browser.get("/releases/").get_data(as_text=True)
    assert "Torture prevention conference" in page
    assert "en · approved" in page and "ru · stale" in page and "kk · stale" in page
    assert "approvals required" in page
    assert "New release" not in page  # viewers cannot write
    assert "New release" in signed_in(app).get("/releases/").get_data(as_text=True)


def test_create_through_the_form(app: Flask, staff: dict[str, Any]) -> None:
    browser = signed_in(app)
    token = csrf_token(browser, "/releases/new")
    form = {"csrf_token": token, "title": "Conference", "default_language": "ru",
            "embargo_local": "2016-05-31T09:00", "embargo_timezone": "asia/dushanbe",
            "contact_block": "Ленур", "approvals_required": "y",
            "subject": "Конференция", "preheader": "", "body": "# Текст\n\nНовости."}
    response = browser.post("/releases/new", data=form)
    assert response.status_code == 302
    page = browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "Conference" in page and "Конференция" in page
    assert "2016-05-31 04:00 UTC" in page  # 09:00 in Dushanbe (+05:00)
    assert "required before sending" in page


def test_the_form_shows_the_services_errors(app: Flask, staff: dict[str, Any]) -> None:
    browser = signed_in(app)
    token = csrf_token(browser, "/releases/new")
    response = browser.post("/releases/new", data={
        "csrf_token": token, "title": "", "default_language": "en",
        "embargo_timezone": "Mars/Olympus", "embargo_local": "2030-01-01T10:00",
        "subject": "Hi", "body": "Dear {{ config }}"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "is not an IANA time zone" in page
    response = browser.post("/releases/new", data={
        "csrf_token": token, "title": "", "default_language": "en",
        "subject": "Hi", "body": "Dear {{ config }}"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="title-error"' in page and 'id="body-error"' in page
    assert "unknown placeholder" in page
    assert signed_in(app).get("/releases/").get_data(as_text=True).count("<tr>") == 0


def test_edit_tabs_side_by_side_and_save(app: Flask, staff: dict[str, Any], api: Api,
                                         make_release: Maker) -> None:
    release = make_release(translations={"en": text(body="Source text"),
                                         "ru": text("Тема", "Перевод")})
    browser = signed_in(app)
    url = f"/releases/{release['id']}"
    page = browser.get(f"{url}?lang=ru").get_data(as_text=True)
    assert 'id="panel-en"' in page and 'id="panel-ru"' in page
    assert re.search(r'id="panel-en"[^>]*hidden', page)
    assert not re.search(r'id="panel-ru"[^>]*hidden', page)
    assert "Source: en, revision 1" in page and "Source text" in page
    assert '<script src="/static/releases.js" defer></script>' in page
    assert field_value(page, "t-ru-base_revision") == "1"

    token = csrf_token(browser, url)
    saved = browser.post(f"{url}/translations/ru", data={
        "t-ru-csrf_token": token, "t-ru-subject": "Новая тема", "t-ru-preheader": "",
        "t-ru-body": "Новый перевод", "t-ru-base_revision": "1"})
    assert saved.status_code == 302
    assert api("GET", f"{url}/translations/ru").get_json()["subject"] == "Новая тема"
    # Someone saved meanwhile: the form from revision 1 is refused, nothing overwritten.
    stale_form = browser.post(f"{url}/translations/ru", data={
        "t-ru-csrf_token": token, "t-ru-subject": "Старая", "t-ru-preheader": "",
        "t-ru-body": "Старый", "t-ru-base_revision": "1"})
    assert stale_form.status_code == 409
    conflict_page = stale_form.get_data(as_text=True)
    assert "saved by someone else" in conflict_page and "Старый" in conflict_page
    assert field_value(conflict_page, "t-ru-base_revision") == "2"
    assert api("GET", f"{url}/translations/ru").get_json()["subject"] == "Новая тема"
    invalid = browser.post(f"{url}/translations/ru", data={
        "t-ru-csrf_token": token, "t-ru-subject": "", "t-ru-body": "{% if x %}",
        "t-ru-base_revision": "2"})
    assert invalid.status_code == 422
    assert 'id="t-ru-subject-error"' in invalid.get_data(as_text=True)


def test_add_approve_delete_translation(app: Flask, staff: dict[str, Any], api: Api,
                                        make_release: Maker) -> None:
    release = make_release()
    browser = signed_in(app)
    url = f"/releases/{release['id']}"
    token = csrf_token(browser, url)
    added = browser.post(f"{url}/translations", data={
        "new-csrf_token": token, "new-language": "KK", "new-subject": "Тақырып",
        "new-body": "Мәтін"})
    assert added.status_code == 302 and added.headers["Location"].endswith("lang=kk")
    duplicate = browser.post(f"{url}/translations", data={
        "new-csrf_token": token, "new-language": "kk", "new-subject": "x", "new-body": "y"})
    assert duplicate.status_code == 409
    assert "already translated" in duplicate.get_data(as_text=True)

    assert browser.post(f"{url}/translations/kk/approve",
                        data={"csrf_token": token}).status_code == 302
    assert api("GET", f"{url}/translations/kk").get_json()["status"] == "approved"
    browser.post(f"{url}/translations/kk/unapprove", data={"csrf_token": token})
    assert api("GET", f"{url}/translations/kk").get_json()["status"] == "draft"
    refused = browser.post(f"{url}/translations/en/delete", data={"csrf_token": token},
                           follow_redirects=True)
    assert "choose another default language" in refused.get_data(as_text=True)
    browser.post(f"{url}/translations/kk/delete", data={"csrf_token": token})
    assert sorted(api("GET", url).get_json()["translations"]) == ["en"]


def test_history_and_revert(app: Flask, staff: dict[str, Any], api: Api,
                            make_release: Maker) -> None:
    release = make_release()
    url = f"/releases/{release['id']}"
    api("PUT", f"{url}/translations/en", text(body="Second"))
    browser = signed_in(app)
    page = browser.get(f"{url}/translations/en/revisions").get_data(as_text=True)
    assert "Revision 2" in page and "Revision 1" in page and "editor@example.com" in page
    assert "body changed (+1 −3 lines)" in page
    assert "Revert to revision 1" in page and "Revert to revision 2" not in page
    token = csrf_token(browser, url)
    reverted = browser.post(f"{url}/translations/en/revisions/1/revert",
                            data={"csrf_token": token})
    assert reverted.status_code == 302
    current = api("GET", f"{url}/translations/en").get_json()
    assert current["body"] == "# Hello\n\nNews." and current["revision"] == 3
    viewer_page = signed_in(app, "viewer").get(f"{url}/translations/en/revisions")
    assert "Revert to" not in viewer_page.get_data(as_text=True)


def test_settings_attachments_and_delete(app: Flask, staff: dict[str, Any], api: Api,
                                         make_release: Maker) -> None:
    release = make_release()
    browser = signed_in(app)
    url = f"/releases/{release['id']}"
    token = csrf_token(browser, url)
    changed = browser.post(url, data={"csrf_token": token, "title": "Renamed",
                                      "default_language": "en", "embargo_local": "",
                                      "embargo_timezone": "UTC", "contact_block": ""})
    assert changed.status_code == 302
    assert api("GET", url).get_json()["title"] == "Renamed"

    uploaded = browser.post(f"{url}/attachments", data={
        "csrf_token": token, "file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "kit.pdf")},
        content_type="multipart/form-data")
    assert uploaded.status_code == 302
    page = browser.get(url).get_data(as_text=True)
    assert "kit.pdf" in page
    [attachment] = api("GET", f"{url}/attachments").get_json()["items"]
    download = browser.get(f"{url}/attachments/{attachment['id']}")
    assert download.status_code == 200 and download.data == b"%PDF-1.4\n%%EOF\n"
    refused = browser.post(f"{url}/attachments", data={
        "csrf_token": token, "file": (io.BytesIO(b"MZ\x90\x00" * 10), "kit.pdf")},
        content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "judged by its content" in refused.get_data(as_text=True)
    browser.post(f"{url}/attachments/{attachment['id']}/delete", data={"csrf_token": token})
    assert api("GET", f"{url}/attachments").get_json()["total"] == 0

    assert browser.post(f"{url}/delete", data={"csrf_token": token}).status_code == 302
    assert api("GET", url).status_code == 404


def test_viewers_read_but_cannot_write(app: Flask, staff: dict[str, Any],
                                       make_release: Maker) -> None:
    release = make_release()
    browser = signed_in(app, "viewer")
    url = f"/releases/{release['id']}"
    page = browser.get(url).get_data(as_text=True)
    assert "Conference in Dushanbe" in page
    assert "Save en" not in page and "Delete this release" not in page
    token = csrf_token(browser, "/account/")
    for path in ("", "/delete", "/translations", "/translations/en",
                 "/translations/en/approve", "/translations/en/delete",
                 "/translations/en/revisions/1/revert", "/attachments"):
        assert browser.post(url + path, data={"csrf_token": token}).status_code == 403, path
    assert browser.get("/releases/new").status_code == 403
    assert app.test_client().get(url).status_code == 302  # not signed in: to the login page


def test_staff_text_is_escaped_everywhere(app: Flask, staff: dict[str, Any], api: Api,
                                          make_release: Maker) -> None:
    body = f"Body {XSS}\n\n<img src=x onerror=alert(1)>"
    release = make_release(title=f"Title {XSS}", contact_block=XSS,
                           translations={"en": text(f"Subject {XSS}", body, XSS),
                                         "ru": text(subject=XSS, body=XSS)})
    browser = signed_in(app)
    url = f"/releases/{release['id']}"
    pages = [browser.get(p).get_data(as_text=True) for p in (
        "/releases/", url, f"{url}/translations/ru/revisions", f"{url}/preview")]
    for page in pages:
        assert XSS not in page
        assert "onerror=alert" not in page.replace("onerror=alert(1)&gt;", "")
        assert "&lt;script&gt;" in page
        assert "<script>" not in page  # scripts only as <script src=…>, never inline
    frame = browser.get(f"{url}/preview/frame?language=en").get_data(as_text=True)
    assert "<script" not in frame and "onerror" not in frame
