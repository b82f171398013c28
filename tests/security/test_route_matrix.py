"""Every route × every role × every method, against the access matrix we intend.

The matrix below is written out by hand on purpose: it is the product's access contract, read
independently of ``mailer.auth.policy``. A route that is not listed fails the guard test, so a new
page or endpoint cannot ship without someone deciding who may call it.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from tests.conftest import bearer, csrf_token, login
from tests.contacts.factories import make_segment
from tests.tracking.support import make_sent

P, V, E, A = "public", "viewer", "editor", "admin"
RANK = {"anonymous": -1, V: 0, E: 1, A: 2}
ROLES = ("anonymous", V, E, A)
IGNORED_METHODS = {"HEAD", "OPTIONS"}

# endpoint -> {method: minimum role, or P for anyone}
MATRIX: dict[str, dict[str, str]] = {
    "static": {"GET": P},
    "health.healthz": {"GET": P},
    "openapi.openapi_json": {"GET": P},  # the API's description, no data in it
    # Signing in and out, and what a recipient reaches from an email.
    "auth.login": {"GET": P, "POST": P},
    "auth.logout": {"POST": P},
    "release_web.show": {"GET": P},
    "unsubscribe.page": {"GET": P},
    "unsubscribe.post": {"POST": P},
    # One's own account.
    "account.show": {"GET": V},
    "account.create_token": {"POST": V},
    "account.revoke_token": {"POST": V},
    "account.change_password": {"POST": V},
    "account.save_preferences": {"POST": V},
    "auth_api.me": {"GET": V},
    "auth_api.list_tokens": {"GET": V},
    "auth_api.create_token": {"POST": V},
    "auth_api.revoke_token": {"DELETE": V},
    # Staff accounts and the audit log: admins only.
    "users.index": {"GET": A},
    "users.create": {"POST": A},
    "users.update": {"POST": A},
    "auth_api.list_users": {"GET": A},
    "auth_api.create_user": {"POST": A},
    "audit.index": {"GET": A},
    "audit.export": {"GET": A},
    # Instance settings (sender identity, rates): editors see them, admins change them.
    "settings.show": {"GET": E},
    "settings.save": {"POST": A},
    # The dashboard and the outbox.
    "web.dashboard": {"GET": V},
    "web.send_test_email": {"POST": E},
    "web_api.send_test_email": {"POST": E},
    "outbox.index": {"GET": V},
    "outbox.show": {"GET": V},
    "outbox.html": {"GET": V},
    "outbox.raw": {"GET": V},
    # Journalists: viewers read, editors write, admins erase.
    "contacts.index": {"GET": V},
    "contacts.show": {"GET": V},
    "contacts.personal_data": {"GET": V},
    "contacts.export_csv": {"GET": V},
    "contacts.new": {"GET": E},
    "contacts.create": {"POST": E},
    "contacts.edit": {"GET": E},
    "contacts.update": {"POST": E},
    "contacts.add_to_list": {"POST": E},
    "contacts.confirm_delete": {"GET": E},
    "contacts.delete": {"POST": E},
    "contacts.confirm_erase": {"GET": A},
    "contacts.erase": {"POST": A},
    "contacts_api.index": {"GET": V},
    "contacts_api.show": {"GET": V},
    "contacts_api.personal_data": {"GET": V},
    "contacts_api.export_csv": {"GET": V},
    "contacts_api.create": {"POST": E},
    "contacts_api.update": {"PATCH": E},
    "contacts_api.delete": {"DELETE": E},
    "contacts_api.erase": {"POST": A},
    "contacts_import.upload_form": {"GET": E},
    "contacts_import.upload": {"POST": E},
    "contacts_import.mapping": {"GET": E},
    "contacts_import.save_mapping": {"POST": E},
    "contacts_import.options": {"GET": E},
    "contacts_import.run": {"POST": E},
    "contacts_import.report": {"GET": E},
    "contacts_import.cancel": {"POST": E},
    "contacts_import_api.import_contacts": {"POST": E},
    "lists.index": {"GET": V},
    "lists.show": {"GET": V},
    "lists.create": {"POST": E},
    "lists.update": {"POST": E},
    "lists.delete": {"POST": E},
    "lists.remove_member": {"POST": E},
    "lists_api.index": {"GET": V},
    "lists_api.show": {"GET": V},
    "lists_api.create": {"POST": E},
    "lists_api.update": {"PATCH": E},
    "lists_api.delete": {"DELETE": E},
    "lists_api.add_members": {"POST": E},
    "lists_api.remove_member": {"DELETE": E},
    "segments.index": {"GET": V},
    "segments.show": {"GET": V},
    "segments.create": {"POST": E},
    "segments.update": {"POST": E},
    "segments.delete": {"POST": E},
    "segments_api.index": {"GET": V},
    "segments_api.show": {"GET": V},
    "segments_api.preview": {"GET": V},
    "segments_api.preview_filters": {"POST": V},  # a read: counts who filters would match
    "segments_api.create": {"POST": E},
    "segments_api.update": {"PATCH": E},
    "segments_api.delete": {"DELETE": E},
    "suppressions.index": {"GET": V},
    "suppressions.create": {"POST": E},
    "suppressions.remove": {"POST": A},  # lifting a suppression may mail someone who objected
    "suppressions_api.index": {"GET": V},
    "suppressions_api.create": {"POST": E},
    "suppressions_api.delete": {"DELETE": A},
    # Releases.
    "releases.index": {"GET": V},
    "releases.edit": {"GET": V},
    "releases.preview_matrix": {"GET": V},
    "releases.preview_frame": {"GET": V},
    "releases.revisions": {"GET": V},
    "releases.download": {"GET": V},
    "releases.new": {"GET": E},
    "releases.create": {"POST": E},
    "releases.update": {"POST": E},
    "releases.delete": {"POST": E},
    "releases.add_translation": {"POST": E},
    "releases.save_translation": {"POST": E},
    "releases.delete_translation": {"POST": E},
    "releases.approve_translation": {"POST": E},
    "releases.unapprove_translation": {"POST": E},
    "releases.revert": {"POST": E},
    "releases.upload": {"POST": E},
    "releases.delete_attachment": {"POST": E},
    "releases_api.list_releases": {"GET": V},
    "releases_api.get_release": {"GET": V},
    "releases_api.get_translation": {"GET": V},
    "releases_api.list_revisions": {"GET": V},
    "releases_api.get_revision": {"GET": V},
    "releases_api.list_attachments": {"GET": V},
    "releases_api.download_attachment": {"GET": V},
    "releases_api.preview_release": {"GET": V},
    "releases_api.create_release": {"POST": E},
    "releases_api.update_release": {"PATCH": E},
    "releases_api.delete_release": {"DELETE": E},
    "releases_api.put_translation": {"PUT": E},
    "releases_api.delete_translation": {"DELETE": E},
    "releases_api.approve_translation": {"POST": E},
    "releases_api.unapprove_translation": {"POST": E},
    "releases_api.revert_translation": {"POST": E},
    "releases_api.upload_attachment": {"POST": E},
    "releases_api.delete_attachment": {"DELETE": E},
    # Mailings and their reports.
    "mailings.index": {"GET": V},
    "mailings.show": {"GET": V},
    "mailings.progress": {"GET": V},
    "mailings.new": {"GET": E},  # the form of a change needs the role of the change
    "mailings.create": {"POST": E},
    "mailings.control": {"POST": E},
    "mailings.correction": {"POST": E},
    "mailings.test": {"POST": E},
    "mailings.approve": {"POST": E},  # the service also refuses the mailing's creator
    "mailings_api.index": {"GET": V},
    "mailings_api.show": {"GET": V},
    "mailings_api.deliveries": {"GET": V},
    "mailings_api.languages": {"GET": V},
    "mailings_api.create": {"POST": E},
    "mailings_api.send": {"POST": E},
    "mailings_api.approve": {"POST": E},  # the service also refuses the mailing's creator
    "mailings_api.pause": {"POST": E},
    "mailings_api.resume": {"POST": E},
    "mailings_api.cancel": {"POST": E},
    "mailings_api.resend_failed": {"POST": E},
    "mailings_api.correction": {"POST": E},
    "mailings_api.test": {"POST": E},
    "reports.report": {"GET": V},
    "reports.report_csv": {"GET": V},
    "tracking_api.mailing_report": {"GET": V},
    "tracking_api.report_csv": {"GET": V},
    "tracking_api.report_recipients": {"GET": V},
    "tracking_api.timeline": {"GET": V},
    "tracking_api.bounces": {"POST": E},
}

# Public routes whose own answer is a redirect to the sign-in page.
ANSWERS_WITH_LOGIN_PAGE = {"auth.logout"}
MISSING = 999_999  # an id no row has: a 404 after the access check is an allowed answer


@dataclass(frozen=True)
class Call:
    """One request of the matrix."""

    endpoint: str
    method: str
    path: str
    needed: str

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")


def route_methods(app: Flask) -> Iterator[tuple[Rule, str]]:
    """Every (rule, method) the app answers, HEAD and OPTIONS aside."""
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - IGNORED_METHODS):
            yield rule, method


def test_every_route_is_classified(app: Flask) -> None:
    """A new route fails here until the matrix says who may call it."""
    served = {(rule.endpoint, method) for rule, method in route_methods(app)}
    listed = {(endpoint, method) for endpoint, methods in MATRIX.items() for method in methods}
    unclassified = sorted(served - listed)
    assert not unclassified, (
        "routes missing from MATRIX in tests/security/test_route_matrix.py (add each with its "
        "minimum role): " + ", ".join(f"{method} {endpoint} ({_rule_of(app, endpoint)})"
                                      for endpoint, method in unclassified))
    stale = sorted(listed - served)
    assert not stale, f"MATRIX lists routes the app no longer has: {stale}"


def test_policy_agrees_with_the_matrix(app: Flask) -> None:
    """The policy's own reading of each route is the one the matrix intends."""
    from mailer.auth.policy import rule_for

    with app.test_request_context():
        differs = [(endpoint, method, str(rule_for(endpoint, method)), needed)
                   for endpoint, methods in MATRIX.items() if endpoint in app.view_functions
                   for method, needed in methods.items()
                   if str(rule_for(endpoint, method)) != needed]
    assert not differs, f"(endpoint, method, policy says, matrix says): {differs}"


