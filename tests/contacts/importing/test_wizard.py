"""The web import wizard: upload → mapping with preview → options → report, CSRF on each form."""

from __future__ import annotations

import io
import os
import re
import time
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token, login
from tests.contacts.factories import make_list
from tests.contacts.importing.helpers import contacts, counts, csv_bytes, row

START = "/contacts/import"


def imports_folder(app: Flask) -> Path:
    return Path(app.instance_path) / "imports"


def upload(client: FlaskClient, data: bytes, filename: str = "desk.csv") -> Any:
    token = csrf_token(client, START)
    return client.post(START, data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def selected(html: str, column: int) -> str:
    """The option selected in the mapping select of one column."""
    select = re.search(rf'<select[^>]*name="column_{column}".*?</select>', html, re.S)
    assert select, html
    option = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected',
                       select.group(0))
    if option is None:
        return "(none)"
    return option.group(1) if option.group(1) is not None else option.group(2)


def test_the_whole_wizard(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    login(client, "editor@example.com")
    header = ["E-mail", "Имя", "Фамилия", "Издание", "Notes about them", "Язык", "tags"]
    rows = [["anna@example.com", "Анна", "Иванова", "Радио", "met in Almaty", "ru", "tv"],
            ["bad-address", "Bob", "", "", "", "en", ""],
            ["<b>x</b>@example.com", "<script>alert(1)</script>", "", "", "", "xx-!!", ""],
            ["farzona@example.org", "Фарзона", "Рахимова", "Азия-Плюс", "", "tg", "print;vip"]]
    response = upload(client, csv_bytes(rows, header=header, delimiter=";", encoding="cp1251"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/contacts/import/mapping")
    stored = list(imports_folder(app).glob("*.csv"))
    assert len(stored) == 1 and re.fullmatch(r"[A-Za-z0-9_-]{43}\.csv", stored[0].name)

    page = client.get("/contacts/import/mapping").get_data(as_text=True)
    assert "Windows-1251, semicolon-separated" in page
    assert "Анна" in page and "Фарзона" in page  # the preview of the first rows
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert [selected(page, i) for i in range(7)] == [
        "email", "first_name", "last_name", "outlet", "", "language", "tags"]

    form = {"csrf_token": csrf_token(client, "/contacts/import/mapping"),
            "column_0": "email", "column_1": "first_name", "column_2": "last_name",
            "column_3": "outlet", "column_4": "notes", "column_5": "language",
            "column_6": "tags"}
    assert client.post("/contacts/import/mapping", data={**form, "csrf_token": "forged"}
                       ).status_code == 400  # CSRF
    response = client.post("/contacts/import/mapping", data=form)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/contacts/import/options")

    page = client.get("/contacts/import/options").get_data(as_text=True)
    assert "Notes" in page
    response = client.post("/contacts/import/options", data={
        "csrf_token": csrf_token(client, "/contacts/import/options"), "list_id": "",
        "new_list": "Wizard list", "update_existing": "y"})
    assert response.status_code == 302, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/contacts/import/report")
    assert not list(imports_folder(app).glob("*.csv"))  # the upload is gone once imported

    page = client.get("/contacts/import/report").get_data(as_text=True)
    assert re.search(r"<dt>Created</dt><dd>2</dd>", page)
    assert re.search(r"<dt>Rejected</dt><dd>2</dd>", page)
    assert '<td class="num">3</td><td>email</td>' in page
    assert '<td class="num">4</td><td>email</td>' in page
    assert '<td class="num">4</td><td>language</td><td>&#39;xx-!!&#39; is not' in page
    assert "<script>alert" not in page
    assert 'href="/contacts/"' in page

    stored = contacts(app)
    assert set(stored) == {"anna@example.com", "farzona@example.org"}
    assert stored["anna@example.com"]["notes"] == "met in Almaty"
    assert stored["farzona@example.org"]["tags"] == ["print", "vip"]
    assert stored["anna@example.com"]["lists"] == stored["farzona@example.org"]["lists"] != []
    # The finished run cannot be replayed.
    assert client.get("/contacts/import/mapping").status_code == 404


def test_mapping_a_header_nobody_recognises(app: Flask, client: FlaskClient,
                                            staff: dict[str, Any]) -> None:
    login(client, "editor@example.com")
    list_id = make_list(app, "Existing")
    data = csv_bytes([["desk@example.com", "Desk"]], header=["Адрес для писем", "Кто"])
    assert upload(client, data).status_code == 302
    page = client.get("/contacts/import/mapping").get_data(as_text=True)
    assert [selected(page, 0), selected(page, 1)] == ["", ""]
    token = csrf_token(client, "/contacts/import/mapping")
    response = client.post("/contacts/import/mapping", data={
        "csrf_token": token, "column_0": "", "column_1": "first_name"})
    assert response.status_code == 422
    assert "choose the column that holds the email address" in response.get_data(as_text=True)
    response = client.post("/contacts/import/mapping", data={
        "csrf_token": token, "column_0": "email", "column_1": "email"})
    assert response.status_code == 422
    assert "already taken from column 1" in response.get_data(as_text=True)
    assert client.get("/contacts/import/options").status_code == 302  # no mapping yet
    response = client.post("/contacts/import/mapping", data={
        "csrf_token": token, "column_0": "email", "column_1": "first_name"})
    assert response.status_code == 302
    options_token = csrf_token(client, "/contacts/import/options")
    response = client.post("/contacts/import/options", data={
        "csrf_token": options_token, "list_id": str(list_id), "new_list": "Another"})
    assert response.status_code == 422
    assert "not both" in response.get_data(as_text=True)
    response = client.post("/contacts/import/options", data={
        "csrf_token": options_token, "list_id": str(list_id)})
    assert response.status_code == 302
    assert contacts(app)["desk@example.com"]["lists"] == [list_id]
    assert contacts(app)["desk@example.com"]["first_name"] == "Desk"


def test_a_refused_upload_is_reported_inline_and_kept_nowhere(app: Flask, client: FlaskClient,
                                                              staff: dict[str, Any]) -> None:
    login(client, "editor@example.com")
    before = counts(app)
    response = upload(client, b"PK\x03\x04" + b"\x00" * 100, "contacts.xlsx")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'class="error"' in page and "Excel workbook" in page
    assert upload(client, b"").status_code == 400
    app.config["MAILER_IMPORT_MAX_BYTES"] = 100
    response = upload(client, csv_bytes([row(f"p{i}@example.com") for i in range(10)]))
    assert response.status_code == 413
    assert "limit" in response.get_data(as_text=True)
    token = csrf_token(client, START)
    assert client.post(START, data={"csrf_token": token}).status_code == 422  # no file
    assert not list(imports_folder(app).iterdir())
    assert counts(app) == before


def test_viewers_cannot_use_the_wizard(client: FlaskClient, staff: dict[str, Any]) -> None:
    login(client, "viewer@example.com")
    for path in (START, "/contacts/import/mapping", "/contacts/import/options",
                 "/contacts/import/report"):
        assert client.get(path).status_code == 403, path
    assert client.post(START, data={"csrf_token": csrf_token(client, "/account/")}
                       ).status_code == 403
    anonymous = client.application.test_client()
    assert anonymous.get(START).status_code == 302  # to the sign-in page


def test_an_upload_belongs_to_its_session(app: Flask, client: FlaskClient,
                                          staff: dict[str, Any]) -> None:
    login(client, "editor@example.com")
    assert upload(client, csv_bytes([row("a@example.com")])).status_code == 302
    with client.session_transaction() as session:
        token = session["contact_import"]
    other = app.test_client()
    login(other, "admin@example.com")
    assert other.get("/contacts/import/mapping").status_code == 404
    with other.session_transaction() as session:
        session["contact_import"] = token  # even with the token, it is not theirs
    assert other.get("/contacts/import/mapping").status_code == 404
    with other.session_transaction() as session:
        session["contact_import"] = "../../secret_key"
    assert other.get("/contacts/import/mapping").status_code == 404
    # Cancelling deletes the file.
    response = client.post("/contacts/import/cancel",
                           data={"csrf_token": csrf_token(client, "/contacts/import/mapping")})
    assert response.status_code == 302
    assert not list(imports_folder(app).iterdir())


def test_leftover_uploads_are_removed_after_a_day(app: Flask, client: FlaskClient,
                                                  staff: dict[str, Any]) -> None:
    login(client, "editor@example.com")
    folder = imports_folder(app)
    folder.mkdir(parents=True, exist_ok=True)
    old, recent = folder / ("a" * 43 + ".csv"), folder / ("b" * 43 + ".csv")
    for path in (old, recent):
        path.write_text("email\nx@example.com\n")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old, (two_days_ago, two_days_ago))
    assert upload(client, csv_bytes([row("a@example.com")])).status_code == 302
    assert not old.exists() and recent.exists()
