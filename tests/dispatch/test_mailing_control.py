"""Mailing controls beyond sending: local-time windows, resend to failed, corrections,
the web pages and `mailer mailings watch`."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Flask
from sqlalchemy import select, update

from tests.conftest import Stack, csrf_token, login
from tests.dispatch.test_mailings import Api, add_contacts, new_list, new_release, wait_status
from tests.support.processes import ServiceProcess
from tests.support.smtp import SmtpSink


def deliveries(app: Flask, mailing_id: int) -> list[tuple[str, str, datetime | None]]:
    from mailer.db import db
    from mailer.dispatch.models import Delivery

    with app.app_context():
        rows = db.session.execute(select(Delivery.email, Delivery.status,
                                         Delivery.next_attempt_at)
                                  .where(Delivery.mailing_id == mailing_id)
                                  .order_by(Delivery.id)).all()
        return [tuple(r) for r in rows]  # type: ignore[misc]


def test_local_window_holds_each_delivery_until_nine_where_the_journalist_lives(
        stack: Stack) -> None:
    from mailer.db import db
    from mailer.dispatch.freeze import freeze_audience
    from mailer.dispatch.models import Mailing

    api = Api(stack.app)
    desk = new_list(api)
    add_contacts(stack.app, desk, 1, extra={"timezone": "Asia/Almaty"})
    add_contacts(stack.app, desk, 1, start=1, extra={"timezone": "Europe/Warsaw"})
    release = new_release(api)
    bad = stack.app.test_client().post("/api/v1/mailings", headers=api.headers, json={
        "release_id": release, "list_ids": [desk], "local_window": [11, 9]})
    assert "local_window" in bad.get_json()["error"]["fields"]
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk],
                                        "local_window": [9, 11]}, expect=201)
    assert mailing["local_window"] == [9, 11]
    with stack.app.app_context():
        row = db.session.get(Mailing, mailing["id"])
        assert row is not None
        freeze_audience(row, ["en", "ru"], domain="example.org",
                        now=datetime(2026, 12, 1, 1, 0, tzinfo=UTC))
    held = {email: due for email, _status, due in deliveries(stack.app, mailing["id"])}
    assert held == {"reporter0@example.com": datetime(2026, 12, 1, 4, 0, tzinfo=UTC),
                    "reporter1@example.com": datetime(2026, 12, 1, 8, 0, tzinfo=UTC)}


def test_resend_to_failed_and_correction_to_those_who_received_it(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink) -> None:
    api = Api(stack.app)
    desk = new_list(api)
    add_contacts(stack.app, desk, 5)
    smtp_sink.reply_rcpt("reporter2@example.com", "550 5.2.2 Mailbox full")
    release = new_release(api)
    mailing = api("POST", "/mailings", {"release_id": release, "list_ids": [desk]}, expect=201)
    refused = stack.app.test_client().post(f"/api/v1/mailings/{mailing['id']}/resend-failed",
                                           headers=api.headers)
    assert refused.status_code == 409  # a draft has nothing to resend
    api("POST", f"/mailings/{mailing['id']}/send", expect=202)
    done = wait_status(api, mailing["id"], "sent")
    assert done["counts"]["failed"] == 1

    smtp_sink.reset_faults()
    again = api("POST", f"/mailings/{mailing['id']}/resend-failed", expect=202)
    assert again["status"] == "sending"
    wait_status(api, mailing["id"], "sent")
    assert smtp_sink.by_recipient() == {f"reporter{n}@example.com": 1 for n in range(5)}

    # Someone left meanwhile: the correction reaches exactly those who got the original.
    from mailer.db import db
    from mailer.dispatch.models import Delivery

    with stack.app.app_context():
        db.session.execute(update(Delivery).where(Delivery.email == "reporter4@example.com")
                           .values(status="failed"))
        db.session.commit()
    add_contacts(stack.app, desk, 2, start=10)  # joined the list after the original went out
    correction = api("POST", f"/mailings/{mailing['id']}/correction",
                     {"release_id": release}, expect=201)
    assert correction["correction_of"] == mailing["id"]
    smtp_sink.clear()
    api("POST", f"/mailings/{correction['id']}/send", expect=202)
    wait_status(api, correction["id"], "sent")
    assert sorted(smtp_sink.by_recipient()) == [f"reporter{n}@example.com" for n in range(4)]
    languages = {d["email"]: d["language"] for d in api(
        "GET", f"/mailings/{correction['id']}/deliveries")["items"]}
    assert languages["reporter0@example.com"] == "ru" and languages["reporter1@example.com"] == "en"


def test_mailing_pages_and_the_watch_command(
        stack: Stack, celery_worker: ServiceProcess, smtp_sink: SmtpSink) -> None:
    api = Api(stack.app)
    desk = new_list(api)
    add_contacts(stack.app, desk, 3)
    release = new_release(api)
    client = stack.app.test_client()
    login(client, "editor@example.com")
    assert "No mailings yet" in client.get("/mailings/").get_data(as_text=True)
    form = client.get("/mailings/new").get_data(as_text=True)
    assert "Central Asia desk" in form
    response = client.post("/mailings/", data={
        "release_id": release, "list_ids": [desk], "fallback_languages": "en",
        "tracking": "y", "csrf_token": csrf_token(client, "/mailings/new")})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "2 ru" in page or "ru" in page
    mailing_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    sent = client.post(f"/mailings/{mailing_id}/send",
                       data={"csrf_token": csrf_token(client, f"/mailings/{mailing_id}")})
    assert sent.status_code == 302
    twice = client.post(f"/mailings/{mailing_id}/send",
                        data={"csrf_token": csrf_token(client, f"/mailings/{mailing_id}")})
    assert twice.status_code == 409
    assert "Only a draft can be sent" in twice.get_data(as_text=True)

    result = stack.app.test_cli_runner().invoke(args=["mailings", "watch", str(mailing_id),
                                                      "--interval", "0.2"])
    assert result.exit_code == 0, result.output
    assert "sent: " in result.output and "sent 3" in result.output
    progress = client.get(f"/mailings/{mailing_id}/progress.json").get_json()
    assert progress["status"] == "sent" and progress["counts"]["sent"] == 3
    listing = client.get("/mailings/").get_data(as_text=True)
    assert f'href="/mailings/{mailing_id}"' in listing
