"""The hosted web version: hidden until the embargo lifts, 404 for anything forged."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mailer.releases.links import Links
from tests.releases.conftest import Api, text

Maker = Callable[..., dict[str, Any]]


def web_url(app: Flask, release_id: int, language: str) -> str:
    """The path of a translation's web version, as emails carry it."""
    links = Links(app.config["MAILER_PUBLIC_URL"], app.config["SECRET_KEY"])
    return links.web_version_url(release_id, language).removeprefix(links.base)


def test_shown_once_the_embargo_has_lifted(app: Flask, client: FlaskClient,
                                           sample_release: dict[str, Any]) -> None:
    response = client.get(web_url(app, sample_release["id"], "ru"))  # embargo was in 2016
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<html lang="ru"' in html
    assert sample_release["translations"]["ru"]["subject"].split(":")[0] in html
    # Nobody's data and no tracking: no unsubscribe, no pixel, links untouched.
    assert "/u/" not in html and "/t/o/" not in html and "/t/c/" not in html
    assert "mailto:L.Kerymov@hfhrpol.waw.pl" in html
    assert "<script" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "sandbox" in csp
    assert response.headers["Content-Language"] == "ru"
    assert "noindex" in response.headers["X-Robots-Tag"]


def test_hidden_until_the_embargo_lifts(app: Flask, client: FlaskClient, api: Api,
                                        make_release: Maker) -> None:
    soon = datetime.now(UTC) + timedelta(hours=2)
    release = make_release(embargo_at=soon.isoformat(),
                           translations={"en": text(body="# Secret news\n\nNot yet.")})
    url = web_url(app, release["id"], "en")
    hidden = client.get(url)
    assert hidden.status_code == 404
    page = hidden.get_data(as_text=True)
    assert "Not published yet" in page
    assert "Secret news" not in page and release["translations"]["en"]["subject"] not in page
    assert hidden.headers["Cache-Control"] == "no-store"

    past = datetime.now(UTC) - timedelta(minutes=1)
    api("PATCH", f"/releases/{release['id']}", {"embargo_at": past.isoformat()})
    shown = client.get(url)
    assert shown.status_code == 200
    assert "Secret news" in shown.get_data(as_text=True)


def test_no_embargo_means_published(app: Flask, client: FlaskClient, make_release: Maker) -> None:
    release = make_release()
    assert client.get(web_url(app, release["id"], "en")).status_code == 200


def _flip_signature(token: str) -> str:
    """The token with its signature's first character changed (not the last: that one
    carries two padding bits base64 ignores, so changing it may change nothing)."""
    payload, signature = token.split(".")
    return f"{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"


def _payload(release_id: int, language: str) -> str:
    raw = json.dumps([release_id, language], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("mangle", [
    lambda token, _id: _flip_signature(token),                            # signature altered
    lambda token, id_: _payload(id_, "ru") + "." + token.split(".")[1],  # payload swapped
    lambda token, id_: _payload(id_ + 1, "en") + "." + token.split(".")[1],
    lambda token, _id: _payload(_id, "en"),                                # no signature
    lambda token, _id: "nonsense",
    lambda token, _id: token + ".extra",
])
def test_forged_tokens_are_not_found(app: Flask, client: FlaskClient, make_release: Maker,
                                     mangle: Callable[[str, int], str]) -> None:
    release = make_release(translations={"en": text(), "ru": text("Тема", "Текст")})
    make_release()
    token = web_url(app, release["id"], "en").removeprefix("/r/")
    assert token.split(".")[0] == _payload(release["id"], "en")
    response = client.get("/r/" + mangle(token, release["id"]))
    assert response.status_code == 404
    assert "Not published yet" not in response.get_data(as_text=True)


def test_a_token_signed_with_another_secret_is_not_found(app: Flask, client: FlaskClient,
                                                         make_release: Maker) -> None:
    release = make_release()
    other = Links(app.config["MAILER_PUBLIC_URL"], "another-secret-of-another-instance")
    assert client.get(f"/r/{other.web_version_token(release['id'], 'en')}").status_code == 404


def test_deleted_translation_or_release_is_not_found(app: Flask, client: FlaskClient, api: Api,
                                                     make_release: Maker) -> None:
    release = make_release(translations={"en": text(), "ru": text("Тема", "Текст")})
    ru, en = web_url(app, release["id"], "ru"), web_url(app, release["id"], "en")
    api("DELETE", f"/releases/{release['id']}/translations/ru")
    assert client.get(ru).status_code == 404
    api("DELETE", f"/releases/{release['id']}")
    assert client.get(en).status_code == 404


def test_links_round_trip_and_refuse_other_kinds(app: Flask) -> None:
    from mailer.releases.links import DeliveryRef

    links = Links("https://press.example.org/", "s" * 40)
    assert links.read_web_version(links.web_version_token(7, "pt-BR")) == (7, "pt-BR")
    ref = DeliveryRef(12, 34)
    unsubscribe = links.unsubscribe_url(ref).rsplit("/", 1)[1]
    assert links.read_unsubscribe(unsubscribe) == ref
    assert links.read_open(links.open_url(ref).rsplit("/", 1)[1]) == ref
    click = links.click_url(ref, "https://example.org/a?b=c&d=é").rsplit("/", 1)[1]
    assert links.read_click(click) == (ref, "https://example.org/a?b=c&d=é")
    # A token of one kind is worthless as another (each kind has its own salt).
    assert links.read_web_version(unsubscribe) is None
    assert links.read_click(unsubscribe) is None
    assert links.read_unsubscribe(click) is None
    assert links.unsubscribe_url(ref).startswith("https://press.example.org/u/")
    assert links.unsubscribe_mailto("bounces.example.org", ref).startswith(
        "mailto:unsubscribe@bounces.example.org?subject=unsubscribe%20")
