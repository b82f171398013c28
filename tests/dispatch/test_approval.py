"""Second-person approval of mailings ("four-eyes"): who may approve, what waits for it, the
instance default, the audit log, and changes that withdraw an approval."""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from tests.conftest import api_token, bearer, csrf_token, login, make_user
from tests.tracking.support import make_release

SECOND = "second.editor@example.com"
NUMBERS = count()


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """What the web and API asked workers to do (no worker runs in these tests)."""
    calls: list[tuple[object, ...]] = []
    monkeypatch.setattr("mailer.dispatch.service.enqueue", lambda *args: calls.append(args))
    return calls


@pytest.fixture
def second(app: Flask, staff: dict[str, Any]) -> dict[str, Any]:
    """A second editor: the one who approves."""
    make_user(app, SECOND, "editor")
    return {"email": SECOND, "token": api_token(app, SECOND)}


def _call(app: Flask, token: str, method: str, path: str, json: Any = None) -> Any:
    return app.test_client().open(f"/api/v1{path}", method=method, json=json,
                                  headers=bearer(token))


def _audience(app: Flask, token: str) -> int:
    number = next(NUMBERS)
    list_id = _call(app, token, "POST", "/lists", {"name": f"Desk {number}"}).get_json()["id"]
    response = _call(app, token, "POST", "/contacts", {
        "email": f"reporter{number}@example.com", "first_name": "Anna", "language": "en",
        "list_ids": [list_id]})
    assert response.status_code == 201, response.get_json()
    return int(list_id)


def _mailing(app: Flask, token: str, **extra: Any) -> dict[str, Any]:
    release_id = make_release(app, ("en",))
    response = _call(app, token, "POST", "/mailings", {
        "release_id": release_id, "list_ids": [_audience(app, token)], **extra})
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


def test_creator_cannot_approve_a_second_editor_can_and_only_then_it_sends(
        app: Flask, staff: dict[str, Any], second: dict[str, Any],
        enqueued: list[tuple[object, ...]]) -> None:
    creator, viewer = staff["editor"]["token"], staff["viewer"]["token"]
    mailing = _mailing(app, creator, requires_approval=True)
    assert mailing["requires_approval"] is True
    assert mailing["approval"] == "waiting"
    assert mailing["approved_by"] is None and mailing["approved_at"] is None
    path = f"/mailings/{mailing['id']}"

    refused = _call(app, creator, "POST", f"{path}/send")
    assert refused.status_code == 409
    error = refused.get_json()["error"]
    assert error["code"] == "approval_required"
    assert "second person's approval" in error["message"]
    scheduled = _mailing(app, creator, requires_approval=True,
                         send_at="2031-12-01T09:00:00+05:00")
    refused = _call(app, creator, "POST", f"/mailings/{scheduled['id']}/send")
    assert refused.status_code == 409  # scheduling waits for approval just the same

    own = _call(app, creator, "POST", f"{path}/approve")
    assert own.status_code == 403
    assert own.get_json()["error"]["code"] == "self_approval"
    assert "another editor or admin" in own.get_json()["error"]["message"]
    assert _call(app, viewer, "POST", f"{path}/approve").status_code == 403
    assert enqueued == []

    approved = _call(app, second["token"], "POST", f"{path}/approve")
    assert approved.status_code == 200, approved.get_json()
    body = approved.get_json()
    assert body["approval"] == "approved" and body["approved_by"] == SECOND
    assert body["approved_at"] and body["approved_at"].endswith("+00:00")
    again = _call(app, staff["admin"]["token"], "POST", f"{path}/approve")
    assert again.status_code == 409 and SECOND in again.get_json()["error"]["message"]

    from mailer.audit.models import AuditEvent
    from mailer.db import db

    with app.app_context():
        events = db.session.scalars(select(AuditEvent)
                                    .where(AuditEvent.action == "mailing.approved")).all()
        assert [(e.actor_email, e.target_id) for e in events] == [(SECOND, str(mailing["id"]))]

    sent = _call(app, creator, "POST", f"{path}/send")
    assert sent.status_code == 202, sent.get_json()
    assert sent.get_json()["status"] == "sending"
    assert enqueued == [("dispatch.start_mailing", mailing["id"])]
    assert _call(app, second["token"], "GET", path).get_json()["approved_by"] == SECOND


def test_a_mailing_without_approval_sends_as_before_and_cannot_be_approved(
        app: Flask, staff: dict[str, Any], second: dict[str, Any],
        enqueued: list[tuple[object, ...]]) -> None:
    mailing = _mailing(app, staff["editor"]["token"])
    assert mailing["requires_approval"] is False and mailing["approval"] == "not_required"
    response = _call(app, second["token"], "POST", f"/mailings/{mailing['id']}/approve")
    assert response.status_code == 409
    assert _call(app, staff["editor"]["token"], "POST",
                 f"/mailings/{mailing['id']}/send").status_code == 202
    bad = _call(app, staff["editor"]["token"], "POST", "/mailings", {
        "release_id": mailing["release_id"], "list_ids": mailing["list_ids"],
        "requires_approval": "yes"})
    assert bad.status_code == 422 and "requires_approval" in bad.get_json()["error"]["fields"]


def test_test_sends_are_allowed_before_approval(
        app: Flask, staff: dict[str, Any], enqueued: list[tuple[object, ...]]) -> None:
    mailing = _mailing(app, staff["editor"]["token"], requires_approval=True)
    response = _call(app, staff["editor"]["token"], "POST", f"/mailings/{mailing['id']}/test",
                     {"emails": ["approver@example.com"]})
    assert response.status_code == 202, response.get_json()
    assert [call[0] for call in enqueued] == ["dispatch.send_tests"]