def test_every_route_answers_every_role_as_intended(app: Flask, staff: dict[str, Any]) -> None:
    """Anonymous, viewer, editor and admin against each route and method."""
    ids = seed(app)
    calls = sorted(matrix_calls(app, ids), key=lambda call: call.endpoint == "auth.logout")
    failures: list[str] = []
    for role in ROLES:
        web, api = app.test_client(), app.test_client()
        if role != "anonymous":
            login(web, staff[role]["email"])
        token = csrf_token(web, "/login" if role == "anonymous" else "/account/")
        for call in calls:
            status, location = send(web, api, call, role, staff, token)
            allowed = call.needed == P or RANK[role] >= RANK[call.needed]
            verdict = judge(call, role, allowed, status, location)
            if verdict:
                failures.append(f"{role:9} {call.method:6} {call.path} ({call.endpoint}): "
                                f"{verdict}")
    assert not failures, f"{len(failures)} access failures:\n" + "\n".join(failures)


def judge(call: Call, role: str, allowed: bool, status: int, location: str) -> str | None:
    """Why this answer is wrong, or None when it is the intended one."""
    to_login = status in {301, 302, 303, 307, 308} and location.startswith("/login")
    if call.endpoint in ANSWERS_WITH_LOGIN_PAGE:
        to_login = False
    if status >= 500:
        return f"crashed with {status}"
    if allowed:
        if status in {401, 403} or to_login:
            return f"refused with {status} {location} but should be allowed"
        return None
    if role == "anonymous":
        wanted = (status == 401) if call.api else to_login
        return None if wanted else f"got {status} {location}; wanted " + (
            "401" if call.api else "a redirect to /login")
    return None if status == 403 else f"got {status} {location}; wanted 403"


