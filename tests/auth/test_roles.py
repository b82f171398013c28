"""Roles in the web UI: every route checked by the one policy."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token, login

# (method, path, minimum role) of the web UI so far.
ROUTES = [
    ("GET", "/", "viewer"),
    ("GET", "/outbox/", "viewer"),
    ("GET", "/releases/", "viewer"),
    ("GET", "/releases/new", "editor"),
    ("POST", "/releases/new", "editor"),
    ("GET", "/account/", "viewer"),
    ("POST", "/account/tokens", "viewer"),
    ("POST", "/test-email", "editor"),
    ("GET", "/users/", "admin"),
    ("POST", "/users/", "admin"),
]
RANK = {"viewer": 0, "editor": 1, "admin": 2}


@pytest.mark.parametrize(("method", "path", "needed"), ROUTES)
def test_route_by_role(app: Flask, staff: dict[str, Any], method: str, path: str,
                       needed: str) -> None:
    anonymous = app.test_client()
    assert anonymous.open(path, method=method).status_code in {302, 400}
    for role in ("viewer", "editor", "admin"):
        client = app.test_client()
        login(client, f"{role}@example.com")
        data = {"csrf_token": csrf_token(client, "/account/")} if method == "POST" else None
        status = client.open(path, method=method, data=data).status_code
        if RANK[role] >= RANK[needed]:
            assert status != 403, (role, path)
        else:
            assert status == 403, (role, path)


def test_every_view_has_a_rule(app: Flask) -> None:
    """A new view is protected by default: nothing is public unless marked so."""
    from mailer.auth.policy import PUBLIC, rule_for

    public = set()
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            for method in rule.methods or ():
                if rule_for(rule.endpoint, method) == PUBLIC:
                    public.add(rule.endpoint)
    # The open pixel (/t/o/…) and click redirect (/t/c/…) are public too, but are no Flask
    # endpoints: mailer.tracking.hits serves them in front of the app (tests/tracking).
    assert public == {"static", "auth.login", "auth.logout", "health.healthz",
                      "release_web.show", "unsubscribe.page", "unsubscribe.post",
                      "openapi.openapi_json"}


def test_admin_manages_users_in_the_browser_form(app: Flask, client: FlaskClient,
                                                staff: dict[str, Any]) -> None:
    login(client, "admin@example.com")
    token = csrf_token(client, "/users/")
    response = client.post("/users/", data={"email": "new@example.com", "name": "Новый",
                                            "role": "viewer", "password": "long enough pass",
                                            "csrf_token": token})
    assert response.status_code == 302
    page = client.get("/users/").get_data(as_text=True)
    assert "new@example.com" in page
    response = client.post("/users/", data={"email": "bad", "role": "viewer",
                                            "password": "long enough pass",
                                            "csrf_token": token})
    assert response.status_code == 422
    assert 'class="error"' in response.get_data(as_text=True)


def test_admin_cannot_demote_themself(app: Flask, client: FlaskClient,
                                      staff: dict[str, Any]) -> None:
    from mailer.auth import service

    login(client, "admin@example.com")
    with app.app_context():
        admin = service.find_user_by_email("admin@example.com")
        assert admin is not None
        admin_id = admin.id
    client.post(f"/users/{admin_id}", data={"role": "viewer", "active": "y",
                                             "csrf_token": csrf_token(client, "/users/")})
    with app.app_context():
        assert service.get_user(admin_id).role_enum.value == "admin"


def test_escaped_output(app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    login(client, "admin@example.com")
    client.post("/users/", data={"email": "x@example.com", "name": "<script>alert(1)</script>",
                                 "role": "viewer", "password": "long enough pass",
                                 "csrf_token": csrf_token(client, "/users/")})
    page = client.get("/users/").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