def test_editing_the_release_after_approval_withdraws_it(
        app: Flask, staff: dict[str, Any], second: dict[str, Any],
        enqueued: list[tuple[object, ...]]) -> None:
    creator = staff["editor"]["token"]
    mailing = _mailing(app, creator, requires_approval=True)
    path = f"/mailings/{mailing['id']}"
    assert _call(app, second["token"], "POST", f"{path}/approve").status_code == 200
    edited = _call(app, creator, "PUT", f"/releases/{mailing['release_id']}/translations/en",
                   {"subject": "Conference moved to Almaty", "preheader": "",
                    "body": "# News\n\nA different text."})
    assert edited.status_code == 200, edited.get_json()
    assert _call(app, creator, "GET", path).get_json()["approval"] == "outdated"
    refused = _call(app, creator, "POST", f"{path}/send")
    assert refused.status_code == 409
    assert "needs approval again" in refused.get_json()["error"]["message"]

    assert _call(app, second["token"], "POST", f"{path}/approve").status_code == 200
    assert _call(app, creator, "POST", f"{path}/send").status_code == 202


def _web_mailing(app: Flask, client: FlaskClient, token: str, approval: bool) -> int:
    release_id = make_release(app, ("en",))
    list_id = _audience(app, token)
    data = {"release_id": release_id, "list_ids": [list_id], "tracking": "y",
            "csrf_token": csrf_token(client, "/mailings/new")}
    if approval:
        data["requires_approval"] = "y"
    response = client.post("/mailings/", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])


def test_mailing_page_waits_for_approval_and_another_editor_gives_it(
        app: Flask, staff: dict[str, Any], second: dict[str, Any],
        enqueued: list[tuple[object, ...]]) -> None:
    creator = app.test_client()
    login(creator, staff["editor"]["email"])
    mailing_id = _web_mailing(app, creator, staff["editor"]["token"], approval=True)
    page_path = f"/mailings/{mailing_id}"
    page = creator.get(page_path).get_data(as_text=True)
    assert "Waiting for approval" in page
    assert f'action="/mailings/{mailing_id}/send"' not in page
    assert "You created this mailing" in page and f"/mailings/{mailing_id}/approve" not in page

    refused = creator.post(f"{page_path}/send", data={"csrf_token": csrf_token(creator, page_path)})
    assert refused.status_code == 409
    assert "needs a second person&#39;s approval" in refused.get_data(as_text=True)
    own = creator.post(f"{page_path}/approve",
                       data={"csrf_token": csrf_token(creator, page_path)})
    assert own.status_code == 403
    assert "you cannot approve it" in own.get_data(as_text=True)

    viewer = app.test_client()
    login(viewer, staff["viewer"]["email"])
    assert "Approve mailing" not in viewer.get(page_path).get_data(as_text=True)
    assert viewer.post(f"{page_path}/approve",
                       data={"csrf_token": csrf_token(viewer, page_path)}).status_code == 403

    approver = app.test_client()
    login(approver, SECOND)
    assert "Approve mailing" in approver.get(page_path).get_data(as_text=True)
    listing = approver.get("/mailings/").get_data(as_text=True)
    assert "waiting for approval" in listing
    done = approver.post(f"{page_path}/approve",
                         data={"csrf_token": csrf_token(approver, page_path)})
    assert done.status_code == 302
    page = approver.get(page_path).get_data(as_text=True)
    assert "Approved. The mailing can now be sent." in page
    assert f"Approved by {SECOND}" in page and "Waiting for approval" not in page

    sent = creator.post(f"{page_path}/send", data={"csrf_token": csrf_token(creator, page_path)})
    assert sent.status_code == 302
    assert enqueued == [("dispatch.start_mailing", mailing_id)]


def test_the_instance_setting_is_the_default_of_new_mailings(
        app: Flask, staff: dict[str, Any]) -> None:
    admin = app.test_client()
    login(admin, staff["admin"]["email"])
    release_id = make_release(app, ("en",))

    def approval_box() -> str:
        form = admin.get(f"/mailings/new?release_id={release_id}").get_data(as_text=True)
        start = form.index('name="requires_approval"')
        return form[form.rindex("<input", 0, start):form.index(">", start)]

    assert "checked" not in approval_box()
    assert "can be sent without a second person" in admin.get("/settings").get_data(as_text=True)
    saved = admin.post("/settings", data={"track_by_default": "y", "approval_by_default": "y",
                                          "csrf_token": csrf_token(admin, "/")})
    assert saved.status_code == 302
    page = admin.get("/settings").get_data(as_text=True)
    assert "new mailings need a second person" in page

    from mailer.settings import service

    with app.app_context():
        assert service.saved_settings() == {"approval_by_default": True}
    assert "checked" in approval_box()
    token = staff["editor"]["token"]
    assert _mailing(app, token)["requires_approval"] is True
    assert _mailing(app, token, requires_approval=False)["requires_approval"] is False

    # Unticking it again returns to the server's default: no approval.
    assert admin.post("/settings", data={"track_by_default": "y",
                                         "csrf_token": csrf_token(admin, "/")}).status_code == 302
    with app.app_context():
        assert service.saved_settings() == {}
    assert _mailing(app, token)["requires_approval"] is False
