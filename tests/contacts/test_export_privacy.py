"""CSV export (spreadsheet-safe, UTF-8 with BOM, streamed) and the privacy endpoints."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import bearer
from tests.contacts.factories import make_contact, make_list, suppress

IMPORT_COLUMNS = ["email", "first_name", "last_name", "outlet", "beat", "country", "language",
                  "timezone", "tags"]


def _export(client: FlaskClient, staff: dict[str, Any], query: str = "") -> Any:
    response = client.get(f"/api/v1/contacts/export{query}",
                          headers=bearer(staff["viewer"]["token"]))
    assert response.status_code == 200
    return response


def _rows(response: Any) -> list[dict[str, str]]:
    text = response.get_data().decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


def test_export_shape(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    contact = make_contact(app, "farzona@example.com", first_name="Фарзона",
                           last_name="Раҳимова", outlet="Азия-Плюс", beat="права человека",
                           country="TJ", language="tg", timezone="Asia/Dushanbe",
                           tags=["vip", "print"], languages=["tg", "ru"], tracking=False,
                           social={"telegram": "@farzona"}, notes="Две\nстроки")
    make_list(app, "Душанбе", members=(contact,))
    response = _export(client, staff)
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith('.csv"')
    assert response.is_streamed
    assert response.get_data().startswith(b"\xef\xbb\xbf")
    header = response.get_data().decode("utf-8")[1:].splitlines()[0]
    assert header.replace('"', "").split(",")[:9] == IMPORT_COLUMNS
    [row] = _rows(response)
    assert row["first_name"] == "Фарзона" and row["last_name"] == "Раҳимова"
    assert row["outlet"] == "Азия-Плюс" and row["beat"] == "права человека"
    assert row["tags"] == "print;vip"
    assert row["languages"] == "tg;ru"
    assert row["tracking"] == "false" and row["status"] == "active"
    assert row["lists"] == "Душанбе"
    assert row["social"] == "telegram: @farzona"
    assert row["notes"] == "Две\nстроки"


@pytest.mark.parametrize("value", ["=1+1", "+7 701 000 00 00", "-2+3", "@SUM(A1:A2)",
                                   "=HYPERLINK(\"http://evil.example\",\"x\")"])
def test_formula_cells_are_neutralised(app: Flask, client: FlaskClient, staff: dict[str, Any],
                                       value: str) -> None:
    make_contact(app, "a@example.com", outlet=value, notes=value)
    [row] = _rows(_export(client, staff))
    assert row["outlet"] == "'" + value
    assert row["notes"] == "'" + value


def test_tab_and_carriage_return_starts_are_neutralised(app: Flask) -> None:
    from mailer.contacts.export import neutralise

    assert neutralise("\tcmd") == "'\tcmd"
    assert neutralise("\rcmd") == "'\rcmd"
    assert neutralise("plain") == "plain"
    assert neutralise("a=b") == "a=b"
    assert neutralise(None) == ""


def test_every_cell_is_quoted(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    make_contact(app, "a@example.com", first_name='Quote "me"')
    lines = _export(client, staff).get_data().decode("utf-8")[1:].splitlines()
    quoted_cells = re.compile(r'^"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*$')
    assert all(quoted_cells.match(line) for line in lines)
    assert '"Quote ""me"""' in lines[1]


def test_export_filters_by_list_and_status(app: Flask, client: FlaskClient,
                                           staff: dict[str, Any]) -> None:
    a = make_contact(app, "a@example.com")
    make_contact(app, "b@example.com")
    listed = make_list(app, "Wire desk", members=(a,))
    suppress(app, "b@example.com")
    response = _export(client, staff, f"?list_id={listed}")
    assert [r["email"] for r in _rows(response)] == ["a@example.com"]
    assert "wire-desk" in response.headers["Content-Disposition"]
    assert [r["email"] for r in _rows(_export(client, staff, "?status=suppressed"))] == \
        ["b@example.com"]
    assert client.get("/api/v1/contacts/export?list_id=999",
                      headers=bearer(staff["viewer"]["token"])).status_code == 404


