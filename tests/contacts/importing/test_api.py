"""POST /api/v1/contacts/import: encodings, delimiters, headers, every rule, duplicates, lists."""

from __future__ import annotations

import csv
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mailer.contacts import validation
from tests.contacts.factories import make_contact, make_list, suppress
from tests.contacts.importing.helpers import (
    HEADER,
    SHARED,
    contacts,
    counts,
    csv_bytes,
    errors_by_row,
    post_csv,
    row,
)

CYRILLIC = [row("anna@example.com", "Анна", "Иванова", "Радио Азаттык"),
            row("farzona@example.org", "Фарзона", "Рахимова", "Азия-Плюс", country="TJ",
                language="tg", timezone="Asia/Dushanbe")]


def imported(client: FlaskClient, staff: dict[str, Any], data: bytes, **form: str
             ) -> dict[str, Any]:
    response = post_csv(client, staff["editor"]["token"], data, **form)
    assert response.status_code == 200, response.get_data(as_text=True)
    report: dict[str, Any] = response.get_json()
    return report


@pytest.mark.parametrize(("encoding", "label", "delimiter"), [
    ("utf-8", "UTF-8", ","),
    ("utf-8-sig", "UTF-8 with byte-order mark", ";"),
    ("utf-16-le", "UTF-16 LE", "\t"),
    ("utf-16-be", "UTF-16 BE", ","),
    ("cp1251", "Windows-1251", ";"),
])
def test_each_encoding_with_cyrillic_names(app: Flask, client: FlaskClient, staff: dict[str, Any],
                                           encoding: str, label: str, delimiter: str) -> None:
    report = imported(client, staff, csv_bytes(CYRILLIC, delimiter=delimiter, encoding=encoding))
    assert report["created"] == 2, report
    assert report["errors"] == []
    assert report["file"]["encoding"] == label
    stored = contacts(app)
    assert stored["anna@example.com"]["first_name"] == "Анна"
    assert stored["anna@example.com"]["outlet"] == "Радио Азаттык"
    assert stored["farzona@example.org"]["last_name"] == "Рахимова"
    assert stored["farzona@example.org"]["language"] == "tg"
    assert stored["anna@example.com"]["tags"] == ["print", "tv"]
    assert stored["anna@example.com"]["source"] == "import"
    assert stored["anna@example.com"]["source_detail"] == "contacts.csv"


@pytest.mark.parametrize(("delimiter", "name"), [(",", "comma"), (";", "semicolon"),
                                                 ("\t", "tab")])
def test_each_delimiter(app: Flask, client: FlaskClient, staff: dict[str, Any], delimiter: str,
                        name: str) -> None:
    rows = [row("a@example.com", outlet="Daily, Weekly; \"Monthly\""), row("b@example.com")]
    report = imported(client, staff, csv_bytes(rows, delimiter=delimiter))
    assert (report["created"], report["file"]["delimiter"]) == (2, name)
    assert contacts(app)["a@example.com"]["outlet"] == "Daily, Weekly; \"Monthly\""


def test_header_in_any_case_and_order_with_aliases(app: Flask, client: FlaskClient,
                                                   staff: dict[str, Any]) -> None:
    header = ["Tags", "LAST NAME", "E-Mail", "Favourite colour", "first name", "Язык",
              "Time Zone", "COUNTRY", "Outlet"]
    rows = [["wire", "Петров", "Desk@Example.COM", "blue", "Пётр", "RU", "europe/moscow", "ru",
             "ТАСС"]]
    report = imported(client, staff, csv_bytes(rows, header=header))
    assert report["created"] == 1, report
    assert report["file"]["ignored_columns"] == ["Favourite colour"]
    stored = contacts(app)["Desk@example.com"]
    assert (stored["first_name"], stored["last_name"], stored["outlet"]) == ("Пётр", "Петров",
                                                                             "ТАСС")
    assert (stored["language"], stored["timezone"], stored["country"]) == (
        "ru", "Europe/Moscow", "RU")
    assert stored["tags"] == ["wire"]


