"""Every field rule of a journalist, through POST and PATCH /api/v1/contacts."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import bearer

IDN = "журналист@пример.испытание"
IDN_PUNYCODE = "журналист@xn--e1afmkfd.xn--80akhbyknj4f"


def post(client: FlaskClient, staff: dict[str, Any], body: dict[str, Any]) -> Any:
    return client.post("/api/v1/contacts", json=body, headers=bearer(staff["editor"]["token"]))


@pytest.mark.parametrize(("field", "value", "stored"), [
    ("email", "Desk@Example.COM", "Desk@example.com"),
    ("email", IDN, IDN),
    ("email", IDN_PUNYCODE, IDN),
    ("language", "kk-Latn", "kk-Latn"),
    ("language", "EN-us", "en-US"),
    ("language", "pt_BR", "pt-BR"),
    ("language", "tg", "tg"),
    ("languages", ["tg", "ru", "en", "ru"], ["tg", "ru", "en"]),
    ("languages", ["kk-latn", "uz-Cyrl"], ["kk-Latn", "uz-Cyrl"]),
    ("timezone", "asia/almaty", "Asia/Almaty"),
    ("timezone", "Europe/Warsaw", "Europe/Warsaw"),
    ("country", "kz", "KZ"),
    ("tags", ["TV", " vip ", "tv", ""], ["tv", "vip"]),
    ("tags", "print; online", ["online", "print"]),
    ("first_name", "  Фарзона  ", "Фарзона"),
    ("last_name", "Ҷамшедов", "Ҷамшедов"),
    ("phone", "+992 (37) 221-00-00", "+992 (37) 221-00-00"),
    ("social", {"X": "@desk", "telegram": "@desk_tg"}, {"x": "@desk", "telegram": "@desk_tg"}),
    ("notes", "line one\r\nline two\twith tab", "line one\nline two\twith tab"),
    ("tracking", False, False),
])
def test_valid_values_are_stored_in_canonical_form(client: FlaskClient, staff: dict[str, Any],
                                                   field: str, value: Any, stored: Any) -> None:
    body = {"email": "desk@example.com", field: value}
    response = post(client, staff, body)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()[field] == stored


@pytest.mark.parametrize(("field", "value"), [
    ("email", "no-at-sign"),
    ("email", "two@@example.com"),
    ("email", "a@localhost"),
    ("email", "a@example..com"),
    ("email", ""),
    ("email", 42),
    ("language", "english"),
    ("language", "xx-yy-zz-1"),
    ("language", 7),
    ("languages", ["ru", "nope-nope-nope"]),
    ("languages", {"ru": 1}),
    ("languages", ["ru"] * 5 + ["en", "kk", "ky", "tg", "pl", "uz"]),
    ("timezone", "Mars/Olympus"),
    ("timezone", "UTC+5"),
    ("country", "XX"),
    ("country", "KAZ"),
    ("country", "Kazakhstan"),
    ("tags", ["ok", "bad\x01tag"]),
    ("tags", ["x" * 65]),
    ("tags", [f"t{i}" for i in range(51)]),
    ("tags", ["a;b"]),
    ("tags", [1, 2]),
    ("tags", {"tv": True}),
    ("first_name", "Anna\nIvanova"),
    ("last_name", "Tab\there"),
    ("outlet", "Bell\x07"),
    ("outlet", "x" * 201),
    ("beat", ["politics"]),
    ("notes", "NUL\x00char"),
    ("notes", "x" * 10_001),
    ("phone", "call me"),
    ("social", "@desk"),
    ("social", {"": "@desk"}),
    ("social", {"x": "line\nbreak"}),
    ("tracking", "yes"),
    ("list_ids", [999]),
    ("list_ids", "1"),
    ("shoe_size", 44),
])
def test_each_invalid_value_is_a_422_naming_the_field(client: FlaskClient, staff: dict[str, Any],
                                                      field: str, value: Any) -> None:
    body: dict[str, Any] = {"email": "desk@example.com", field: value}
    response = post(client, staff, body)
    assert response.status_code == 422, (field, value, response.get_json())
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {field}, error


def test_all_field_errors_come_at_once(client: FlaskClient, staff: dict[str, Any]) -> None:
    response = post(client, staff, {"email": "bad", "country": "XX", "language": "english",
                                    "timezone": "Nowhere/City", "tags": ["\x02"],
                                    "first_name": "a\rb", "list_ids": [5]})
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {
        "email", "country", "language", "timezone", "tags", "first_name", "list_ids"}


def test_email_is_required(client: FlaskClient, staff: dict[str, Any]) -> None:
    response = post(client, staff, {"first_name": "Anna"})
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["email"] == "required"


def test_empty_optional_codes_are_allowed(client: FlaskClient, staff: dict[str, Any]) -> None:
    response = post(client, staff, {"email": "desk@example.com", "country": "", "language": None,
                                    "timezone": " "})
    assert response.status_code == 201
    body = response.get_json()
    assert (body["country"], body["language"], body["timezone"]) == ("", "", "")


@pytest.mark.parametrize("duplicate", [
    IDN, IDN_PUNYCODE, "журналист@ПРИМЕР.ИСПЫТАНИЕ", "журналист@XN--E1AFMKFD.xn--80akhbyknj4f"])
def test_idn_address_is_one_contact_in_every_spelling(client: FlaskClient, staff: dict[str, Any],
                                                      duplicate: str) -> None:
    first = post(client, staff, {"email": IDN, "first_name": "Журналист"})
    assert first.status_code == 201
    assert first.get_json()["email"] == IDN
    again = post(client, staff, {"email": duplicate})
    assert again.status_code == 409
    error = again.get_json()["error"]
    assert error["code"] == "conflict"
    assert error["fields"] == {"email": "already exists"}


def test_domain_case_is_ignored_but_local_part_case_is_kept(client: FlaskClient,
                                                            staff: dict[str, Any]) -> None:
    assert post(client, staff, {"email": "Anna@Example.com"}).status_code == 201
    assert post(client, staff, {"email": "Anna@EXAMPLE.COM"}).status_code == 409
    # RFC 5321: the local part may be case-sensitive, so this is another mailbox.
    assert post(client, staff, {"email": "anna@example.com"}).status_code == 201


def test_patch_checks_the_same_rules(client: FlaskClient, staff: dict[str, Any]) -> None:
    contact = post(client, staff, {"email": "desk@example.com"}).get_json()
    headers = bearer(staff["editor"]["token"])
    response = client.patch(f"/api/v1/contacts/{contact['id']}",
                            json={"language": "klingon-x-y-z", "timezone": "Asia/Nowhere"},
                            headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"language", "timezone"}
    assert post(client, staff, {"email": "other@example.com"}).status_code == 201
    moved = client.patch(f"/api/v1/contacts/{contact['id']}",
                         json={"email": "OTHER@example.com"}, headers=headers)
    assert moved.status_code == 200  # another local part: another mailbox
    clash = client.patch(f"/api/v1/contacts/{contact['id']}",
                         json={"email": "other@EXAMPLE.com"}, headers=headers)
    assert clash.status_code == 409


def test_malformed_bodies_are_400(client: FlaskClient, staff: dict[str, Any]) -> None:
    headers = bearer(staff["editor"]["token"])
    assert client.post("/api/v1/contacts", data="{nope", headers={
        **headers, "Content-Type": "application/json"}).status_code == 400
    assert client.post("/api/v1/contacts", json=["a@example.com"],
                       headers=headers).status_code == 400
    assert client.post("/api/v1/contacts", data="email=a@example.com",
                       headers=headers).status_code == 400
