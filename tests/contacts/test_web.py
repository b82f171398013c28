"""The journalists pages through the test client, CSRF tokens and all."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token, login
from tests.contacts.factories import make_contact, make_list, make_segment, suppress

XSS = '<script>alert("x")</script>'


def _signed_in(client: FlaskClient, role: str = "editor") -> str:
    login(client, f"{role}@example.com")
    return csrf_token(client, "/contacts/new" if role != "viewer" else "/account/")


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_empty_state_says_what_to_do(client: FlaskClient, staff: dict[str, Any]) -> None:
    _signed_in(client)
    page = _text(client.get("/contacts/"))
    assert "No journalists yet. Import a CSV or add one." in page
    assert 'href="/contacts/import"' in page
    assert 'href="/contacts/new"' in page
    assert ">Journalists</a>" in _text(client.get("/"))


def test_add_edit_and_delete_a_journalist(app: Flask, client: FlaskClient,
                                          staff: dict[str, Any]) -> None:
    token = _signed_in(client)
    response = client.post("/contacts/new", data={
        "csrf_token": token, "email": "Нигина@Пример.испытание", "first_name": "Нигина",
        "last_name": "Шарипова", "outlet": "Asia-Plus", "country": "tj", "language": "tg",
        "languages": "tg, ru, en", "timezone": "asia/dushanbe", "tags": "vip; print",
        "social": "telegram: @nigina\nx: @nigina_x", "notes": "Two\nlines", "tracking": "y"})
    assert response.status_code == 302
    location = response.headers["Location"]
    contact_id = int(location.rstrip("/").rsplit("/", 1)[1])
    page = _text(client.get(location))
    assert "Нигина" in page and "Asia-Plus" in page and "@nigina_x" in page
    assert "1. tg" in page and "3. en" in page
    with app.app_context():
        from mailer.contacts import service

        contact = service.get_contact(contact_id)
        assert contact.source == "ui"
        assert contact.languages == ["tg", "ru", "en"] and contact.tags == ["print", "vip"]
        assert contact.social == {"telegram": "@nigina", "x": "@nigina_x"}
        assert contact.timezone == "Asia/Dushanbe" and contact.tracking is True

    form = _text(client.get(f"/contacts/{contact_id}/edit"))
    assert 'value="tg, ru, en"' in form and 'value="print; vip"' in form
    response = client.post(f"/contacts/{contact_id}/edit", data={
        "csrf_token": token, "email": "Нигина@Пример.испытание", "first_name": "Нигина",
        "language": "tg", "tags": "", "social": "", "notes": ""})  # tracking unticked
    assert response.status_code == 302
    with app.app_context():
        contact = service.get_contact(contact_id)
        assert contact.tracking is False and contact.tags == [] and contact.outlet == ""

    confirm = _text(client.get(f"/contacts/{contact_id}/delete"))
    assert "Delete" in confirm and "stays there" in confirm
    assert client.post(f"/contacts/{contact_id}/delete",
                       data={"csrf_token": token}).status_code == 302
    assert client.get(f"/contacts/{contact_id}").status_code == 404


def test_inline_field_errors(client: FlaskClient, staff: dict[str, Any]) -> None:
    token = _signed_in(client)
    response = client.post("/contacts/new", data={
        "csrf_token": token, "email": "not an address", "country": "XX", "language": "english",
        "timezone": "Mars/Base", "social": "just a handle", "phone": "call me"})
    assert response.status_code == 422
    page = _text(response)
    for field in ("email", "country", "language", "timezone", "social", "phone"):
        assert f'id="{field}-error"' in page, field
    assert 'value="not an address"' in page  # what was typed is kept


def test_duplicate_in_the_form(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    make_contact(app, "desk@example.com")
    token = _signed_in(client)
    response = client.post("/contacts/new", data={"csrf_token": token,
                                                  "email": "desk@EXAMPLE.com"})
    assert response.status_code == 422
    assert 'id="email-error"' in _text(response) and "already exists" in _text(response)


def test_forms_need_the_csrf_token(app: Flask, client: FlaskClient,
                                   staff: dict[str, Any]) -> None:
    contact = make_contact(app)
    _signed_in(client)
    assert client.post("/contacts/new", data={"email": "x@example.com"}).status_code == 400
    assert client.post(f"/contacts/{contact}/delete").status_code == 400
    assert client.get(f"/contacts/{contact}").status_code == 200


def test_names_are_escaped_everywhere(app: Flask, client: FlaskClient,
                                      staff: dict[str, Any]) -> None:
    contact = make_contact(app, "x@example.com", first_name=XSS, outlet=XSS, tags=["<b>"],
                           notes=XSS, social={"x": XSS})
    list_id = make_list(app, XSS, members=(contact,))
    segment = make_segment(app, XSS, outlet=[XSS])
    suppress(app, "x@example.com")
    _signed_in(client, "admin")
    for path in ("/contacts/", f"/contacts/{contact}", f"/contacts/{contact}/edit", "/lists/",
                 f"/lists/{list_id}", "/segments/", f"/segments/{segment}", "/suppressions/",
                 f"/contacts/{contact}/delete", f"/contacts/?q={XSS}"):
        page = _text(client.get(path))
        assert "<script>" not in page, path
        assert "<b>" not in page, path
    assert "&lt;script&gt;" in _text(client.get(f"/contacts/{contact}"))


def test_search_filters_sorting_and_paging(app: Flask, client: FlaskClient,
                                           staff: dict[str, Any]) -> None:
    for i in range(60):
        make_contact(app, f"p{i:02}@example.com", first_name="Павел", last_name=f"Ж{i:02}",
                     language="ru" if i % 2 else "pl", country="PL", tags=["wire"] if i < 3 else [])
    make_contact(app, "anna@example.com", first_name="Анна", outlet="Steppe Wire", language="kk")
    _signed_in(client, "viewer")
    first = _text(client.get("/contacts/"))
    assert "61 journalists" in first and "Page 1 of 2" in first
    assert "Next →" in first
    second = _text(client.get("/contacts/?page=2"))
    assert "Page 2 of 2" in second
    found = _text(client.get("/contacts/?q=%D0%B0%D0%BD%D0%BD%D0%B0"))  # анна
    assert "anna@example.com" in found and "p01@example.com" not in found
    assert "1 journalist match" in found and "(of 61)" in found
    by_language = _text(client.get("/contacts/?language=pl&tag=wire"))
    assert re.findall(r"p0\d@example.com", by_language) == ["p00@example.com", "p02@example.com"]
    descending = _text(client.get("/contacts/?sort=email&order=desc"))
    emails = re.findall(r"p\d\d@example.com", descending)
    assert emails == sorted(emails, reverse=True) and emails[0] == "p59@example.com"
    assert 'aria-sort="descending"' in descending
    nothing = _text(client.get("/contacts/?q=nobody-at-all"))
    assert "No journalist matches these filters" in nothing
    bad = client.get("/contacts/?language=english&status=gone")
    assert bad.status_code == 200 and "ignored" in _text(bad)


def test_status_filter_and_badges(app: Flask, client: FlaskClient,
                                  staff: dict[str, Any]) -> None:
    make_contact(app, "ok@example.com")
    make_contact(app, "gone@example.com")
    suppress(app, "gone@example.com", "hard_bounce")
    _signed_in(client, "viewer")
    page = _text(client.get("/contacts/?status=suppressed"))
    assert "gone@example.com" in page and "ok@example.com" not in page
    assert "suppressed: hard bounce" in page


def test_add_selected_or_all_matching_to_a_list(app: Flask, client: FlaskClient,
                                                staff: dict[str, Any]) -> None:
    ids = [make_contact(app, f"c{i}@example.com", country="KZ" if i < 3 else "PL")
           for i in range(5)]
    list_id = make_list(app, "Almaty desk")
    token = _signed_in(client)
    page = _text(client.get("/contacts/"))
    assert 'name="contact_ids"' in page and "Add all 5 matching" in page
    response = client.post("/contacts/add-to-list", data={
        "csrf_token": token, "target_list_id": list_id, "scope": "selected",
        "contact_ids": [ids[0], ids[1]], "back": "/contacts/?page=1"})
    assert response.status_code == 302 and response.headers["Location"] == "/contacts/?page=1"
    response = client.post("/contacts/add-to-list", data={
        "csrf_token": token, "target_list_id": list_id, "scope": "all", "country": "KZ",
        "back": "https://evil.example/"})
    assert response.headers["Location"] == "/contacts/"
    flashes = _text(client.get("/contacts/"))
    assert "1 added to “Almaty desk”" in flashes
    listed = _text(client.get(f"/lists/{list_id}"))
    assert "3 journalists" in listed
    assert "c3@example.com" not in listed


def test_lists_pages(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    contact = make_contact(app, "a@example.com")
    token = _signed_in(client)
    assert "No lists yet" in _text(client.get("/lists/"))
    response = client.post("/lists/", data={"csrf_token": token, "name": "Radio"})
    assert response.status_code == 302
    list_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert client.post("/lists/", data={"csrf_token": token, "name": "Radio"}).status_code == 422
    client.post("/contacts/add-to-list", data={"csrf_token": token, "target_list_id": list_id,
                                               "contact_ids": [contact], "scope": "selected"})
    overview = _text(client.get("/lists/"))
    assert "Radio" in overview and ">1</a>" in overview
    assert client.post(f"/lists/{list_id}", data={"csrf_token": token, "name": "Радио",
                                                  "description": "FM"}).status_code == 302
    page = _text(client.get(f"/lists/{list_id}"))
    assert "Радио" in page and "a@example.com" in page
    client.post(f"/lists/{list_id}/members/{contact}/remove", data={"csrf_token": token})
    assert "This list is empty" in _text(client.get(f"/lists/{list_id}"))
    make_segment(app, "Uses radio", list_id=[list_id])
    client.post(f"/lists/{list_id}/delete", data={"csrf_token": token})
    assert client.get(f"/lists/{list_id}").status_code == 200  # kept: a segment uses it


def test_segments_pages(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    make_contact(app, "a@example.com", language="ru", country="KZ")
    make_contact(app, "b@example.com", language="ru", country="KZ")
    make_contact(app, "c@example.com", language="en", country="KZ")
    suppress(app, "b@example.com")
    token = _signed_in(client)
    response = client.post("/segments/", data={"csrf_token": token, "name": "Russian in KZ",
                                               "language": "ru", "country": "kz"})
    assert response.status_code == 302
    page = _text(client.get(response.headers["Location"]))
    assert "<strong>2</strong> journalists match now" in page
    assert "<strong>1</strong> of them may be mailed" in page
    bad = client.post("/segments/", data={"csrf_token": token, "name": "Bad",
                                          "country": "Narnia"})
    assert bad.status_code == 422 and 'id="country-error"' in _text(bad)
    assert "Russian in KZ" in _text(client.get("/segments/"))


def test_suppression_page(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    editor = app.test_client()
    token = _signed_in(editor)
    assert "Nobody is suppressed yet" in _text(editor.get("/suppressions/"))
    response = editor.post("/suppressions/", data={"csrf_token": token, "email": "a@example.com",
                                                   "reason": "complaint", "detail": "angry"})
    assert response.status_code == 302
    page = _text(editor.get("/suppressions/"))
    assert "a@example.com" in page and "complaint" in page and "UTC" in page
    assert "Remove" not in page  # editors cannot remove
    assert editor.post("/suppressions/remove", data={"csrf_token": token,
                                                     "email": "a@example.com"}).status_code == 403
    admin = app.test_client()
    admin_token = _signed_in(admin, "admin")
    assert "Remove" in _text(admin.get("/suppressions/"))
    admin.post("/suppressions/remove", data={"csrf_token": admin_token, "email": "a@example.com"})
    assert "Nobody is suppressed yet" in _text(admin.get("/suppressions/"))


def test_export_button_downloads_the_filtered_csv(app: Flask, client: FlaskClient,
                                                  staff: dict[str, Any]) -> None:
    make_contact(app, "a@example.com", first_name="=cmd|' /C calc'!A0", country="KZ")
    make_contact(app, "b@example.com", country="PL")
    _signed_in(client, "viewer")
    page = _text(client.get("/contacts/?country=KZ"))
    assert 'href="/contacts/export?country=KZ"' in page
    response = client.get("/contacts/export?country=KZ")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    text = response.get_data().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    assert [r["email"] for r in rows] == ["a@example.com"]
    assert rows[0]["first_name"].startswith("'=")


def test_privacy_from_the_contact_page(app: Flask, client: FlaskClient,
                                       staff: dict[str, Any]) -> None:
    contact = make_contact(app, "erase@example.com")
    editor = app.test_client()
    _signed_in(editor)
    assert "Erase this journalist" not in _text(editor.get(f"/contacts/{contact}"))
    data = editor.get(f"/contacts/{contact}/data")
    assert data.headers["Content-Disposition"].startswith("attachment;")
    assert data.get_json()["contact"]["email"] == "erase@example.com"
    token = _signed_in(client, "admin")
    assert "Erase this journalist" in _text(client.get(f"/contacts/{contact}"))
    assert "one-way hash" in _text(client.get(f"/contacts/{contact}/erase"))
    assert client.post(f"/contacts/{contact}/erase", data={"csrf_token": token}).status_code \
        == 302
    page = _text(client.get("/suppressions/"))
    assert "erased contact (kept as a hash only)" in page and "erase@example.com" not in page
