"""The preview equals the send: the API preview, the matrix page, its frames and warnings."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import login
from tests.releases.conftest import Api, load_fixture_translations, text

Maker = Callable[..., dict[str, Any]]
PER_SEND = {"Date"}


def make_contact(api: Api, **fields: Any) -> int:
    """Create a journalist through the contacts API; returns the id."""
    response = api("POST", "/contacts", fields)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def parts(data: bytes) -> tuple[str, str, str, dict[str, str]]:
    """(subject, text, html, headers) of a message as a mail client reads it."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    headers = {name: str(value) for name, value in message.items()}
    return str(message["Subject"]), plain.get_content(), html.get_content(), headers


def test_preview_of_a_contact_equals_what_dispatch_sends(app: Flask, api: Api,
                                                        sample_release: dict[str, Any]) -> None:
    """The preview and dispatch's composer produce the same message for the same delivery
    identifiers (preview: delivery 0); only the Date is per send."""
    from mailer.db import db
    from mailer.dispatch.compose import InstanceSettings, MailingComposer
    from mailer.dispatch.ledger import ClaimedDelivery

    contact_id = make_contact(api, email="Aigerim@Example.KZ", first_name="Айгерим",
                              last_name="O'Neil, \"Jr\"", outlet="Vlast.kz", language="ru",
                              timezone="Asia/Almaty")
    preview = api("GET", f"/releases/{sample_release['id']}/preview?language=ru"
                         f"&contact_id={contact_id}").get_json()
    assert preview["language"] == "ru" and preview["contact_id"] == contact_id
    with app.test_request_context():
        composer = MailingComposer(0, sample_release["id"],
                                   InstanceSettings.from_config(app.config))
        composer.prepare([ClaimedDelivery(0, contact_id, preview["recipient"], "ru",
                                          preview["headers"]["Message-ID"], 0)])
        envelope = composer.compose(ClaimedDelivery(0, contact_id, preview["recipient"], "ru",
                                                    preview["headers"]["Message-ID"], 0))
        db.session.remove()
    subject, plain, html, headers = parts(envelope.data)
    assert subject == preview["subject"]
    assert plain.replace("\r\n", "\n") == preview["text"]
    assert html.replace("\r\n", "\n") == preview["html"]
    sent = {k: v for k, v in headers.items() if k not in PER_SEND}
    shown = {k: v for k, v in preview["headers"].items() if k not in PER_SEND}
    assert sent == shown


def test_preview_equals_the_rendering_engine_for_that_contact(
        app: Flask, api: Api, sample_release: dict[str, Any]) -> None:
    from mailer.contacts.models import Contact
    from mailer.db import db
    from mailer.dispatch.compose import release_content
    from mailer.releases.links import DeliveryRef, Links
    from mailer.releases.models import Release
    from mailer.rendering import MessageContext, Recipient, compile_release, render_message

    contact_id = make_contact(api, email="ivan@example.org", first_name="Иван",
                              last_name="Петров", outlet="Fergana", language="tg",
                              timezone="Asia/Dushanbe", tracking=False)
    preview = api("GET", f"/releases/{sample_release['id']}/preview"
                         f"?contact_id={contact_id}").get_json()
    assert preview["language"] == "tg"
    assert preview["reason"] == "ranked 1st"
    with app.app_context():
        release = db.session.get(Release, sample_release["id"])
        contact = db.session.get(Contact, contact_id)
        assert release is not None and contact is not None
        links = Links(app.config["MAILER_PUBLIC_URL"], app.config["SECRET_KEY"])
        ref = DeliveryRef(0, contact_id)
        context = MessageContext(
            from_address="press@example.org", from_name="Press Office",
            public_url=app.config["MAILER_PUBLIC_URL"], list_id="example.org",
            list_name="Press Office", organisation="Press Office",
            unsubscribe_url=links.unsubscribe_url(ref),
            unsubscribe_mailto=links.unsubscribe_mailto("example.org", ref),
            message_id=preview["headers"]["Message-ID"],
            envelope_sender="bounce@example.org",  # the SMTP envelope, in no header
            feedback_id=preview["headers"]["Feedback-ID"],
            date=datetime.now(UTC),
            web_version_url=links.web_version_url(release.id, "tg"))
        recipient = Recipient(email=contact.email, first_name=contact.first_name,
                              last_name=contact.last_name, outlet=contact.outlet,
                              language="tg", timezone=contact.timezone, tracking=False)
        message = render_message(compile_release(release_content(release, "tg")), recipient,
                                 context)
    assert preview["subject"] == message.subject
    assert preview["html"] == message.html
    assert preview["text"] == message.text
    headers = {k: v for k, v in message.headers if k not in PER_SEND}
    assert {k: v for k, v in preview["headers"].items() if k not in PER_SEND} == headers
    # Tracking is off for this contact: no pixel, no rewritten links.
    assert "/t/o/" not in preview["html"] and "/t/c/" not in preview["html"]