def send(web: FlaskClient, api: FlaskClient, call: Call, role: str,
         staff: dict[str, Any], token: str) -> tuple[int, str]:
    """Make one call as ``role``: a bearer token on the API (from a client with no cookie, as
    the API never reads the session), the session and its CSRF token on the web."""
    if call.api:
        headers = bearer(staff[role]["token"]) if role != "anonymous" else {}
        body = {} if call.method not in {"GET", "DELETE"} else None
        response = api.open(call.path, method=call.method, headers=headers, json=body)
    else:
        data = {"csrf_token": token} if call.method != "GET" else None
        response = web.open(call.path, method=call.method, data=data)
    return response.status_code, response.headers.get("Location", "")


def matrix_calls(app: Flask, ids: dict[str, Any]) -> Iterator[Call]:
    """Each listed route with its URL filled: real rows for reads, missing rows for changes."""
    for rule, method in route_methods(app):
        needed = MATRIX.get(rule.endpoint, {}).get(method)
        if needed is None:
            continue  # test_every_route_is_classified reports it
        values = {name: value_for(name, rule, method, ids) for name in rule.arguments}
        with app.test_request_context():
            path = _build(app, rule, values)
        yield Call(rule.endpoint, method, path, needed)


def value_for(name: str, rule: Rule, method: str, ids: dict[str, Any]) -> Any:
    """A URL value: a seeded row's id for GET, a missing one for changes (nothing destroyed)."""
    if name == "language":
        return "en"
    if name == "action":
        return "pause"
    if name == "filename":
        return "missing.css"
    if name == "email":
        return "nobody@example.com"
    if name == "token":
        return "not-a-valid-token"
    if method != "GET":
        return MISSING
    return ids.get(name, MISSING)


def _build(app: Flask, rule: Rule, values: dict[str, Any]) -> str:
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, values, method=None, force_external=False)


def _rule_of(app: Flask, endpoint: str) -> str:
    return ", ".join(rule.rule for rule in app.url_map.iter_rules(endpoint))


def seed(app: Flask) -> dict[str, Any]:
    """One row of each kind the routes name, so reads reach real pages."""
    from mailer.auth import service as auth_service
    from mailer.releases import attachments

    sent = make_sent(app, "reader@example.com", "en")
    segment_id = make_segment(app, "Everyone")
    with app.app_context():
        png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
        attachment = attachments.store_attachment(sent.release_id, io.BytesIO(png), "a.png")
        admin = auth_service.find_user_by_email("admin@example.com")
        assert admin is not None
        return {"contact_id": sent.contact_id, "list_id": sent.list_id,
                "segment_id": segment_id, "release_id": sent.release_id,
                "mailing_id": sent.mailing_id, "attachment_id": attachment.id,
                "user_id": admin.id, "number": 1}