def test_every_rule_is_reported_by_row_and_field(app: Flask, client: FlaskClient,
                                                 staff: dict[str, Any]) -> None:
    header = [*HEADER, "phone", "tracking", "languages", "role"]

    def wide(email: str, phone: str = "", tracking: str = "", languages: str = "",
             role: str = "", **fields: str) -> list[str]:
        return [*row(email, **fields), phone, tracking, languages, role]

    rows = [
        wide("good@example.com"),                                            # row 2
        wide("no-at-sign"),                                                  # row 3
        wide(""),                                                            # row 4
        wide("c@example.com", language="xx-bogus-tag-123456789"),            # row 5
        wide("d@example.com", timezone="Mars/Olympus"),                      # row 6
        wide("e@example.com", country="XX"),                                 # row 7
        wide("f@example.com", first="two\nlines"),                           # row 8
        wide("g@example.com", outlet="x" * 201),                             # row 9
        wide("h@example.com", tags="ok;" + "t" * 65),                        # row 10
        wide("i@example.com", phone="call me"),                              # row 11
        wide("j@example.com", tracking="maybe"),                             # row 12
        wide("k@example.com", languages="en;zz-!!"),                         # row 13
        [*wide("l@example.com"), "extra"],                                   # row 14
        wide("m@example.com", country="KZZ", language="!!"),                 # row 15
        [],                                                                  # row 16 (blank)
        wide("n@example.com", phone="+7 (701) 123-45-67", tracking="no",     # row 17
             languages="kk-Latn ru", role="Editor"),
    ]
    report = imported(client, staff, csv_bytes(rows, header=header))
    errors = errors_by_row(report)
    assert set(errors[3]) == {"email"} and "@-sign" in errors[3]["email"]
    assert errors[4] == {"email": "required"}
    assert set(errors[5]) == {"language"} and "BCP 47" in errors[5]["language"]
    assert set(errors[6]) == {"timezone"} and "IANA" in errors[6]["timezone"]
    assert set(errors[7]) == {"country"} and "ISO 3166" in errors[7]["country"]
    assert set(errors[8]) == {"first_name"} and "line breaks" in errors[8]["first_name"]
    assert set(errors[9]) == {"outlet"} and "200" in errors[9]["outlet"]
    assert set(errors[10]) == {"tags"}
    assert set(errors[11]) == {"phone"}
    assert set(errors[12]) == {"tracking"}
    assert set(errors[13]) == {"languages"}
    assert set(errors[14]) == {""} and "header has 13 columns" in errors[14][""]
    assert set(errors[15]) == {"country", "language"}  # every problem of a row, not the first
    assert set(errors) == {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
    assert report["rejected"] == 13
    assert report["created"] == 2  # the valid rows are imported anyway
    assert report["rows"] == 15  # the blank row is not a contact but keeps its number
    stored = contacts(app)
    assert set(stored) == {"good@example.com", "n@example.com"}
    assert stored["n@example.com"]["phone"] == "+7 (701) 123-45-67"
    assert stored["n@example.com"]["tracking"] is False
    assert stored["n@example.com"]["languages"] == ["kk-Latn", "ru"]
    assert stored["n@example.com"]["role"] == "Editor"


def test_row_numbers_follow_the_spreadsheet_not_the_lines(client: FlaskClient,
                                                          staff: dict[str, Any]) -> None:
    text = ("email,first_name\r\n"
            'a@example.com,"two\r\nline\r\nname"\r\n'  # row 2, over three lines of the file
            "\r\n"                                          # row 3, blank
            "bad-address,Bob\r\n")                         # row 4
    report = imported(client, staff, text.encode())
    assert errors_by_row(report).keys() == {2, 4}
    assert set(errors_by_row(report)[2]) == {"first_name"}


def test_duplicates_in_the_file_later_ones_reported(app: Flask, client: FlaskClient,
                                                    staff: dict[str, Any],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from mailer.contacts.importing import service

    monkeypatch.setattr(service, "CHUNK_ROWS", 2)  # duplicates across chunks too
    rows = [row("desk@example.com", first="First"),        # row 2
            row("desk@EXAMPLE.com", first="Second"),       # row 3: same key (domain case)
            row("other@example.com"),                      # row 4
            row("журналист@пример.испытание"),             # row 5
            row("x@example.org"),                          # row 6
            row("журналист@xn--e1afmkfd.xn--80akhbyknj4f"),  # row 7: same IDN address
            row("desk@example.com", first="Third")]        # row 8: in a later chunk
    report = imported(client, staff, csv_bytes(rows))
    assert (report["created"], report["duplicates"]) == (4, 3)
    assert errors_by_row(report) == {3: {"email": "duplicate of row 2: skipped"},
                                     7: {"email": "duplicate of row 5: skipped"},
                                     8: {"email": "duplicate of row 2: skipped"}}
    stored = contacts(app)
    assert stored["desk@example.com"]["first_name"] == "First"  # the first row wins
    assert "журналист@пример.испытание" in stored
    assert stored["журналист@пример.испытание"]["email_key"] == \
        "журналист@xn--e1afmkfd.xn--80akhbyknj4f"


def test_existing_contacts_are_skipped_unless_update_existing(app: Flask, client: FlaskClient,
                                                              staff: dict[str, Any]) -> None:
    make_contact(app, "desk@example.com", first_name="Old", outlet="Old Outlet",
                 language="en", tags=["keep"])
    rows = [row("desk@Example.COM", first="New", outlet="", language="kk", tags="fresh"),
            row("new@example.com")]
    before = counts(app)

    report = imported(client, staff, csv_bytes(rows))
    assert (report["created"], report["updated"], report["skipped"]) == (1, 0, 1)
    stored = contacts(app)["desk@example.com"]
    assert (stored["first_name"], stored["language"], stored["tags"]) == ("Old", "en", ["keep"])
    assert counts(app)["contacts"] == before["contacts"] + 1

    report = imported(client, staff, csv_bytes(rows), update_existing="true")
    assert (report["created"], report["updated"], report["skipped"]) == (0, 2, 0)
    stored = contacts(app)["desk@example.com"]
    assert stored["first_name"] == "New"
    assert stored["outlet"] == "Old Outlet"  # an empty cell never erases
    assert stored["language"] == "kk"
    assert stored["tags"] == ["fresh", "keep"]  # tags are added
    assert stored["updated_at"] >= stored["created_at"]
    if "search_text" in stored:  # the derived search column follows the new name
        assert "new" in stored["search_text"] and "old outlet" in stored["search_text"]
    assert stored["source"] != "import"  # where it came from does not change


def test_formula_looking_cells_are_stored_as_text(app: Flask, client: FlaskClient,
                                                  staff: dict[str, Any]) -> None:
    rows = [row("f@example.com", first="=HYPERLINK(\"http://evil.example\")", last="+7",
                outlet="@SUM(A1:A9)", beat="-2+3")]
    report = imported(client, staff, csv_bytes(rows))
    assert report["created"] == 1, report
    stored = contacts(app)["f@example.com"]
    assert stored["first_name"] == '=HYPERLINK("http://evil.example")'
    assert (stored["last_name"], stored["outlet"], stored["beat"]) == ("+7", "@SUM(A1:A9)",
                                                                       "-2+3")


def test_suppressed_addresses_are_imported_and_stay_suppressed(app: Flask, client: FlaskClient,
                                                               staff: dict[str, Any]) -> None:
    from mailer.contacts.models import Suppression
    from mailer.db import db

    suppress(app, "gone@example.com", "unsubscribed")
    rows = [row("gone@EXAMPLE.com"), row("here@example.com")]
    report = imported(client, staff, csv_bytes(rows))
    assert (report["created"], report["suppressed"]) == (2, 1)
    report = imported(client, staff, csv_bytes(rows), update_existing="1")
    assert (report["updated"], report["suppressed"]) == (2, 1)
    with app.app_context():
        kept = db.session.scalars(db.select(Suppression)).all()
        assert [s.email_hash for s in kept] == [validation.email_hash("gone@example.com")]
        assert kept[0].reason == "unsubscribed"


def test_import_into_a_list(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    existing = make_contact(app, "old@example.com")
    list_id = make_list(app, "Central Asia desk")
    rows = [row("old@example.com"), row("new@example.com"), row("bad")]
    report = imported(client, staff, csv_bytes(rows), list_id=str(list_id))
    assert (report["created"], report["skipped"], report["list_id"]) == (1, 1, list_id)
    stored = contacts(app)
    assert stored["old@example.com"]["lists"] == [list_id]  # skipped contacts join the list too
    assert stored["new@example.com"]["lists"] == [list_id]
    assert stored["old@example.com"]["id"] == existing
    again = imported(client, staff, csv_bytes(rows), list_id=str(list_id))
    assert again["skipped"] == 2
    assert counts(app)["list_members"] == 2


@pytest.mark.parametrize("list_id", ["999", "abc", "-1"])
def test_a_bad_list_id_is_422_and_writes_nothing(app: Flask, client: FlaskClient,
                                                 staff: dict[str, Any], list_id: str) -> None:
    before = counts(app)
    response = post_csv(client, staff["editor"]["token"], csv_bytes([row("a@example.com")]),
                        list_id=list_id)
    assert response.status_code == 422
    assert "list_id" in response.get_json()["error"]["fields"]
    assert counts(app) == before


REFUSED = {
    "empty": (b"", 400, "empty"),
    "blank": (b" \r\n\r\n  \r\n", 400, "empty"),
    "bom only": (b"\xef\xbb\xbf", 400, "empty"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, 400, "not a CSV file"),
    "xlsx": (b"PK\x03\x04" + b"\x00" * 200, 400, "not a CSV file"),
    "binary": (b"email\n" + bytes(range(256)) * 8, 400, "not a CSV file"),
    "no email column": (b"name,outlet\nAnna,Daily\n", 400, "no email column"),
    "no header row": (b"anna@example.com,Anna\nbob@example.com,Bob\n", 400, "no email column"),
    "header only": (b"email,first_name\r\n", 422, "no rows"),
    "bad BOM": (b"\xef\xbb\xbfemail\n\xff\xfe\xfa\n", 400, "not a CSV file"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_files_write_nothing(app: Flask, client: FlaskClient, staff: dict[str, Any],
                                     case: str) -> None:
    data, status, reason = REFUSED[case]
    before = counts(app)
    response = post_csv(client, staff["editor"]["token"], data, list_id="")
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["fields"]["file"] == reason
    assert error["message"]
    assert counts(app) == before


def test_an_oversize_file_is_413_and_writes_nothing(app: Flask, client: FlaskClient,
                                                    staff: dict[str, Any]) -> None:
    app.config["MAILER_IMPORT_MAX_BYTES"] = 2000
    data = csv_bytes([row(f"person{i}@example.com") for i in range(40)])
    assert len(data) > 2000
    before = counts(app)
    response = post_csv(client, staff["editor"]["token"], data)
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"
    assert counts(app) == before
    assert post_csv(client, staff["editor"]["token"], data[:1500].rsplit(b"\r\n", 1)[0]
                    ).status_code == 200


def test_a_missing_file_is_400(client: FlaskClient, staff: dict[str, Any]) -> None:
    response = client.post("/api/v1/contacts/import", data={"list_id": "1"},
                           headers={"Authorization": f"Bearer {staff['editor']['token']}"})
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"file": "required"}
    response = post_csv(client, staff["editor"]["token"], csv_bytes([row("a@example.com")]),
                        update_existing="perhaps")
    assert response.status_code == 422


def test_roles_viewer_cannot_import(app: Flask, client: FlaskClient,
                                    staff: dict[str, Any]) -> None:
    data = csv_bytes([row("a@example.com")])
    assert post_csv(client, staff["viewer"]["token"], data).status_code == 403
    assert client.post("/api/v1/contacts/import").status_code == 401
    assert counts(app)["contacts"] == 0
    assert post_csv(client, staff["admin"]["token"], data).status_code == 200


def test_the_errors_list_is_capped_with_a_total(client: FlaskClient, staff: dict[str, Any],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from mailer.contacts.importing import report as report_module

    monkeypatch.setattr(report_module, "MAX_REPORTED_ERRORS", 5)
    rows = [row(f"bad-{i}") for i in range(12)] + [row("ok@example.com")]
    result = imported(client, staff, csv_bytes(rows))
    assert (result["rejected"], result["errors_total"], len(result["errors"])) == (12, 12, 5)
    assert result["errors_truncated"] is True
    assert [e["row"] for e in result["errors"]] == [2, 3, 4, 5, 6]


def test_the_shared_fixture_imports(app: Flask, client: FlaskClient,
                                    staff: dict[str, Any]) -> None:
    path = SHARED / "fixtures" / "journalists.csv"
    if not path.exists():
        pytest.skip(f"{path} is not there")
    with path.open(encoding="utf-8", newline="") as handle:
        expected = sum(1 for _ in csv.DictReader(handle))
    report = imported(client, staff, path.read_bytes())
    assert report["rows"] == expected
    assert report["created"] + report["rejected"] + report["duplicates"] == expected
    assert report["created"] >= expected * 0.7
    # What the field rules refuse there is the address alone (e.g. reserved test domains).
    assert {error["field"] for error in report["errors"]} <= {"email"}
    assert counts(app)["contacts"] == report["created"]


def test_a_crash_mid_file_keeps_whole_chunks_only(app: Flask, client: FlaskClient,
                                                  staff: dict[str, Any],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from sqlalchemy.exc import OperationalError

    from mailer.contacts.importing import service

    monkeypatch.setattr(service, "CHUNK_ROWS", 3)
    original = service._Writer._write
    calls: list[int] = []

    def failing_second_chunk(self: Any, chunk: Any, counts: Any) -> Any:
        result = original(self, chunk, counts)  # everything written, then the database fails
        calls.append(1)
        if len(calls) == 2:
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return result

    monkeypatch.setattr(service._Writer, "_write", failing_second_chunk)
    list_id = make_list(app, "Desk")
    rows = [row(f"p{i}@example.com", tags="a;b") for i in range(8)]
    response = post_csv(client, staff["editor"]["token"], csv_bytes(rows), list_id=str(list_id))
    assert response.status_code == 500
    after = counts(app)
    assert (after["contacts"], after["contact_tags"], after["list_members"]) == (3, 6, 3)
    assert set(contacts(app)) == {"p0@example.com", "p1@example.com", "p2@example.com"}

    monkeypatch.setattr(service._Writer, "_write", original)
    report = imported(client, staff, csv_bytes(rows), list_id=str(list_id))
    assert (report["created"], report["skipped"]) == (5, 3)  # a rerun completes the file
    assert counts(app)["list_members"] == 8


def test_an_address_created_meanwhile_is_skipped_not_an_error(
        app: Flask, client: FlaskClient, staff: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Another session inserts an address between the chunk's lookup and its insert."""
    from mailer.contacts.importing import pgcopy, store

    make_contact(app, "taken@example.com", first_name="Theirs")
    for cls in (store.ContactStore, pgcopy.PostgresContactStore):
        def blind(self: Any, rows: Any, original: Any = cls.lookup) -> Any:
            found = original(self, rows)
            found.existing.clear()  # as if the lookup ran before the other session's insert
            return found

        monkeypatch.setattr(cls, "lookup", blind)
    list_id = make_list(app, "Desk")
    rows = [row("fresh@example.com", tags="a"), row("taken@example.com", first="Ours", tags="b")]
    report = imported(client, staff, csv_bytes(rows), list_id=str(list_id))
    assert (report["created"], report["skipped"], report["errors"]) == (1, 1, [])
    stored = contacts(app)
    assert stored["taken@example.com"]["first_name"] == "Theirs"
    assert stored["taken@example.com"]["tags"] == []
    assert stored["taken@example.com"]["lists"] == stored["fresh@example.com"]["lists"] == [
        list_id]
    assert stored["fresh@example.com"]["tags"] == ["a"]
