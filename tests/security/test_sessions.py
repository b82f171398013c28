"""Sessions and credentials: cookie flags, ending sessions, revoking tokens, CSRF on every form."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from mailer import create_app
from tests.conftest import app_config, bearer, csrf_token, login
from tests.security.test_route_matrix import matrix_calls, seed

PASSWORD = "correct horse battery"


def session_cookie_header(client: FlaskClient, email: str) -> str:
    """The Set-Cookie header of the session a successful sign-in hands out."""
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    return next(header for header in response.headers.getlist("Set-Cookie")
                if header.startswith("mailer_session="))


def test_session_cookie_flags_on_plain_http(app: Flask, client: FlaskClient,
                                            staff: dict[str, Any]) -> None:
    cookie = session_cookie_header(client, "editor@example.com")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie or "SameSite=Strict" in cookie
    # Over plain http (local use) a Secure cookie would never come back: sign-in would loop.
    assert "Secure" not in cookie


def test_session_cookie_is_secure_behind_https(database_url: str, tmp_path: Path) -> None:
    for env in ("testing", "production"):
        config = app_config(tmp_path / env, database_url, MAILER_ENV=env,
                            MAILER_PUBLIC_URL="https://press.example.org",
                            MAILER_SECRET_KEY="a-long-random-production-secret-" * 2)
        app = create_app(config)
        assert app.config["SESSION_COOKIE_SECURE"] is True
        assert app.config["REMEMBER_COOKIE_SECURE"] is True
        from mailer.auth import service

        with app.app_context():
            if service.find_user_by_email("editor@example.com") is None:
                service.create_user("editor@example.com", PASSWORD, "editor")
        client = app.test_client()
        cookie = session_cookie_header(client, "editor@example.com")
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        with app.app_context():
            from mailer.db import db

            db.session.remove()
            db.engine.dispose()


def replay(app: Flask, cookie_value: str) -> int:
    """The dashboard's status for a browser presenting an old session cookie."""
    other = app.test_client()
    other.set_cookie("mailer_session", cookie_value)
    return other.get("/").status_code


def test_logout_invalidates_the_old_cookie(app: Flask, client: FlaskClient,
                                          staff: dict[str, Any]) -> None:
    login(client, "viewer@example.com")
    old = client.get_cookie("mailer_session")
    assert old is not None
    assert replay(app, old.value) == 200
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/")})
    assert replay(app, old.value) == 302
    assert client.get("/").status_code == 302


def test_password_change_invalidates_every_older_cookie(app: Flask, client: FlaskClient,
                                                       staff: dict[str, Any]) -> None:
    login(client, "editor@example.com")
    old = client.get_cookie("mailer_session")
    assert old is not None
    response = client.post("/account/password", data={
        "current": PASSWORD, "new": "another long passphrase",
        "confirm": "another long passphrase", "csrf_token": csrf_token(client, "/account/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # the browser that changed it stays in
    assert replay(app, old.value) == 302  # its cookie from before the change does not


def test_disabling_an_account_ends_its_sessions_and_tokens(app: Flask,
                                                          staff: dict[str, Any]) -> None:
    from mailer.auth import service

    viewer = app.test_client()
    login(viewer, "viewer@example.com")
    with app.app_context():
        user = service.find_user_by_email("viewer@example.com")
        assert user is not None
        service.update_user(user, active=False)
    assert viewer.get("/").status_code == 302
    assert app.test_client().get("/api/v1/me",
                                 headers=bearer(staff["viewer"]["token"])).status_code == 401


def test_token_revoked_in_the_browser_stops_at_once(app: Flask, client: FlaskClient,
                                                   staff: dict[str, Any]) -> None:
    token = staff["editor"]["token"]
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    login(client, "editor@example.com")
    tokens = api.get("/api/v1/tokens", headers=bearer(token)).get_json()
    token_id = tokens["items"][0]["id"] if "items" in tokens else tokens[0]["id"]
    response = client.post(f"/account/tokens/{token_id}/revoke",
                           data={"csrf_token": csrf_token(client, "/account/")})
    assert response.status_code == 302
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_token_revoked_through_the_api_stops_at_once(app: Flask,
                                                    staff: dict[str, Any]) -> None:
    from mailer.auth import service

    with app.app_context():
        user = service.find_user_by_email("viewer@example.com")
        assert user is not None
        row, second = service.issue_token(user, "second")
        second_id = row.id
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(second)).status_code == 200
    revoked = api.delete(f"/api/v1/tokens/{second_id}", headers=bearer(staff["viewer"]["token"]))
    assert revoked.status_code in {200, 204}
    assert api.get("/api/v1/me", headers=bearer(second)).status_code == 401
    # A token revoking itself is refused from its very next call.
    first = staff["viewer"]["token"]
    first_id = next(item["id"] for item in _items(api.get("/api/v1/tokens",
                                                          headers=bearer(first)).get_json())
                    if item["id"] != second_id)
    assert api.delete(f"/api/v1/tokens/{first_id}", headers=bearer(first)).status_code in {
        200, 204}
    assert api.get("/api/v1/me", headers=bearer(first)).status_code == 401


def _items(body: Any) -> list[dict[str, Any]]:
    return body["items"] if isinstance(body, dict) else body


# The one web POST a third party sends with no session and no CSRF token: RFC 8058 one-click
# unsubscribe from a mail provider. The signed token in its URL is its credential.
CSRF_EXEMPT_WEB_POSTS = {"unsubscribe.post"}


def test_every_web_post_needs_a_csrf_token(app: Flask, staff: dict[str, Any]) -> None:
    """As a signed-in admin, a POST to any web route with no CSRF token is a 400 CSRF error."""
    from flask_wtf.csrf import CSRFError

    # Tell a CSRF refusal apart from any other 400 (registered before the app's first request).
    app.register_error_handler(CSRFError, lambda error: ("CSRF refused", 400,
                                                         {"X-Test-Csrf": "refused"}))
    ids = seed(app)
    client = app.test_client()
    login(client, "admin@example.com")
    posts = [call for call in matrix_calls(app, ids) if not call.api and call.method != "GET"]
    assert {call.endpoint for call in posts} >= CSRF_EXEMPT_WEB_POSTS
    wrong = []
    for call in sorted(posts, key=lambda call: call.endpoint == "auth.logout"):
        response = client.open(call.path, method=call.method, data={"name": "x"})
        refused = response.status_code == 400 and "X-Test-Csrf" in response.headers
        if refused == (call.endpoint in CSRF_EXEMPT_WEB_POSTS):
            wrong.append(f"{call.method} {call.path} ({call.endpoint}): "
                         f"{response.status_code}")
    assert not wrong, "CSRF protection is not as intended on: " + ", ".join(wrong)
    assert client.get("/").status_code == 200  # nothing above signed the admin out
