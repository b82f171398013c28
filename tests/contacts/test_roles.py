"""Who may do what with journalists: viewers read, editors write, admins remove and erase."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.conftest import bearer, csrf_token, login
from tests.contacts.factories import make_contact, make_list, make_segment, suppress

RANK = {"viewer": 0, "editor": 1, "admin": 2}

# (method, path, JSON body, minimum role); {c}, {l}, {s}: a contact, list and segment id.
API_ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/api/v1/contacts", None, "viewer"),
    ("GET", "/api/v1/contacts/{c}", None, "viewer"),
    ("GET", "/api/v1/contacts/export", None, "viewer"),
    ("GET", "/api/v1/contacts/{c}/data", None, "viewer"),
    ("GET", "/api/v1/lists", None, "viewer"),
    ("GET", "/api/v1/lists/{l}", None, "viewer"),
    ("GET", "/api/v1/segments", None, "viewer"),
    ("GET", "/api/v1/segments/{s}", None, "viewer"),
    ("GET", "/api/v1/segments/{s}/preview", None, "viewer"),
    ("POST", "/api/v1/segments/preview", {"filters": {}}, "viewer"),
    ("GET", "/api/v1/suppressions", None, "viewer"),
    ("POST", "/api/v1/contacts", {"email": "new@example.com"}, "editor"),
    ("PATCH", "/api/v1/contacts/{c}", {"outlet": "X"}, "editor"),
    ("POST", "/api/v1/lists", {"name": "New"}, "editor"),
    ("PATCH", "/api/v1/lists/{l}", {"name": "Renamed"}, "editor"),
    ("POST", "/api/v1/lists/{l}/members", {"contact_ids": ["{c}"]}, "editor"),
    ("DELETE", "/api/v1/lists/{l}/members/{c}", None, "editor"),
    ("POST", "/api/v1/segments", {"name": "New", "filters": {}}, "editor"),
    ("PATCH", "/api/v1/segments/{s}", {"name": "Renamed"}, "editor"),
    ("POST", "/api/v1/suppressions", {"email": "x@example.com"}, "editor"),
    ("DELETE", "/api/v1/segments/{s}", None, "editor"),
    ("DELETE", "/api/v1/lists/{l}", None, "editor"),
    ("DELETE", "/api/v1/contacts/{c}", None, "editor"),
    ("DELETE", "/api/v1/suppressions/held@example.com", None, "admin"),
    ("POST", "/api/v1/contacts/{c}/erase", None, "admin"),
]

WEB_ROUTES: list[tuple[str, str, str]] = [
    ("GET", "/contacts/", "viewer"),
    ("GET", "/contacts/{c}", "viewer"),
    ("GET", "/contacts/export", "viewer"),
    ("GET", "/contacts/{c}/data", "viewer"),
    ("GET", "/lists/", "viewer"),
    ("GET", "/lists/{l}", "viewer"),
    ("GET", "/segments/", "viewer"),
    ("GET", "/segments/{s}", "viewer"),
    ("GET", "/suppressions/", "viewer"),
    ("GET", "/contacts/new", "editor"),
    ("POST", "/contacts/new", "editor"),
    ("GET", "/contacts/{c}/edit", "editor"),
    ("POST", "/contacts/{c}/edit", "editor"),
    ("GET", "/contacts/{c}/delete", "editor"),
    ("POST", "/contacts/{c}/delete", "editor"),
    ("POST", "/contacts/add-to-list", "editor"),
    ("POST", "/lists/", "editor"),
    ("POST", "/lists/{l}", "editor"),
    ("POST", "/lists/{l}/delete", "editor"),
    ("POST", "/lists/{l}/members/{c}/remove", "editor"),
    ("POST", "/segments/", "editor"),
    ("POST", "/segments/{s}", "editor"),
    ("POST", "/segments/{s}/delete", "editor"),
    ("POST", "/suppressions/", "editor"),
    ("GET", "/contacts/{c}/erase", "admin"),
    ("POST", "/contacts/{c}/erase", "admin"),
    ("POST", "/suppressions/remove", "admin"),
]


def _fill(path: str, ids: dict[str, int]) -> str:
    return path.format(**ids)


def _data(app: Flask) -> dict[str, int]:
    contact = make_contact(app, "held@example.com")
    suppress(app, "held@example.com")
    return {"c": contact, "l": make_list(app, members=(contact,)), "s": make_segment(app)}


@pytest.mark.parametrize(("method", "path", "body", "needed"), API_ROUTES)
def test_api_route_by_role(app: Flask, staff: dict[str, Any], method: str, path: str,
                           body: Any, needed: str) -> None:
    ids = _data(app)
    client = app.test_client()
    url = _fill(path, ids)
    if isinstance(body, dict) and body.get("contact_ids"):
        body = {"contact_ids": [ids["c"]]}
    assert client.open(url, method=method, json=body).status_code == 401
    for role in ("viewer", "editor", "admin"):
        if RANK[role] < RANK[needed]:
            response = client.open(url, method=method, json=body,
                                   headers=bearer(staff[role]["token"]))
            assert response.status_code == 403, (role, method, url)
    response = client.open(url, method=method, json=body, headers=bearer(staff[needed]["token"]))
    assert response.status_code < 400, (needed, method, url, response.get_json())


@pytest.mark.parametrize(("method", "path", "needed"), WEB_ROUTES)
def test_web_route_by_role(app: Flask, staff: dict[str, Any], method: str, path: str,
                           needed: str) -> None:
    ids = _data(app)
    url = _fill(path, ids)
    assert app.test_client().open(url, method=method).status_code in {302, 400}
    for role in ("viewer", "editor", "admin"):
        client = app.test_client()
        login(client, f"{role}@example.com")
        data = {"csrf_token": csrf_token(client, "/account/")} if method == "POST" else None
        status = client.open(url, method=method, data=data).status_code
        if RANK[role] >= RANK[needed]:
            assert status != 403, (role, method, url)
        else:
            assert status == 403, (role, method, url)


def test_viewer_changes_nothing(app: Flask, staff: dict[str, Any]) -> None:
    """After every write a viewer tries, through the API and the web, the data is as it was."""
    from mailer.contacts import lists, segments, service, suppressions

    ids = _data(app)
    api = app.test_client()
    for method, path, body, needed in API_ROUTES:
        if needed != "viewer":
            api.open(_fill(path, ids), method=method, json=body,
                     headers=bearer(staff["viewer"]["token"]))
    web = app.test_client()
    login(web, "viewer@example.com")
    token = csrf_token(web, "/account/")
    for method, path, _needed in WEB_ROUTES:
        if method == "POST":
            web.post(_fill(path, ids), data={"csrf_token": token, "email": "held@example.com",
                                             "name": "Hacked", "target_list_id": ids["l"],
                                             "contact_ids": [ids["c"]], "scope": "all"})
    with app.app_context():
        assert service.get_contact(ids["c"]).outlet == ""
        assert lists.get_list_view(ids["l"]).member_count == 1
        assert lists.get_list(ids["l"]).name == "Central Asia"
        assert segments.get_segment(ids["s"]).name == "Segment"
        assert suppressions.is_suppressed("held@example.com")
        assert service.count_contacts() == 1
