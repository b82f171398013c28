"""The outbox transport and its pages, with the embedded worker running in this process."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from mailer import create_app
from mailer.db import db, utcnow
from mailer.outbox.models import OutboxMessage
from tests.conftest import app_config, csrf_token, login, make_user


@pytest.fixture
def embedded_app(sqlite_template: Path, tmp_path: Path) -> Iterator[Flask]:
    """An app in the embedded default: SQLite, filesystem broker, outbox, in-process worker."""
    import shutil

    from worker.embedded import start_embedded_worker

    shutil.copyfile(sqlite_template, tmp_path / "mailer.db")
    app = create_app(app_config(tmp_path / "instance", f"sqlite:///{tmp_path / 'mailer.db'}"))
    assert app.config["MAILER_SMTP_URL"] == "outbox:"
    assert app.config["MAILER_EMBEDDED_BROKER"]
    worker = start_embedded_worker(app.extensions["celery"], beat=False)
    yield app
    worker.stop(in_sighandler=False)
    with app.app_context():
        db.engine.dispose()


def _wait_for_outbox(app: Flask, count: int, timeout: float = 15) -> list[OutboxMessage]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with app.app_context():
            rows = list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
            if len(rows) >= count:
                db.session.expunge_all()
                return rows
        time.sleep(0.1)
    raise AssertionError(f"the outbox did not get {count} message(s)")


def test_test_email_lands_in_the_outbox_and_is_shown(embedded_app: Flask) -> None:
    make_user(embedded_app, "editor@example.com", "editor")
    client = embedded_app.test_client()
    login(client, "editor@example.com")
    client.post("/test-email", data={"email": "desk@example.com",
                                     "csrf_token": csrf_token(client, "/")})
    (row,) = _wait_for_outbox(embedded_app, 1)
    assert row.recipients == ["desk@example.com"]
    assert row.mail_from == "press@example.org"
    assert row.subject == "Test message from Press Office"
    assert row.data.startswith(b"From: Press Office <press@example.org>\r\n")

    listing = client.get("/outbox/").get_data(as_text=True)
    assert "Test message from Press Office" in listing
    detail = client.get(f"/outbox/{row.id}").get_data(as_text=True)
    assert "This is a test message." in detail  # the text part
    assert f'src="/outbox/{row.id}/html"' in detail
    assert "sandbox" in detail
    html = client.get(f"/outbox/{row.id}/html")
    assert "sandbox" in html.headers["Content-Security-Policy"]
    assert "<p>This is a test message.</p>" in html.get_data(as_text=True)
    raw = client.get(f"/outbox/{row.id}/raw")
    assert raw.data == row.data
    assert client.get("/outbox/999999").status_code == 404


def test_outbox_shows_hostile_messages_safely(embedded_app: Flask) -> None:
    from mailer.dispatch.transports import Envelope
    from mailer.outbox.service import store_envelope

    data = (b"From: a@example.com\r\nTo: b@example.com\r\n"
            b"Subject: <script>alert(1)</script>\r\nContent-Type: text/plain\r\n\r\n"
            b"<img src=x onerror=alert(1)>\r\n")
    with embedded_app.app_context():
        message_id = store_envelope(Envelope("a@example.com", ("b@example.com",), data))
    make_user(embedded_app, "viewer@example.com", "viewer")
    client = embedded_app.test_client()
    login(client, "viewer@example.com")
    page = client.get(f"/outbox/{message_id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_purge_removes_only_old_messages(embedded_app: Flask) -> None:
    from mailer.dispatch.transports import Envelope
    from mailer.outbox.service import purge_older_than, store_envelope

    with embedded_app.app_context():
        old = store_envelope(Envelope("a@example.com", ("b@example.com",), b"Subject: old\r\n\r\n"))
        store_envelope(Envelope("a@example.com", ("b@example.com",), b"Subject: new\r\n\r\n"))
        row = db.session.get(OutboxMessage, old)
        assert row is not None
        row.created_at = utcnow() - timedelta(days=31)
        db.session.commit()
        assert purge_older_than(30) == 1
        assert [r.subject for r in db.session.scalars(select(OutboxMessage))] == ["new"]


def test_purge_task_runs_on_the_worker(embedded_app: Flask) -> None:
    """The beat schedule's task is registered and runs through the broker."""
    celery = embedded_app.extensions["celery"]
    assert "housekeeping.purge_outbox" in celery.tasks
    schedule = celery.conf.beat_schedule["purge-outbox"]
    assert schedule["task"] == "housekeeping.purge_outbox"
    celery.send_task("housekeeping.purge_outbox")  # nothing to purge: must not fail
    make_user(embedded_app, "editor@example.com", "editor")
    client = embedded_app.test_client()
    login(client, "editor@example.com")
    client.post("/test-email", data={"email": "desk@example.com",
                                     "csrf_token": csrf_token(client, "/")})
    _wait_for_outbox(embedded_app, 1)  # the worker is still alive after the purge
