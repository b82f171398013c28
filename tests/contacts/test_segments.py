"""Saved segments: the filter shape and its 422s, CRUD, and resolving when used."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import bearer
from tests.contacts.factories import make_contact, make_list, suppress


def _people(app: Flask) -> dict[str, int]:
    return {
        "anna": make_contact(app, "anna@example.com", language="ru", country="KZ",
                             outlet="Steppe Wire", beat="politics", tags=["tv"]),
        "nurlan": make_contact(app, "nurlan@example.com", language="kk-Latn", country="KZ",
                               outlet="Daily Example", beat="justice", tags=["vip"]),
        "sarah": make_contact(app, "sarah@example.com", language="en", country="GB",
                              outlet="Steppe Wire", beat="politics", tags=["vip", "print"]),
        "zofia": make_contact(app, "zofia@example.com", language="pl", country="PL",
                              outlet="Vistula Herald", beat="health"),
    }


def test_segment_crud_and_preview(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    people = _people(app)
    headers = bearer(staff["editor"]["token"])
    created = client.post("/api/v1/segments", json={
        "name": "Kazakhstan, TV or VIP", "filters": {"country": ["kz"], "tag": ["TV", "vip"]}},
        headers=headers)
    assert created.status_code == 201, created.get_json()
    segment = created.get_json()
    assert segment["filters"] == {"country": ["KZ"], "tag": ["tv", "vip"]}
    preview = client.get(f"/api/v1/segments/{segment['id']}/preview",
                         headers=bearer(staff["viewer"]["token"])).get_json()
    assert preview["count"] == 2 and preview["mailable"] == 2
    assert {c["id"] for c in preview["sample"]} == {people["anna"], people["nurlan"]}
    assert client.post("/api/v1/segments", json={"name": "Kazakhstan, TV or VIP", "filters": {}},
                       headers=headers).status_code == 409
    changed = client.patch(f"/api/v1/segments/{segment['id']}",
                           json={"filters": {"language": ["kk"]}}, headers=headers)
    assert changed.status_code == 200
    assert changed.get_json()["name"] == "Kazakhstan, TV or VIP"
    again = client.get(f"/api/v1/segments/{segment['id']}/preview", headers=headers).get_json()
    assert [c["id"] for c in again["sample"]] == [people["nurlan"]]
    listing = client.get("/api/v1/segments", headers=headers).get_json()
    assert listing["total"] == 1
    assert client.delete(f"/api/v1/segments/{segment['id']}", headers=headers).status_code == 204
    assert client.get(f"/api/v1/segments/{segment['id']}", headers=headers).status_code == 404


@pytest.mark.parametrize(("filters", "field"), [
    ("country=KZ", "filters"),
    ({"colour": ["red"]}, "filters.colour"),
    ({"language": ["english"]}, "filters.language"),
    ({"country": ["XX"]}, "filters.country"),
    ({"tag": ["a;b"]}, "filters.tag"),
    ({"tag": [["nested"]]}, "filters.tag"),
    ({"list_id": [999]}, "filters.list_id"),
    ({"list_id": ["1"]}, "filters.list_id"),
    ({"outlet": ["line\nbreak"]}, "filters.outlet"),
    ({"beat": {"a": 1}}, "filters.beat"),
    ({"language": ["ru"] * 101}, "filters.language"),
])
def test_bad_filters_are_422_naming_the_key(client: FlaskClient, staff: dict[str, Any],
                                            filters: Any, field: str) -> None:
    response = client.post("/api/v1/segments", json={"name": "S", "filters": filters},
                           headers=bearer(staff["editor"]["token"]))
    assert response.status_code == 422
    assert field in response.get_json()["error"]["fields"]


def test_segment_needs_a_name(client: FlaskClient, staff: dict[str, Any]) -> None:
    response = client.post("/api/v1/segments", json={"filters": {}},
                           headers=bearer(staff["editor"]["token"]))
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"name": "required"}


def test_filter_semantics(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    people = _people(app)
    list_id = make_list(app, members=(people["zofia"], people["anna"]))
    suppress(app, "anna@example.com")
    headers = bearer(staff["viewer"]["token"])

    def ids(filters: dict[str, Any]) -> set[int]:
        response = client.post("/api/v1/segments/preview", json={"filters": filters},
                               headers=headers)
        assert response.status_code == 200, response.get_json()
        return {c["id"] for c in response.get_json()["sample"]}

    assert ids({}) == set(people.values())
    assert ids({"language": ["kk"]}) == {people["nurlan"]}  # subtags match
    assert ids({"language": ["ru", "pl"]}) == {people["anna"], people["zofia"]}
    assert ids({"outlet": ["Steppe Wire"], "beat": ["politics"]}) == {people["anna"],
                                                                     people["sarah"]}
    assert ids({"outlet": ["Steppe Wire"], "country": ["GB"]}) == {people["sarah"]}
    assert ids({"list_id": [list_id]}) == {people["zofia"], people["anna"]}
    assert ids({"list_id": [list_id], "tag": ["tv"]}) == {people["anna"]}
    preview = client.post("/api/v1/segments/preview", json={"filters": {"list_id": [list_id]}},
                          headers=headers).get_json()
    assert (preview["count"], preview["mailable"]) == (2, 1)


def test_segments_resolve_when_used_not_when_saved(app: Flask) -> None:
    from mailer.contacts.audience import audience_query
    from mailer.contacts.segments import create_segment
    from mailer.db import db

    with app.app_context():
        segment_id = create_segment({"name": "Polish", "filters": {"language": ["pl"]}}).id
    later = make_contact(app, "later@example.com", language="pl")
    with app.app_context():
        assert set(db.session.scalars(audience_query(segment_ids=[segment_id]))) == {later}
