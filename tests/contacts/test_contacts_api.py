"""Contacts through /api/v1/contacts: create, read, partial update, delete, filters, paging."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import bearer
from tests.contacts.factories import make_contact, make_list, suppress

FULL = {
    "email": "farzona@asia-plus.example.com", "first_name": "Фарзона", "last_name": "Раҳимова",
    "outlet": "Asia-Plus", "beat": "human rights", "country": "TJ", "language": "tg",
    "timezone": "Asia/Dushanbe", "tags": ["vip", "print"], "role": "editor",
    "languages": ["tg", "ru", "en"], "phone": "+992 900 00 00 00",
    "social": {"telegram": "@farzona"}, "notes": "Prefers Tajik.", "tracking": False,
}


def test_create_returns_the_full_contact(app: Flask, client: FlaskClient,
                                         staff: dict[str, Any]) -> None:
    list_id = make_list(app)
    response = client.post("/api/v1/contacts", json={**FULL, "list_ids": [list_id]},
                           headers=bearer(staff["editor"]["token"]))
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/contacts/{body['id']}")
    for name, value in FULL.items():
        expected = sorted(value) if name == "tags" else value
        assert body[name] == expected, name
    assert body["source"] == "api"
    assert body["status"] == "active"
    assert body["lists"] == [list_id]
    for stamp in ("created_at", "updated_at"):
        parsed = datetime.fromisoformat(body[stamp])
        assert parsed.utcoffset() is not None, "times carry an offset"
    shown = client.get(f"/api/v1/contacts/{body['id']}", headers=bearer(staff["viewer"]["token"]))
    assert shown.get_json() == body


def test_patch_is_partial_and_moves_updated_at(app: Flask, client: FlaskClient,
                                               staff: dict[str, Any]) -> None:
    headers = bearer(staff["editor"]["token"])
    created = client.post("/api/v1/contacts", json=FULL, headers=headers).get_json()
    response = client.patch(f"/api/v1/contacts/{created['id']}", json={"tags": ["radio"]},
                            headers=headers)
    assert response.status_code == 200
    body = response.get_json()
    assert body["tags"] == ["radio"]
    assert body["first_name"] == "Фарзона" and body["languages"] == ["tg", "ru", "en"]
    assert body["updated_at"] > created["updated_at"]
    assert body["created_at"] == created["created_at"]
    # A GET → PATCH round trip works: read-only fields are accepted and ignored.
    round_trip = client.patch(f"/api/v1/contacts/{created['id']}",
                              json={**body, "outlet": "Asia-Plus Online", "source": "ui"},
                              headers=headers)
    assert round_trip.status_code == 200
    assert round_trip.get_json()["outlet"] == "Asia-Plus Online"
    assert round_trip.get_json()["source"] == "api"


def test_patch_refuses_list_changes(client: FlaskClient, staff: dict[str, Any]) -> None:
    headers = bearer(staff["editor"]["token"])
    created = client.post("/api/v1/contacts", json=FULL, headers=headers).get_json()
    response = client.patch(f"/api/v1/contacts/{created['id']}", json={"list_ids": []},
                            headers=headers)
    assert response.status_code == 422
    assert "list_ids" in response.get_json()["error"]["fields"]


def test_unknown_ids_are_404(client: FlaskClient, staff: dict[str, Any]) -> None:
    headers = bearer(staff["admin"]["token"])
    assert client.get("/api/v1/contacts/999", headers=headers).status_code == 404
    assert client.patch("/api/v1/contacts/999", json={}, headers=headers).status_code == 404
    assert client.delete("/api/v1/contacts/999", headers=headers).status_code == 404
    assert client.get("/api/v1/contacts/999/data", headers=headers).status_code == 404
    assert client.post("/api/v1/contacts/999/erase", headers=headers).status_code == 404
    error = client.get("/api/v1/contacts/999", headers=headers).get_json()["error"]
    assert error["code"] == "not_found"


def test_delete_keeps_the_suppression(app: Flask, client: FlaskClient,
                                      staff: dict[str, Any]) -> None:
    contact_id = make_contact(app, "gone@example.com")
    make_list(app, "Wire", members=(contact_id,))
    suppress(app, "gone@example.com", "hard_bounce")
    headers = bearer(staff["editor"]["token"])
    assert client.delete(f"/api/v1/contacts/{contact_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/contacts/{contact_id}", headers=headers).status_code == 404
    again = client.post("/api/v1/contacts", json={"email": "gone@EXAMPLE.com"},
                        headers=headers)
    assert again.status_code == 201
    assert again.get_json()["status"] == "suppressed"
    assert again.get_json()["lists"] == []


def _emails(client: FlaskClient, staff: dict[str, Any], query: str) -> list[str]:
    response = client.get(f"/api/v1/contacts?{query}", headers=bearer(staff["viewer"]["token"]))
    assert response.status_code == 200, response.get_json()
    return [item["email"] for item in response.get_json()["items"]]


def test_filters(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    anna = make_contact(app, "anna@wire.example.com", first_name="Анна", last_name="Иванова",
                        outlet="Steppe Wire", language="ru", country="KZ", tags=["tv"])
    make_contact(app, "nurlan@example.org", first_name="Нұрлан", outlet="Daily Example",
                 language="kk-Latn", country="KZ", tags=["vip", "print"])
    make_contact(app, "sarah@example.net", first_name="Sarah", last_name="Walker",
                 outlet="Euro Desk 100%_off", language="en", country="GB", tags=["vip"])
    list_id = make_list(app, members=(anna,))
    suppress(app, "sarah@EXAMPLE.net")

    assert _emails(client, staff, "q=%D0%B0%D0%BD%D0%BD%D0%B0") == ["anna@wire.example.com"]  # анна
    assert _emails(client, staff, "q=ИВАНОВА") == ["anna@wire.example.com"]
    assert _emails(client, staff, "q=STEPPE") == ["anna@wire.example.com"]
    assert _emails(client, staff, "q=example.org") == ["nurlan@example.org"]
    assert _emails(client, staff, "q=100%25_") == ["sarah@example.net"]  # wildcards are literal
    assert _emails(client, staff, "q=%25") == ["sarah@example.net"]
    assert _emails(client, staff, "language=kk") == ["nurlan@example.org"]
    assert _emails(client, staff, "language=KK-latn") == ["nurlan@example.org"]
    assert _emails(client, staff, f"list_id={list_id}") == ["anna@wire.example.com"]
    assert _emails(client, staff, "tag=VIP&sort=email") == ["nurlan@example.org",
                                                           "sarah@example.net"]
    assert _emails(client, staff, "country=gb") == ["sarah@example.net"]
    assert _emails(client, staff, "status=suppressed") == ["sarah@example.net"]
    assert sorted(_emails(client, staff, "status=active")) == ["anna@wire.example.com",
                                                              "nurlan@example.org"]
    assert _emails(client, staff, "tag=vip&country=KZ&status=active") == ["nurlan@example.org"]


def test_bad_filters_are_422(client: FlaskClient, staff: dict[str, Any]) -> None:
    headers = bearer(staff["viewer"]["token"])
    response = client.get("/api/v1/contacts?status=gone&language=english&sort=shoe&order=up"
                          "&list_id=x&country=XX&page=0", headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {
        "status", "language", "sort", "order", "list_id", "country"}
    assert client.get("/api/v1/contacts?per_page=501", headers=headers).status_code == 422


def test_paging_and_sorting(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    for i in range(7):
        make_contact(app, f"c{i}@example.com", last_name=f"Name{6 - i}", outlet=f"O{i % 3}")
    headers = bearer(staff["viewer"]["token"])
    page = client.get("/api/v1/contacts?per_page=3&page=2", headers=headers).get_json()
    assert (page["total"], page["page"], page["per_page"]) == (7, 2, 3)
    assert [c["last_name"] for c in page["items"]] == ["Name3", "Name4", "Name5"]
    last = client.get("/api/v1/contacts?per_page=3&page=3", headers=headers).get_json()
    assert [c["last_name"] for c in last["items"]] == ["Name6"]
    beyond = client.get("/api/v1/contacts?per_page=3&page=9", headers=headers).get_json()
    assert beyond["items"] == [] and beyond["total"] == 7
    by_email = _emails(client, staff, "sort=email&order=desc")
    assert by_email == sorted(by_email, reverse=True)
    by_outlet = client.get("/api/v1/contacts?sort=outlet", headers=headers).get_json()["items"]
    assert [c["outlet"] for c in by_outlet] == sorted(c["outlet"] for c in by_outlet)
    newest = client.get("/api/v1/contacts?sort=created_at&order=desc&per_page=1",
                        headers=headers).get_json()["items"]
    assert newest[0]["email"] == "c6@example.com"


def test_listing_is_a_fixed_number_of_queries(app: Flask, client: FlaskClient,
                                              staff: dict[str, Any]) -> None:
    """No N+1: a page of 40 contacts with tags and lists costs as many queries as one of 2."""
    from sqlalchemy import event

    from mailer.db import db

    list_id = make_list(app)
    headers = bearer(staff["viewer"]["token"])

    def queries_for_page() -> int:
        count = 0

        def counter(*_: Any) -> None:
            nonlocal count
            count += 1

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", counter)
        try:
            assert client.get("/api/v1/contacts?per_page=100", headers=headers).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", counter)
        return count

    ids = [make_contact(app, f"a{i}@example.com", tags=["tv", "vip"]) for i in range(2)]
    with app.app_context():
        from mailer.contacts import lists

        lists.add_members(list_id, ids)
    queries_for_page()  # the first call also records the token's use
    small = queries_for_page()
    more = [make_contact(app, f"b{i}@example.com", tags=["print"]) for i in range(38)]
    with app.app_context():
        lists.add_members(list_id, more)
    assert queries_for_page() == small
