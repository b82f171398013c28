"""The settings page: who may change what, validation, the audit log, and that dispatch and
mailing creation use what was saved."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import bearer, csrf_token, login
from tests.tracking.support import make_release

GOOD = {"from_name": "Nota Bene Press", "from_address": "news@example.com",
        "reply_to": "desk@example.com", "rate": "10/s",
        "domain_rates": "Gmail.com=600/min\nmail.example.test=20/min:5",
        "track_by_default": ""}  # an unticked checkbox is simply left out of a form


def _post(client: FlaskClient, values: dict[str, str]) -> Any:
    data = {key: value for key, value in values.items() if value or key != "track_by_default"}
    data["csrf_token"] = csrf_token(client, "/")
    return client.post("/settings", data=data)


def _saved(app: Flask) -> dict[str, Any]:
    from mailer.settings import service

    with app.app_context():
        return service.saved_settings()


def test_admin_saves_and_the_change_is_audited(app: Flask, client: FlaskClient,
                                               staff: dict[str, Any]) -> None:
    login(client, "admin@example.com")
    assert 'href="/settings"' in client.get("/").get_data(as_text=True)
    page = client.get("/settings").get_data(as_text=True)
    assert 'placeholder="press@example.org"' in page  # the environment's default
    response = _post(client, GOOD)
    assert response.status_code == 302
    assert _saved(app) == {"from_name": "Nota Bene Press", "from_address": "news@example.com",
                           "reply_to": "desk@example.com", "rate": "10/s",
                           "domain_rates": "gmail.com=600/min,mail.example.test=20/min:5",
                           "track_by_default": False}
    page = client.get("/settings").get_data(as_text=True)
    assert "Settings saved." in page
    assert "Nota Bene Press &lt;news@example.com&gt;" in page

    from mailer.audit.models import AuditEvent
    from mailer.db import db

    with app.app_context():
        event = db.session.scalars(select(AuditEvent)
                                   .where(AuditEvent.action == "settings.changed")).one()
        assert event.actor_email == "admin@example.com"
        assert event.details["changes"]["rate"] == [None, "10/s"]

    # Emptying a field returns it to the environment's default.
    response = _post(client, {**GOOD, "rate": "", "track_by_default": "y"})
    assert response.status_code == 302
    saved = _saved(app)
    assert "rate" not in saved and "track_by_default" not in saved
    assert saved["from_address"] == "news@example.com"


def test_editor_and_viewer_cannot_change_settings(app: Flask, staff: dict[str, Any]) -> None:
    editor = app.test_client()
    login(editor, "editor@example.com")
    page = editor.get("/settings")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Only admins can change these settings." in text
    assert 'action="/settings"' not in text
    assert _post(editor, GOOD).status_code == 403

    viewer = app.test_client()
    login(viewer, "viewer@example.com")
    assert viewer.get("/settings").status_code == 403
    assert 'href="/settings"' not in viewer.get("/").get_data(as_text=True)
    assert _post(viewer, GOOD).status_code == 403
    assert _saved(app) == {}


def test_invalid_values_show_field_errors_and_save_nothing(app: Flask, client: FlaskClient,
                                                           staff: dict[str, Any]) -> None:
    login(client, "admin@example.com")
    response = _post(client, {**GOOD, "rate": "fast please"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="rate-error"' in page and "50/s, 600/min or 5000/h" in page
    assert _saved(app) == {}

    response = _post(client, {**GOOD, "rate": "0/s", "domain_rates": "gmail.com",
                              "from_address": "not an address", "reply_to": "x@"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for name in ("rate", "domain_rates", "from_address", "reply_to"):
        assert f'id="{name}-error"' in page, name
    assert "gmail.com” is not a domain=rate pair" in page
    assert _saved(app) == {}

    from mailer.audit.models import AuditEvent
    from mailer.db import db

    with app.app_context():
        assert db.session.scalar(select(func.count(AuditEvent.id))
                                 .where(AuditEvent.action == "settings.changed")) == 0


def test_new_mailing_uses_the_saved_tracking_default_and_sender(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    from mailer.contacts import lists
    from mailer.db import db
    from mailer.dispatch.models import Mailing
    from mailer.releases.messages import SampleRecipient, render_preview
    from mailer.releases.models import Release

    def tracking_box() -> str:
        form = client.get(f"/mailings/new?release_id={release_id}").get_data(as_text=True)
        start = form.index('name="tracking"')
        return form[form.rindex("<input", 0, start):form.index(">", start)]

    login(client, "admin@example.com")
    release_id = make_release(app, ("en",))
    with app.app_context():
        list_id = lists.create_list({"name": "Desk"}).id
    assert "checked" in tracking_box()
    assert _post(client, GOOD).status_code == 302

    # The form starts unticked, and the API without "tracking" follows the default too.
    assert "checked" not in tracking_box()
    response = client.post("/api/v1/mailings", json={"release_id": release_id,
                                                     "list_ids": [list_id]},
                           headers=bearer(staff["admin"]["token"]))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["tracking"] is False
    with app.app_context():
        mailing = db.session.get(Mailing, response.get_json()["id"])
        assert mailing is not None and mailing.tracking is False

        # Messages are composed with the saved sender.
        release = db.session.get(Release, release_id)
        assert release is not None
        message = render_preview(release, "en", SampleRecipient(contact_id=None,
                                                                email="anna@example.com"),
                                 app.config)
        assert dict(message.headers)["From"] == "Nota Bene Press <news@example.com>"
        assert dict(message.headers)["Reply-To"] == "desk@example.com"
        assert b"\r\nReply-To: desk@example.com\r\n" in message.as_bytes()


def test_dispatcher_paces_at_the_saved_rates(app: Flask, client: FlaskClient,
                                             staff: dict[str, Any]) -> None:
    from mailer.dispatch.compose import InstanceSettings
    from mailer.dispatch.ratelimit import Rate
    from mailer.dispatch.runner import send_policy
    from mailer.settings.service import effective_config

    with app.app_context(), app.test_request_context():
        before = send_policy()
        assert before.global_rate is None and before.domain_rates == {}

    login(client, "admin@example.com")
    assert _post(client, GOOD).status_code == 302
    with app.app_context(), app.test_request_context():
        policy = send_policy()
        assert policy.global_rate == Rate.parse("10/s")
        assert policy.domain_rates == {"gmail.com": Rate.parse("600/min"),
                                       "mail.example.test": Rate.parse("20/min:5")}
        settings = InstanceSettings.from_config(effective_config(app.config))
        assert settings.from_parts == ("Nota Bene Press", "news@example.com")
        assert settings.bounce_domain == "example.org"  # bounces still reach the same host


def test_names_that_need_quoting_survive(app: Flask) -> None:
    from email.utils import parseaddr

    from mailer.settings.service import mailbox

    assert parseaddr(mailbox('Nota "Bene", Press', "news@example.com")) == (
        'Nota "Bene", Press', "news@example.com")
    assert mailbox("", "news@example.com") == "news@example.com"
