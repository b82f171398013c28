"""Signing in and out of the web UI: CSRF, sessions, redirects, cookies."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import csrf_token, login, make_user


def test_pages_need_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/outbox/")
    assert response.status_code == 302
    assert response.headers["Location"] == "/login?next=/outbox/"


def test_login_with_the_right_password_lands_on_next(app: Flask, client: FlaskClient) -> None:
    make_user(app, "editor@example.com", "editor")
    token = csrf_token(client, "/login")
    response = client.post("/login?next=/outbox/", data={
        "email": "Editor@Example.com", "password": "correct horse battery", "csrf_token": token})
    assert response.status_code == 302
    assert response.headers["Location"] == "/outbox/"
    assert client.get("/outbox/").status_code == 200


def test_wrong_password_is_refused_on_the_page(app: Flask, client: FlaskClient) -> None:
    make_user(app, "editor@example.com", "editor")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={
        "email": "editor@example.com", "password": "wrong password!", "csrf_token": token})
    assert response.status_code == 422
    assert "The email or password is not right." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_login_without_csrf_token_is_refused(app: Flask, client: FlaskClient) -> None:
    make_user(app, "editor@example.com", "editor")
    response = client.post("/login", data={"email": "editor@example.com",
                                           "password": "correct horse battery"})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_next_never_leaves_the_site(app: Flask, client: FlaskClient) -> None:
    make_user(app, "editor@example.com", "editor")
    for target in ("//evil.example/", "https://evil.example/", "/\\evil.example",
                   "javascript:alert(1)", "evil.example"):
        token = csrf_token(client, "/login")
        response = client.post("/login", query_string={"next": target}, data={
            "email": "editor@example.com", "password": "correct horse battery",
            "csrf_token": token})
        assert response.headers["Location"] == "/", target
        client.post("/logout", data={"csrf_token": csrf_token(client, "/")})


def test_logout_ends_the_session_even_for_a_copied_cookie(app: Flask, client: FlaskClient) -> None:
    make_user(app, "editor@example.com", "editor")
    login(client, "editor@example.com")
    stolen = client.get_cookie("mailer_session")
    assert stolen is not None
    response = client.post("/logout", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302
    other = app.test_client()
    other.set_cookie("mailer_session", stolen.value)
    assert other.get("/").status_code == 302


def test_password_change_signs_out_other_sessions(app: Flask, client: FlaskClient) -> None:
    make_user(app, "editor@example.com", "editor")
    login(client, "editor@example.com")
    other = app.test_client()
    login(other, "editor@example.com")
    response = client.post("/account/password", data={
        "current": "correct horse battery", "new": "a new long passphrase",
        "confirm": "a new long passphrase", "csrf_token": csrf_token(client, "/account/")})
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this browser stays signed in
    assert other.get("/").status_code == 302  # the other session is gone
    login(other, "editor@example.com", "a new long passphrase")


def test_session_cookie_is_httponly_and_samesite(app: Flask, client: FlaskClient) -> None:
    make_user(app, "editor@example.com", "editor")
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "editor@example.com",
                                           "password": "correct horse battery",
                                           "csrf_token": token})
    cookie = next(h for h in response.headers.getlist("Set-Cookie")
                  if h.startswith("mailer_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_disabled_user_cannot_sign_in(app: Flask, client: FlaskClient) -> None:
    from mailer.auth import service

    make_user(app, "editor@example.com", "editor")
    with app.app_context():
        user = service.find_user_by_email("editor@example.com")
        assert user is not None
        service.update_user(user, active=False)
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"email": "editor@example.com",
                                           "password": "correct horse battery",
                                           "csrf_token": token})
    assert response.status_code == 422


def test_pages_carry_security_headers(client: FlaskClient) -> None:
    response = client.get("/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]


def test_login_is_throttled_after_repeated_failures(app: Flask, client: FlaskClient) -> None:
    make_user(app, "editor@example.com", "editor")
    for _ in range(5):
        response = client.post("/login", data={"email": "editor@example.com",
                                               "password": "wrong password!",
                                               "csrf_token": csrf_token(client, "/login")})
        assert response.status_code == 422
    # Even the right password waits now, so guessing cannot go on.
    response = client.post("/login", data={"email": "editor@example.com",
                                           "password": "correct horse battery",
                                           "csrf_token": csrf_token(client, "/login")})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 0
    assert "Too many failed attempts" in response.get_data(as_text=True)
    # Another account is not locked out by them.
    make_user(app, "admin@example.com", "admin")
    login(app.test_client(), "admin@example.com")
    from datetime import timedelta

    from mailer.audit.service import count_recent

    with app.app_context():
        assert count_recent("auth.login_failed", since=timedelta(minutes=15),
                            actor_email="editor@example.com") == 5