def test_preview_json_shape_and_tracking(api: Api, sample_release: dict[str, Any]) -> None:
    response = api("GET", f"/releases/{sample_release['id']}/preview?language=kk")
    assert response.status_code == 200
    preview = response.get_json()
    assert {"language", "subject", "html", "text", "headers"} <= set(preview)
    assert preview["language"] == "kk"
    assert preview["contact_id"] is None
    assert preview["recipient"] == "journalist@example.org"  # the built-in sample
    headers = preview["headers"]
    assert headers["Content-Language"] == "kk"
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert headers["List-Unsubscribe"].startswith("<http://127.0.0.1:5000/u/")
    assert headers["Subject"] == preview["subject"]
    assert preview["subject"] == load_fixture_translations()["kk"]["subject"]
    assert 'lang="kk"' in preview["html"]
    assert "/t/o/" in preview["html"]  # the open pixel
    assert "mailto:" in preview["html"]  # mailto: links are never rewritten
    english = api("GET", f"/releases/{sample_release['id']}/preview?language=en").get_json()
    assert "http://127.0.0.1:5000/t/c/" in english["html"]  # web links pass through tracking
    assert "eeas.europa.eu" not in english["html"]
    assert "eeas.europa.eu" in english["text"]  # the text part keeps the original address
    assert "http://127.0.0.1:5000/r/" in preview["text"]  # "view in your browser"
    assert preview["size"] > len(preview["html"])
    codes = {w["code"] for w in preview["warnings"]}
    assert "http_public_url" in codes  # MAILER_PUBLIC_URL is http in the tests


def test_preview_language_choice(api: Api, make_release: Maker) -> None:
    release = make_release(translations={"en": text(), "ru": text("Тема", "Текст")})
    url = f"/releases/{release['id']}/preview"
    assert api("GET", url).get_json()["language"] == "en"
    tg_reader = make_contact(api, email="tg@example.org", language="tg", languages=["tg", "ru"])
    chosen = api("GET", f"{url}?contact_id={tg_reader}").get_json()
    assert (chosen["language"], chosen["reason"]) == ("ru", "ranked 2nd; tg not translated")
    kk_reader = make_contact(api, email="kk@example.org", language="kk")
    fallback = api("GET", f"{url}?contact_id={kk_reader}").get_json()
    assert (fallback["language"], fallback["reason"]) == \
        ("en", "fallback to en: no translation in kk")
    missing = api("GET", f"{url}?language=kk")
    assert missing.status_code == 404
    assert api("GET", f"{url}?language=bad!tag").status_code == 422
    assert api("GET", f"{url}?contact_id=999").status_code == 404
    assert api("GET", f"{url}?contact_id=abc").status_code == 422
    assert api("GET", "/releases/999/preview").status_code == 404
    empty = api("POST", "/releases", {"title": "Empty", "default_language": "en"}).get_json()
    assert api("GET", f"/releases/{empty['id']}/preview").status_code == 404