def test_export_of_many_rows_spans_batches(app: Flask, client: FlaskClient,
                                           staff: dict[str, Any]) -> None:
    from sqlalchemy import insert

    from mailer.contacts import export
    from mailer.contacts.models import Contact, ContactTag
    from mailer.db import db

    count = export.BATCH * 2 + 7
    with app.app_context():
        db.session.execute(insert(Contact), [
            {"email": f"c{i}@example.com", "email_key": f"c{i}@example.com",
             "first_name": f"Имя{i}"} for i in range(count)])
        db.session.execute(insert(ContactTag), [{"contact_id": i, "tag": "tv"}
                                                for i in range(1, count + 1)])
        db.session.commit()
    rows = _rows(_export(client, staff))
    assert len(rows) == count
    assert {r["tags"] for r in rows} == {"tv"}
    assert rows[-1]["first_name"] == f"Имя{count - 1}"


def test_personal_data(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    contact = make_contact(app, "anna@example.com", first_name="Анна", tags=["tv"],
                           notes="Met at the forum")
    make_list(app, "Forum", members=(contact,))
    suppress(app, "anna@example.com", "unsubscribed")
    response = client.get(f"/api/v1/contacts/{contact}/data",
                          headers=bearer(staff["viewer"]["token"]))
    assert response.status_code == 200
    data = response.get_json()
    assert data["contact"]["first_name"] == "Анна" and data["contact"]["tags"] == ["tv"]
    assert data["contact"]["notes"] == "Met at the forum"
    assert [entry["name"] for entry in data["lists"]] == ["Forum"]
    assert data["suppression"]["reason"] == "unsubscribed"
    assert data["exported_at"].endswith("+00:00")


def test_erase_keeps_only_the_hash(app: Flask, client: FlaskClient,
                                   staff: dict[str, Any]) -> None:
    from sqlalchemy import select

    from mailer.contacts import suppressions
    from mailer.contacts.models import Contact, ContactTag, ListMember, Suppression
    from mailer.contacts.validation import email_hash
    from mailer.db import db

    contact = make_contact(app, "Erase.Me@Пример.испытание", first_name="Анна", tags=["tv"])
    listed = make_list(app, members=(contact,))
    suppress(app, "Erase.Me@пример.испытание", "complaint")
    for role in ("viewer", "editor"):
        assert client.post(f"/api/v1/contacts/{contact}/erase",
                           headers=bearer(staff[role]["token"])).status_code == 403
    admin = bearer(staff["admin"]["token"])
    assert client.post(f"/api/v1/contacts/{contact}/erase", headers=admin).status_code == 204
    assert client.get(f"/api/v1/contacts/{contact}", headers=admin).status_code == 404
    with app.app_context():
        assert db.session.scalars(select(ContactTag)).all() == []
        assert db.session.scalars(select(ListMember).where(ListMember.list_id == listed)).all() \
            == []
        [entry] = db.session.scalars(select(Suppression)).all()
        assert (entry.email, entry.reason, entry.detail) == ("", "erased", "")
        assert entry.email_hash == email_hash("Erase.Me@xn--e1afmkfd.xn--80akhbyknj4f")
        stored = " ".join(str(v) for v in db.session.execute(select(Suppression)).one())
        assert "Erase.Me" not in stored
        assert suppressions.is_suppressed("Erase.Me@ПРИМЕР.испытание")
        assert db.session.scalars(select(Contact)).all() == []
    listing = client.get("/api/v1/suppressions", headers=admin).get_json()["items"]
    assert listing[0]["email"] == "" and listing[0]["erased"] is True
    # Adding the address again keeps the erased entry as it is: no address in clear.
    client.post("/api/v1/suppressions", json={"email": "Erase.Me@пример.испытание",
                                              "reason": "manual", "replace": True},
                headers=admin)
    listing = client.get("/api/v1/suppressions", headers=admin).get_json()["items"]
    assert listing[0]["email"] == "" and listing[0]["reason"] == "erased"
    # Re-created later, the journalist is suppressed from the start.
    again = client.post("/api/v1/contacts", json={"email": "Erase.Me@пример.испытание"},
                        headers=admin)
    assert again.status_code == 201 and again.get_json()["status"] == "suppressed"
