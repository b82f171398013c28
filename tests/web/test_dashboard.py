"""The dashboard: recent mailings with their figures, releases waiting, bounces, empty states."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import login
from tests.tracking.support import make_release, make_sent


def _page(client: FlaskClient, email: str = "editor@example.com") -> str:
    login(client, email)
    response = client.get("/")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _section(page: str, section_id: str) -> str:
    start = page.index(f'id="{section_id}"')
    return page[start:page.index("</section>", start)]


def test_empty_dashboard_says_what_to_do_next(app: Flask, client: FlaskClient,
                                              staff: dict[str, Any]) -> None:
    page = _page(client)
    assert "No journalists yet." in page
    assert 'href="/contacts/import"' in page
    assert "No releases yet." in page
    assert 'href="/releases/new"' in page
    assert "No mailings yet." in _section(page, "recent-mailings")
    assert "No bounces or sending errors" in _section(page, "attention")
    assert 'action="/test-email"' in page  # the test email form is kept
    assert 'the <a href="/outbox/">outbox</a>' in page


def test_viewer_sees_the_dashboard_without_edit_links(app: Flask, client: FlaskClient,
                                                     staff: dict[str, Any]) -> None:
    sent = make_sent(app, "anna@example.com")
    page = _page(client, "viewer@example.com")
    assert "An editor can write one." not in page  # a release exists
    assert f'href="/mailings/{sent.mailing_id}"' in page
    assert 'action="/test-email"' not in page
    assert 'href="/mailings/new' not in page


def test_sent_mailing_shows_its_figures(app: Flask, client: FlaskClient,
                                        staff: dict[str, Any]) -> None:
    from mailer.db import db, utcnow
    from mailer.dispatch.models import Delivery
    from mailer.tracking.models import DeliveryEngagement

    sent = make_sent(app, "anna@example.com")
    second = make_sent(app, "bek@example.com", release_id=sent.release_id,
                       list_id=sent.list_id)
    with app.app_context():
        # Fold the second delivery into the first mailing: two sent, one opened and clicked.
        delivery = db.session.get(Delivery, second.delivery_id)
        assert delivery is not None
        delivery.mailing_id = sent.mailing_id
        db.session.add(Delivery(mailing_id=sent.mailing_id, contact_id=None,
                                email="gone@example.com", status="failed",
                                message_id="<failed.1@example.org>"))
        db.session.add(DeliveryEngagement(delivery_id=sent.delivery_id,
                                          mailing_id=sent.mailing_id, opens=2, clicks=1,
                                          first_opened_at=utcnow(), first_clicked_at=utcnow()))
        db.session.commit()
    rows = _section(_page(client), "recent-mailings")
    row = rows[rows.index(f'href="/mailings/{sent.mailing_id}"'):]
    row = row[:row.index("</tr>")]
    assert "Conference" in row
    assert f'href="/mailings/{sent.mailing_id}/report"' in row
    assert "status-sent" in row
    cells = [cell.split(">", 1)[1].split("<", 1)[0].strip()
             for cell in row.split("<td")[1:]]
    # (after the title) status, recipients, sent, failed / bounced, opened, clicked
    assert cells[1:6] == ["3", "2", "1 / 0", "50.0%", "50.0%"]


def test_waiting_releases_show_translation_problems(app: Flask, client: FlaskClient,
                                                    staff: dict[str, Any]) -> None:
    from mailer.db import db
    from mailer.releases.models import Release

    release_id = make_release(app, ("en", "ru", "kk"))
    with app.app_context():
        release = db.session.get(Release, release_id)
        assert release is not None
        release.title = "Drought report"
        release.approvals_required = True
        source = release.default_translation
        assert source is not None
        for translation in release.translations:
            if translation.language == "ru":
                translation.source_edited_at = source.edited_at
                translation.status = "approved"
            elif translation.language == "kk":
                translation.source_edited_at = source.edited_at - timedelta(hours=1)
        db.session.commit()
    sent = make_sent(app, "anna@example.com")  # its release went out: not waiting
    waiting = _section(_page(client), "waiting-releases")
    assert f'href="/releases/{release_id}"' in waiting
    assert f'href="/releases/{sent.release_id}"' not in waiting
    assert "kk · stale" in waiting
    assert "ru · stale" not in waiting
    assert "en · not approved" in waiting and "kk · not approved" in waiting
    assert "ru · not approved" not in waiting


def test_bounces_and_paused_mailings_need_attention(app: Flask, client: FlaskClient,
                                                    staff: dict[str, Any]) -> None:
    from mailer.contacts import suppressions
    from mailer.db import db
    from mailer.dispatch.models import Mailing
    from mailer.tracking.models import Bounce

    sent = make_sent(app, "gone@example.com")
    with app.app_context():
        db.session.add(Bounce(kind="hard", matched=True, delivery_id=sent.delivery_id,
                              mailing_id=sent.mailing_id, email="gone@example.com",
                              status="5.1.1", digest="a" * 64))
        db.session.add(Bounce(kind="soft", email="full@example.com", status="4.2.2",
                              digest="b" * 64))
        suppressions.suppress("gone@example.com", "hard_bounce", "5.1.1")
        mailing = db.session.get(Mailing, sent.mailing_id)
        assert mailing is not None
        mailing.status = "paused"
        mailing.pause_reason = "Too many errors: 30 of the last 50 deliveries failed."
        db.session.commit()
    attention = _section(_page(client), "attention")
    assert "Mailings paused by errors" in attention
    assert "Too many errors" in attention
    assert f'href="/mailings/{sent.mailing_id}"' in attention
    assert "Recent hard bounces" in attention
    assert "gone@example.com" in attention and "5.1.1" in attention
    assert "full@example.com" not in attention  # soft bounces retry by themselves
    assert "1 address suppressed by bounces this week" in attention
    assert 'href="/suppressions/?reason=hard_bounce"' in attention


def test_staff_pause_is_not_an_error(app: Flask, client: FlaskClient,
                                     staff: dict[str, Any]) -> None:
    from mailer.db import db
    from mailer.dispatch.models import Mailing

    sent = make_sent(app, "anna@example.com")
    with app.app_context():
        mailing = db.session.get(Mailing, sent.mailing_id)
        assert mailing is not None
        mailing.status = "paused"
        mailing.pause_reason = "Paused by staff."
        db.session.commit()
    assert "No bounces or sending errors" in _section(_page(client), "attention")
