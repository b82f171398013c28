"""Lists through /api/v1/lists: CRUD, member counts, bulk membership."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import bearer
from tests.contacts.factories import make_contact, make_list, make_segment


def test_list_crud(client: FlaskClient, staff: dict[str, Any]) -> None:
    headers = bearer(staff["editor"]["token"])
    created = client.post("/api/v1/lists", json={"name": "Central Asia", "description": "Desks"},
                          headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["member_count"] == 0 and body["name"] == "Central Asia"
    assert client.post("/api/v1/lists", json={"name": "Central Asia"},
                       headers=headers).status_code == 409
    assert client.post("/api/v1/lists", json={"name": " "}, headers=headers).status_code == 422
    assert client.post("/api/v1/lists", json={"name": "x", "colour": "red"},
                       headers=headers).status_code == 422
    renamed = client.patch(f"/api/v1/lists/{body['id']}", json={"name": "Центральная Азия"},
                           headers=headers)
    assert renamed.status_code == 200
    assert renamed.get_json()["name"] == "Центральная Азия"
    assert renamed.get_json()["description"] == "Desks"
    assert client.get(f"/api/v1/lists/{body['id']}", headers=headers).get_json()["name"] == \
        "Центральная Азия"
    assert client.delete(f"/api/v1/lists/{body['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/lists/{body['id']}", headers=headers).status_code == 404
    assert client.patch("/api/v1/lists/999", json={"name": "y"}, headers=headers).status_code \
        == 404


def test_members_are_added_in_bulk_counting_only_new_ones(app: Flask, client: FlaskClient,
                                                          staff: dict[str, Any]) -> None:
    ids = [make_contact(app, f"c{i}@example.com") for i in range(5)]
    list_id = make_list(app)
    headers = bearer(staff["editor"]["token"])
    url = f"/api/v1/lists/{list_id}/members"
    first = client.post(url, json={"contact_ids": ids[:3]}, headers=headers)
    assert first.status_code == 200 and first.get_json() == {"added": 3}
    again = client.post(url, json={"contact_ids": [*ids, ids[0]]}, headers=headers)
    assert again.get_json() == {"added": 2}
    assert client.get(f"/api/v1/lists/{list_id}", headers=headers).get_json()["member_count"] == 5


def test_unknown_contacts_are_listed_and_nothing_is_added(app: Flask, client: FlaskClient,
                                                          staff: dict[str, Any]) -> None:
    known = make_contact(app)
    list_id = make_list(app)
    headers = bearer(staff["editor"]["token"])
    response = client.post(f"/api/v1/lists/{list_id}/members",
                           json={"contact_ids": [known, 404, 405]}, headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["contact_ids"] == \
        "unknown contact ids: 404, 405"
    assert client.get(f"/api/v1/lists/{list_id}", headers=headers).get_json()["member_count"] == 0
    for bad in ([], "1", [True], None):
        assert client.post(f"/api/v1/lists/{list_id}/members", json={"contact_ids": bad},
                           headers=headers).status_code == 422
    assert client.post("/api/v1/lists/999/members", json={"contact_ids": [known]},
                       headers=headers).status_code == 404


def test_remove_member(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    contact = make_contact(app)
    list_id = make_list(app, members=(contact,))
    headers = bearer(staff["editor"]["token"])
    url = f"/api/v1/lists/{list_id}/members/{contact}"
    assert client.delete(url, headers=headers).status_code == 204
    assert client.delete(url, headers=headers).status_code == 404
    assert client.get(f"/api/v1/contacts/{contact}", headers=headers).status_code == 200
    assert client.get(f"/api/v1/lists/{list_id}", headers=headers).get_json()["member_count"] == 0


def test_member_counts_on_a_page_of_lists(app: Flask, client: FlaskClient,
                                          staff: dict[str, Any]) -> None:
    ids = [make_contact(app, f"c{i}@example.com") for i in range(4)]
    make_list(app, "A", members=tuple(ids))
    make_list(app, "B", members=tuple(ids[:1]))
    make_list(app, "C")
    page = client.get("/api/v1/lists", headers=bearer(staff["viewer"]["token"])).get_json()
    assert page["total"] == 3
    assert {item["name"]: item["member_count"] for item in page["items"]} == \
        {"A": 4, "B": 1, "C": 0}


def test_member_counts_take_one_query_for_the_page(app: Flask) -> None:
    from sqlalchemy import event

    from mailer.contacts import lists
    from mailer.db import db

    for name in "ABCDEFGH":
        make_list(app, name)
    with app.app_context():
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda _c, _cur, statement, *_: statements.append(statement))
        page = lists.list_lists(1, 50)
        assert len(page.items) == 8
        assert len([s for s in statements if "count" in s.lower()]) == 2  # total + grouped


def test_deleting_a_contact_or_list_keeps_the_other(app: Flask, client: FlaskClient,
                                                   staff: dict[str, Any]) -> None:
    contact = make_contact(app)
    list_id = make_list(app, members=(contact,))
    headers = bearer(staff["editor"]["token"])
    assert client.delete(f"/api/v1/contacts/{contact}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/lists/{list_id}", headers=headers).get_json()["member_count"] == 0
    other = make_contact(app, "other@example.com")
    client.post(f"/api/v1/lists/{list_id}/members", json={"contact_ids": [other]},
                headers=headers)
    assert client.delete(f"/api/v1/lists/{list_id}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/contacts/{other}", headers=headers).get_json()["lists"] == []


def test_a_list_used_by_a_segment_cannot_be_deleted(app: Flask, client: FlaskClient,
                                                    staff: dict[str, Any]) -> None:
    list_id = make_list(app)
    make_segment(app, "On the list", list_id=[list_id])
    response = client.delete(f"/api/v1/lists/{list_id}", headers=bearer(staff["editor"]["token"]))
    assert response.status_code == 409
    assert "On the list" in response.get_json()["error"]["message"]