def test_personalisation_and_escaping(api: Api, make_release: Maker) -> None:
    release = make_release(translations={"en": text(
        subject="For {{ first_name }} at {{ outlet }}",
        body="Dear {{ full_name }},\n\nNews for {{ outlet }}.")})
    contact = make_contact(api, email="x@example.org", first_name="<script>alert(1)</script>",
                           last_name="Smith", outlet="A & B")
    preview = api("GET", f"/releases/{release['id']}/preview?contact_id={contact}").get_json()
    assert preview["subject"] == "For <script>alert(1)</script> at A & B"
    assert "<script>" not in preview["html"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Smith" in preview["html"]
    assert "Dear <script>alert(1)</script> Smith," in preview["text"]


def test_warnings(api: Api, make_release: Maker) -> None:
    body = ("# Title\n\n![](https://example.org/chart.png)\n\n![Logo](https://example.org/l.png)"
            "\n\n[old site](http://example.org/page) and [new](https://example.org/)\n\n"
            "Dear {{ outlet }}\n\n" + "Padding paragraph of a long release. " * 3000)
    release = make_release(approvals_required=True,
                           translations={"en": text(body=body), "ru": text("Тема", "Текст")})
    api("PUT", f"/releases/{release['id']}/translations/en", text(body=body + "\n\nMore."))
    preview = api("GET", f"/releases/{release['id']}/preview?language=ru").get_json()
    codes = {w["code"] for w in preview["warnings"]}
    assert {"stale", "unapproved"} <= codes
    preview = api("GET", f"/releases/{release['id']}/preview?language=en").get_json()
    by_code = {w["code"]: w["message"] for w in preview["warnings"]}
    assert "clipped" in by_code
    assert "chart.png" in by_code["image_alt"] and "l.png" not in by_code["image_alt"]
    assert "http://example.org/page" in by_code["http_link"]
    assert "https://example.org/" not in by_code["http_link"].replace("http://example.org/page",
                                                                       "")
    assert "stale" not in by_code and "empty_placeholder" not in by_code
    nobody = make_contact(api, email="no.outlet@example.org")
    preview = api("GET", f"/releases/{release['id']}/preview?language=en"
                         f"&contact_id={nobody}").get_json()
    by_code = {w["code"]: w["message"] for w in preview["warnings"]}
    assert by_code["empty_placeholder"].startswith("{{ outlet }} empty for no.outlet@")


def test_matrix_page(app: Flask, client: FlaskClient, api: Api,
                     staff: dict[str, Any], sample_release: dict[str, Any]) -> None:
    make_contact(api, email="ru@example.org", first_name="Анна", language="ru")
    make_contact(api, email="kk@example.org", first_name="Асель", language="kk")
    make_contact(api, email="uz@example.org", first_name="Dilnoza", language="uz")
    make_contact(api, email="uz2@example.org", language="uz")
    login(client, "viewer@example.com")
    page = client.get(f"/releases/{sample_release['id']}/preview")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for language in sample_release["languages"]:
        assert f'id="lang-{language}"' in html
    # Three sample recipients: one per release language where a contact reads it.
    assert html.count('class="preview-cell"') == 3 * len(sample_release["languages"])
    assert "ru@example.org" in html and "kk@example.org" in html
    assert "No translation in uz: 2 contacts read it first" in html
    assert html.count("<iframe sandbox") == 2 * 3 * len(sample_release["languages"])
    frame = client.get(f"/releases/{sample_release['id']}/preview/frame?language=ru")
    assert frame.status_code == 200
    csp = frame.headers["Content-Security-Policy"]
    assert "sandbox" in csp and "script-src" not in csp and "default-src 'none'" in csp
    assert frame.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert '<html lang="ru"' in frame.get_data(as_text=True)


def test_matrix_with_no_contacts_uses_the_built_in_sample(client: FlaskClient,
                                                          staff: dict[str, Any],
                                                          make_release: Maker) -> None:
    release = make_release()
    login(client, "viewer@example.com")
    html = client.get(f"/releases/{release['id']}/preview").get_data(as_text=True)
    assert "Dana Sample &lt;journalist@example.org&gt; (built-in sample)" in html
    assert html.count('class="preview-cell"') == 1


@pytest.mark.parametrize("path", ["/preview", "/preview/frame?language=en"])
def test_preview_pages_need_a_sign_in(client: FlaskClient, make_release: Maker,
                                      path: str) -> None:
    release = make_release()
    assert client.get(f"/releases/{release['id']}{path}").status_code == 302
