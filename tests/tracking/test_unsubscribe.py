"""Unsubscribing: RFC 8058 one-click exactly as Gmail posts it, the page in the reader's
language, scopes, the preference centre, forged tokens, and the effect on waiting deliveries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from tests.tracking.support import FORM, ONE_CLICK_BODY, Sent, links, make_release, make_sent


def unsubscribe_path(app: Flask, sent: Sent) -> str:
    return links(app).unsubscribe_url(sent.ref()).removeprefix(app.config["MAILER_PUBLIC_URL"])


def suppression_reason(app: Flask, email: str) -> str | None:
    from mailer.contacts.suppressions import find

    with app.app_context():
        row = find(email)
        return row.reason if row else None


def test_one_click_post_exactly_as_gmail_sends_it(app: Flask) -> None:
    sent = make_sent(app)
    client = app.test_client(use_cookies=False)
    response = client.post(unsubscribe_path(app, sent), data=ONE_CLICK_BODY,
                           content_type=FORM, headers={"User-Agent": "Mozilla/5.0 (Gmail)"})
    assert response.status_code == 200  # never a redirect
    assert "Set-Cookie" not in response.headers
    assert suppression_reason(app, sent.email) == "unsubscribed"
    from mailer.contacts.suppressions import find

    with app.app_context():
        row = find(sent.email)
        assert row is not None and "one-click" in row.detail
        assert f"mailing {sent.mailing_id}" in row.detail
    # Again: still 200, nothing new.
    again = client.post(unsubscribe_path(app, sent), data=ONE_CLICK_BODY, content_type=FORM)
    assert again.status_code == 200
    report = app.test_client()
    assert report is not None


def test_get_never_unsubscribes(app: Flask) -> None:
    sent = make_sent(app)
    client = app.test_client()
    for _ in range(3):  # link scanners prefetch, sometimes more than once
        assert client.get(unsubscribe_path(app, sent)).status_code == 200
        assert client.head(unsubscribe_path(app, sent)).status_code == 200
    assert suppression_reason(app, sent.email) is None


@pytest.mark.parametrize(("language", "words"), [
    ("ru", ("Отписаться от рассылки", "Ваши настройки", "мая 2026")),
    ("tg", ("Бекор кардани обуна", "Танзимоти шумо", "2026")),
    ("kk", ("Жазылымнан бас тарту", "Сіздің баптауларыңыз", "мамыр")),
    ("ky", ("Жазылуудан баш тартуу", "Сиздин жөндөөлөрүңүз", "май")),
    ("pl", ("Wypisz", "Twoje ustawienia", "maja 2026")),
    ("en", ("Unsubscribe", "Your preferences", "May")),
])
def test_page_speaks_the_delivery_language(app: Flask, language: str,
                                           words: tuple[str, ...]) -> None:
    from mailer.db import db
    from mailer.dispatch.models import Delivery

    release = make_release(app, ("en", "ru", "tg", "kk", "ky", "pl"))
    sent = make_sent(app, f"{language}@example.org", language, release_id=release)
    with app.app_context():
        from datetime import UTC, datetime

        delivery = db.session.get(Delivery, sent.delivery_id)
        assert delivery is not None
        delivery.sent_at = datetime(2026, 5, 14, 9, 0, tzinfo=UTC)
        db.session.commit()
    response = app.test_client().get(unsubscribe_path(app, sent))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'<html lang="{language}" dir="ltr">' in html
    assert response.headers["Content-Language"] == language
    for word in words:
        assert word in html, (language, word)
    # One button that posts back to the same address, and the one-click field in it.
    form = re.search(r'<form method="post" action="([^"]+)" class="unsubscribe">', html)
    assert form and form.group(1) == unsubscribe_path(app, sent)
    assert 'name="List-Unsubscribe" value="One-Click"' in html
    if language != "en":
        assert "Your preferences" not in html  # no English left on a translated page


def test_language_names_and_dates_come_from_babel(app: Flask) -> None:
    release = make_release(app, ("ru", "kk", "en"))
    sent = make_sent(app, language="ru", release_id=release)
    html = app.test_client().get(unsubscribe_path(app, sent)).get_data(as_text=True)
    assert "Казахский" in html and "Английский" in html


@pytest.mark.parametrize("mangle", [
    # An altered signature (not its last character, whose low bits base64 ignores).
    lambda token: token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:],
    lambda token: "x" + token[1:],  # altered payload
    lambda token: token.split(".")[0],  # no signature
    lambda token: "not-a-token",
])
def test_forged_or_altered_tokens_are_404(app: Flask, mangle: object) -> None:
    sent = make_sent(app)
    token = links(app).unsubscribe_url(sent.ref()).rpartition("/")[2]
    assert callable(mangle)
    bad = mangle(token)
    client = app.test_client()
    assert client.get(f"/u/{bad}").status_code == 404
    assert client.post(f"/u/{bad}", data=ONE_CLICK_BODY, content_type=FORM).status_code == 404
    assert suppression_reason(app, sent.email) is None


def test_token_signed_with_another_key_is_404(app: Flask) -> None:
    from mailer.releases.links import Links

    sent = make_sent(app)
    other = Links(app.config["MAILER_PUBLIC_URL"], "another secret entirely")
    path = other.unsubscribe_url(sent.ref()).removeprefix(app.config["MAILER_PUBLIC_URL"])
    assert app.test_client().post(path, data=ONE_CLICK_BODY, content_type=FORM).status_code \
        == 404
    assert suppression_reason(app, sent.email) is None


def test_the_one_click_post_is_the_only_csrf_exempt_post_outside_the_api(app: Flask) -> None:
    csrf = app.extensions["csrf"]
    exempt = set(csrf._exempt_views)
    assert exempt == {"mailer.tracking.views.post"}
    for blueprint in csrf._exempt_blueprints:
        name = blueprint if isinstance(blueprint, str) else blueprint.name
        assert (app.blueprints[name].url_prefix or "").startswith("/api/"), name


def test_this_list_scope_and_waiting_deliveries(app: Flask) -> None:
    from mailer.db import db
    from mailer.dispatch.models import Delivery, Mailing
    from mailer.tracking.models import ListOptOut

    sent = make_sent(app)
    with app.app_context():
        # A later mailing to the same list, not started yet: waiting.
        later = Mailing(release_id=sent.release_id, list_ids=[sent.list_id], status="sending")
        db.session.add(later)
        db.session.flush()
        waiting = Delivery(mailing_id=later.id, contact_id=sent.contact_id, email=sent.email,
                           language="ru", status="claimed", message_id="<w@example.org>")
        db.session.add(waiting)
        db.session.commit()
        waiting_id = waiting.id
    response = app.test_client().post(unsubscribe_path(app, sent),
                                      data={"List-Unsubscribe": "One-Click", "scope": "list"})
    assert response.status_code == 200
    assert "Central Asia desk" in response.get_data(as_text=True)
    assert suppression_reason(app, sent.email) is None  # only the list
    with app.app_context():
        assert db.session.scalars(select(ListOptOut.list_id)).all() == [sent.list_id]
        row = db.session.get(Delivery, waiting_id)
        assert row is not None and (row.status, row.skip_reason) == ("skipped", "unsubscribed")


def test_freeze_honours_list_opt_outs_and_wanted_languages(app: Flask) -> None:
    from mailer.db import db
    from mailer.dispatch.freeze import freeze_audience
    from mailer.dispatch.models import Delivery, Mailing
    from mailer.tracking.unsubscribe import recipient_for, save_preferences

    release = make_release(app, ("en", "ru", "kk"))
    sent = make_sent(app, "a@example.kz", "ru", release_id=release)
    other = make_sent(app, "b@example.kz", "ru", release_id=release, list_id=sent.list_id)
    third = make_sent(app, "c@example.kz", "kk", release_id=release, list_id=sent.list_id,
                      contact={"languages": ["ru"]})
    with app.app_context():
        token = links(app).unsubscribe_url(other.ref()).rpartition("/")[2]
        # b@ opts out of the list; c@ wants only English and Russian.
        save_preferences(recipient_for(token, links(app)), [], [])
        token = links(app).unsubscribe_url(third.ref()).rpartition("/")[2]
        save_preferences(recipient_for(token, links(app)), [sent.list_id], ["en", "ru"])
        mailing = Mailing(release_id=release, list_ids=[sent.list_id], status="sending",
                          fallback_languages=["en"])
        db.session.add(mailing)
        db.session.commit()
        result = freeze_audience(mailing, ["en", "ru", "kk"], domain="example.org")
        rows = {d.email: d for d in db.session.scalars(
            select(Delivery).where(Delivery.mailing_id == mailing.id))}
    assert result.recipients == 2
    assert "b@example.kz" not in rows
    assert rows["a@example.kz"].language == "ru"
    assert rows["c@example.kz"].language == "ru"  # reads kk first, but wants en and ru only


def test_unwanted_language_is_skipped_not_sent_a_fallback(app: Flask) -> None:
    from mailer.db import db
    from mailer.dispatch.freeze import freeze_audience
    from mailer.dispatch.models import Delivery, Mailing
    from mailer.tracking.unsubscribe import recipient_for, save_preferences

    release = make_release(app, ("en",))
    sent = make_sent(app, "a@example.kz", "kk", release_id=release)
    with app.app_context():
        token = links(app).unsubscribe_url(sent.ref()).rpartition("/")[2]
        save_preferences(recipient_for(token, links(app)), [sent.list_id], ["kk"])
        mailing = Mailing(release_id=release, list_ids=[sent.list_id], status="sending",
                          fallback_languages=["en"])
        db.session.add(mailing)
        db.session.commit()
        freeze_audience(mailing, ["en"], domain="example.org")
        row = db.session.scalar(select(Delivery).where(Delivery.mailing_id == mailing.id))
    assert row is not None
    assert (row.status, row.skip_reason) == ("skipped", "no wanted language")


def test_preference_centre_form(app: Flask) -> None:
    from mailer.tracking.preferences import list_choices, wanted_languages

    release = make_release(app, ("en", "ru", "kk"))
    sent = make_sent(app, release_id=release)
    path = unsubscribe_path(app, sent)
    response = app.test_client(use_cookies=False).post(
        path, data={"action": "preferences", "language": ["ru", "kk"]})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Ваши настройки сохранены." in html
    assert suppression_reason(app, sent.email) is None
    with app.app_context():
        assert wanted_languages(sent.contact_id) == ["ru", "kk"]
        assert [c.subscribed for c in list_choices(sent.contact_id)] == [False]
    html = app.test_client().get(path).get_data(as_text=True)
    assert re.search(r'value="kk" checked', html) and not re.search(r'value="en" checked', html)


def test_unsubscribed_page_says_since_when(app: Flask) -> None:
    sent = make_sent(app, language="en", sent_ago=timedelta(days=2))
    client = app.test_client()
    client.post(unsubscribe_path(app, sent), data=ONE_CLICK_BODY, content_type=FORM)
    html = client.get(unsubscribe_path(app, sent)).get_data(as_text=True)
    assert "Your address is unsubscribed since" in html
    assert 'class="unsubscribe"' not in html


def test_mailing_counts_unsubscribes(app: Flask, staff: dict[str, dict[str, str]]) -> None:
    from tests.conftest import bearer

    sent = make_sent(app)
    app.test_client().post(unsubscribe_path(app, sent), data=ONE_CLICK_BODY, content_type=FORM)
    mailing = app.test_client().get(f"/api/v1/mailings/{sent.mailing_id}",
                                    headers=bearer(staff["viewer"]["token"])).get_json()
    assert mailing["counts"]["unsubscribed"] == 1
