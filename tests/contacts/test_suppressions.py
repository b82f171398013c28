"""The suppression list: /api/v1/suppressions, idempotent adds, admin-only removal, by hash."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import bearer
from tests.contacts.factories import make_contact


def test_add_list_and_remove(client: FlaskClient, staff: dict[str, Any]) -> None:
    editor = bearer(staff["editor"]["token"])
    created = client.post("/api/v1/suppressions", json={"email": "Desk@Example.COM",
                                                        "reason": "hard_bounce",
                                                        "detail": "550 5.1.1 no such user"},
                          headers=editor)
    assert created.status_code == 201
    entry = created.get_json()
    assert (entry["email"], entry["reason"], entry["erased"]) == ("Desk@example.com",
                                                                  "hard_bounce", False)
    assert entry["created_at"].endswith("+00:00")
    listing = client.get("/api/v1/suppressions", headers=bearer(staff["viewer"]["token"]))
    assert listing.get_json()["total"] == 1
    assert listing.get_json()["items"][0]["detail"] == "550 5.1.1 no such user"
    filtered = client.get("/api/v1/suppressions?reason=complaint", headers=editor).get_json()
    assert filtered["total"] == 0
    found = client.get("/api/v1/suppressions?q=desk@", headers=editor).get_json()
    assert found["total"] == 1
    admin = bearer(staff["admin"]["token"])
    assert client.delete("/api/v1/suppressions/Desk@EXAMPLE.com", headers=admin).status_code \
        == 204
    assert client.delete("/api/v1/suppressions/Desk@example.com", headers=admin).status_code \
        == 404
    assert client.get("/api/v1/suppressions", headers=admin).get_json()["total"] == 0


def test_adding_again_keeps_the_first_reason_unless_replaced(client: FlaskClient,
                                                             staff: dict[str, Any]) -> None:
    headers = bearer(staff["editor"]["token"])
    first = client.post("/api/v1/suppressions", json={"email": "a@example.com",
                                                      "reason": "hard_bounce"}, headers=headers)
    again = client.post("/api/v1/suppressions", json={"email": "a@EXAMPLE.com",
                                                      "reason": "manual"}, headers=headers)
    assert again.status_code == 200
    assert again.get_json()["reason"] == "hard_bounce"
    assert again.get_json()["created_at"] == first.get_json()["created_at"]
    replaced = client.post("/api/v1/suppressions", json={"email": "a@example.com",
                                                         "reason": "complaint",
                                                         "replace": True}, headers=headers)
    assert replaced.status_code == 200 and replaced.get_json()["reason"] == "complaint"
    assert client.get("/api/v1/suppressions", headers=headers).get_json()["total"] == 1


def test_reason_defaults_to_manual(client: FlaskClient, staff: dict[str, Any]) -> None:
    response = client.post("/api/v1/suppressions", json={"email": "a@example.com"},
                           headers=bearer(staff["editor"]["token"]))
    assert response.status_code == 201 and response.get_json()["reason"] == "manual"


@pytest.mark.parametrize(("body", "fields"), [
    ({"email": "nope", "reason": "manual"}, {"email"}),
    ({"email": "a@example.com", "reason": "spite"}, {"reason"}),
    ({"email": "a@example.com", "reason": "erased"}, {"reason"}),
    ({"email": "a@example.com", "detail": "bell\x07"}, {"detail"}),
    ({"email": "a@example.com", "replace": "yes"}, {"replace"}),
    ({"reason": "manual"}, {"email"}),
])
def test_invalid_suppressions_are_422(client: FlaskClient, staff: dict[str, Any],
                                      body: dict[str, Any], fields: set[str]) -> None:
    response = client.post("/api/v1/suppressions", json=body,
                           headers=bearer(staff["editor"]["token"]))
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == fields


def test_only_admins_remove(client: FlaskClient, staff: dict[str, Any]) -> None:
    client.post("/api/v1/suppressions", json={"email": "a@example.com"},
                headers=bearer(staff["editor"]["token"]))
    for role in ("viewer", "editor"):
        response = client.delete("/api/v1/suppressions/a@example.com",
                                 headers=bearer(staff[role]["token"]))
        assert response.status_code == 403, role
        assert response.get_json()["error"]["code"] == "forbidden"
    assert client.post("/api/v1/suppressions", json={"email": "b@example.com"},
                       headers=bearer(staff["viewer"]["token"])).status_code == 403
    assert client.delete("/api/v1/suppressions/a@example.com",
                         headers=bearer(staff["admin"]["token"])).status_code == 204


def test_idn_addresses_in_the_path(client: FlaskClient, staff: dict[str, Any]) -> None:
    client.post("/api/v1/suppressions", json={"email": "журналист@пример.испытание"},
                headers=bearer(staff["editor"]["token"]))
    punycode = quote("журналист@xn--e1afmkfd.xn--80akhbyknj4f")
    assert client.delete(f"/api/v1/suppressions/{punycode}",
                         headers=bearer(staff["admin"]["token"])).status_code == 204


def test_is_suppressed_follows_the_address_not_the_contact(app: Flask) -> None:
    from mailer.contacts import service, suppressions

    contact_id = make_contact(app, "Anna@Пример.испытание")
    with app.app_context():
        assert not suppressions.is_suppressed("Anna@пример.испытание")
        suppressions.suppress("Anna@xn--e1afmkfd.xn--80akhbyknj4f", "unsubscribed")
        assert suppressions.is_suppressed("Anna@ПРИМЕР.испытание")
        assert not suppressions.is_suppressed("anna@пример.испытание")  # another mailbox
        assert service.get_contact_view(contact_id).suppressed
        service.delete_contact(contact_id)
        assert suppressions.is_suppressed("Anna@пример.испытание")
        again = service.create_contact({"email": "Anna@пример.испытание"})
        assert service.get_contact_view(again.id).suppressed
