"""Bearer tokens on /api/v1 and roles, enforced in one place; the JSON error shape."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import bearer


def test_no_token_is_401_with_the_error_shape(client: FlaskClient) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    error = response.get_json()["error"]
    assert error["code"] == "unauthenticated"
    assert error["message"]


def test_bad_token_is_401(client: FlaskClient, staff: dict[str, Any]) -> None:
    for header in ("Bearer mlr_nope", "Bearer ", "Basic dXNlcjpwYXNz",
                   f"Bearer {staff['admin']['token']}x"):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header


def test_good_token_identifies_the_user(client: FlaskClient, staff: dict[str, Any]) -> None:
    response = client.get("/api/v1/me", headers=bearer(staff["viewer"]["token"]))
    assert response.status_code == 200
    assert response.get_json()["email"] == "viewer@example.com"
    assert response.get_json()["role"] == "viewer"


def test_session_cookie_does_not_authenticate_the_api(app: Flask, client: FlaskClient,
                                                      staff: dict[str, Any]) -> None:
    from tests.conftest import login

    login(client, "admin@example.com")
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").status_code == 401


def test_roles_are_enforced_on_the_api(client: FlaskClient, staff: dict[str, Any]) -> None:
    for role, expected in (("viewer", 403), ("editor", 403), ("admin", 200)):
        response = client.get("/api/v1/users", headers=bearer(staff[role]["token"]))
        assert response.status_code == expected, role
    response = client.post("/api/v1/test-email", json={"email": "a@example.com"},
                           headers=bearer(staff["viewer"]["token"]))
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"


def test_revoked_token_stops_working(client: FlaskClient, staff: dict[str, Any]) -> None:
    headers = bearer(staff["editor"]["token"])
    created = client.post("/api/v1/tokens", json={"name": "script"}, headers=headers)
    assert created.status_code == 201
    new = created.get_json()
    assert new["token"].startswith("mlr_")
    assert client.get("/api/v1/me", headers=bearer(new["token"])).status_code == 200
    listed = client.get("/api/v1/tokens", headers=headers).get_json()
    assert "token" not in listed["items"][0]
    assert {item["name"] for item in listed["items"]} == {"test", "script"}
    assert client.delete(f"/api/v1/tokens/{new['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(new["token"])).status_code == 401


def test_tokens_are_stored_only_as_hashes(app: Flask, staff: dict[str, Any]) -> None:
    from sqlalchemy import select

    from mailer.auth.models import ApiToken
    from mailer.db import db

    token = staff["viewer"]["token"]
    with app.app_context():
        stored = [row.token_hash for row in db.session.scalars(select(ApiToken))]
    assert token not in stored
    assert all(len(value) == 64 for value in stored)


def test_one_cannot_revoke_another_users_token(client: FlaskClient, staff: dict[str, Any]) -> None:
    mine = client.get("/api/v1/tokens", headers=bearer(staff["viewer"]["token"])).get_json()
    token_id = mine["items"][0]["id"]
    response = client.delete(f"/api/v1/tokens/{token_id}", headers=bearer(staff["editor"]["token"]))
    assert response.status_code == 404
    assert client.get("/api/v1/me", headers=bearer(staff["viewer"]["token"])).status_code == 200


def test_malformed_json_is_400(client: FlaskClient, staff: dict[str, Any]) -> None:
    headers = {**bearer(staff["admin"]["token"]), "Content-Type": "application/json"}
    response = client.post("/api/v1/users", data=b"{not json", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "bad_request"
    response = client.post("/api/v1/users", data=b"[1, 2]", headers=headers)
    assert response.status_code == 400


def test_invalid_values_are_422_with_fields_and_write_nothing(
        client: FlaskClient, staff: dict[str, Any]) -> None:
    headers = bearer(staff["admin"]["token"])
    response = client.post("/api/v1/users", headers=headers, json={
        "email": "not-an-address", "password": "long enough pass", "role": "editor"})
    assert response.status_code == 422
    assert "email" in response.get_json()["error"]["fields"]
    response = client.post("/api/v1/users", headers=headers, json={
        "email": "new@example.com", "password": "short", "role": "editor"})
    assert response.get_json()["error"]["fields"] == {
        "password": "must be at least 10 characters"}
    response = client.post("/api/v1/users", headers=headers, json={
        "email": "new@example.com", "password": "long enough pass", "role": "owner"})
    assert "role" in response.get_json()["error"]["fields"]
    users = client.get("/api/v1/users", headers=headers).get_json()
    assert users["total"] == 3


def test_duplicate_user_is_409(client: FlaskClient, staff: dict[str, Any]) -> None:
    response = client.post("/api/v1/users", headers=bearer(staff["admin"]["token"]), json={
        "email": "EDITOR@example.com", "password": "long enough pass", "role": "editor"})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "conflict"


def test_unknown_api_route_and_method_are_json(client: FlaskClient,
                                               staff: dict[str, Any]) -> None:
    response = client.get("/api/v1/nothing-here", headers=bearer(staff["admin"]["token"]))
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    response = client.put("/api/v1/me", headers=bearer(staff["admin"]["token"]))
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_paging_parameters_are_validated(client: FlaskClient, staff: dict[str, Any]) -> None:
    headers = bearer(staff["admin"]["token"])
    page = client.get("/api/v1/users?page=2&per_page=2", headers=headers).get_json()
    assert page["total"] == 3
    assert page["page"] == 2
    assert [u["email"] for u in page["items"]] == ["admin@example.com"]
    response = client.get("/api/v1/users?page=0&per_page=abc", headers=headers)
    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"page", "per_page"}


def test_crash_gives_no_stack_trace(app: Flask, staff: dict[str, Any]) -> None:
    from mailer.auth.policy import public

    @app.get("/api/v1/boom")
    @public
    def boom() -> str:
        raise RuntimeError("secret internals")

    response = app.test_client().get("/api/v1/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "secret internals" not in body
    assert "Traceback" not in body
    assert response.get_json()["error"]["code"] == "internal_error"
