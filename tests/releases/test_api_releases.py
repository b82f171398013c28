"""REST API of releases: create, list, read, change, delete, and the 4xx answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import bearer
from tests.releases.conftest import Api, release_body, text


def test_create_read_list_delete(api: Api) -> None:
    response = api("POST", "/releases", release_body(
        embargo_at="2016-05-31T09:00:00+05:00", contact_block="Lenur Kerymov\n+48 504 080 257",
        translations={"en": text(), "ru": text("Конференция в Душанбе", "Новости.", "")}))
    assert response.status_code == 201
    created = response.get_json()
    assert response.headers["Location"] == f"/api/v1/releases/{created['id']}"
    assert created["title"] == "Torture prevention conference"
    assert created["default_language"] == "en"
    assert created["embargo_at"] == "2016-05-31T04:00:00+00:00"
    assert created["contact_block"] == "Lenur Kerymov\n+48 504 080 257"
    assert created["languages"] == ["en", "ru"]
    assert created["created_by"] == "editor@example.com"
    ru = created["translations"]["ru"]
    assert ru["subject"] == "Конференция в Душанбе"
    assert ru["status"] == "draft" and ru["stale"] is False and ru["revision"] == 1
    assert ru["edited_at"].endswith("+00:00")

    got = api("GET", f"/releases/{created['id']}").get_json()
    assert got == created

    listing = api("GET", "/releases?per_page=10").get_json()
    assert listing["total"] == 1 and listing["page"] == 1 and listing["per_page"] == 10
    assert listing["items"][0]["translations"]["en"]["subject"] == "Conference in Dushanbe"

    assert api("DELETE", f"/releases/{created['id']}").status_code == 204
    assert api("GET", f"/releases/{created['id']}").status_code == 404
    assert api("GET", "/releases").get_json()["total"] == 0


def test_paging_and_search(api: Api, make_release: Callable[..., dict[str, Any]]) -> None:
    for n in range(3):
        make_release(title=f"Release {n}")
    make_release(title="Другое", translations={"en": text(subject="Annual report")})
    page = api("GET", "/releases?page=2&per_page=3").get_json()
    assert page["total"] == 4 and len(page["items"]) == 1
    assert page["items"][0]["title"] == "Release 0"  # newest first
    found = api("GET", "/releases?q=annual").get_json()
    assert [r["title"] for r in found["items"]] == ["Другое"]
    make_release(title="Funding 100% secured")
    literal = api("GET", "/releases", query_string={"q": "0%"}).get_json()
    assert [r["title"] for r in literal["items"]] == ["Funding 100% secured"]
    assert api("GET", "/releases", query_string={"q": "_"}).get_json()["total"] == 0
    assert api("GET", "/releases?per_page=0").status_code == 422


def test_release_without_translations_is_a_draft_title(api: Api) -> None:
    response = api("POST", "/releases", {"title": "Later", "default_language": "ru"})
    assert response.status_code == 201
    assert response.get_json()["translations"] == {}


@pytest.mark.parametrize(("body", "fields"), [
    ({}, {"title", "default_language"}),
    ({"title": " ", "default_language": "english!"}, {"title", "default_language"}),
    ({"title": "x" * 301, "default_language": "en"}, {"title"}),
    ({"title": "Line\nbreak", "default_language": "en"}, {"title"}),
    (release_body(embargo_at="2016-05-31T09:00"), {"embargo_at"}),
    (release_body(embargo_at="tomorrow"), {"embargo_at"}),
    (release_body(approvals_required="yes"), {"approvals_required"}),
    (release_body(translations=["en"]), {"translations"}),
    (release_body(translations={"en": "text"}), {"translations.en"}),
    (release_body(translations={"en": {"preheader": "p"}}),
     {"translations.en.subject", "translations.en.body"}),
    (release_body(translations={"en": text(subject="")}), {"translations.en.subject"}),
    (release_body(translations={"en": text(body=" \n ")}), {"translations.en.body"}),
    (release_body(translations={"en": text(subject="Hi\r\nBcc: victim@example.org")}),
     {"translations.en.subject"}),
    (release_body(translations={"en": text(), "ru": text(subject="x" * 301)}),
     {"translations.ru.subject"}),
    (release_body(translations={"en": text(body="x" * 200_001)}), {"translations.en.body"}),
    (release_body(translations={"en": text(), "not a tag": text()}),
     {"translations.not a tag"}),
    (release_body(translations={"ru": text()}), {"default_language"}),
])
def test_invalid_bodies_name_every_field(api: Api, body: dict[str, Any],
                                         fields: set[str]) -> None:
    response = api("POST", "/releases", body)
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == fields
    assert api("GET", "/releases").get_json()["total"] == 0


@pytest.mark.parametrize("payload", [
    "{{ config }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ self.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{% for x in range(10) %}x{% endfor %}",
    "{# comment #}",
    "{{ first_name | upper }}",
    "{{ unknown_field }}",
    "Dear {{ first_name",
])
def test_placeholders_beyond_the_allowed_ones_are_refused_on_save(api: Api,
                                                                  payload: str) -> None:
    for field in ("subject", "preheader", "body"):
        translation = text(**{field: f"Hello {payload}"})
        response = api("POST", "/releases", release_body(translations={"en": translation}))
        assert response.status_code == 422, (field, payload)
        fields = response.get_json()["error"]["fields"]
        assert set(fields) == {f"translations.en.{field}"}
    # The contact block is plain text, shown as written: braces there are never rendered.
    response = api("POST", "/releases", release_body(contact_block=payload))
    assert response.status_code == 201
    assert response.get_json()["contact_block"] == payload


def test_placeholders_the_engine_cannot_place_are_refused_on_save(api: Api) -> None:
    body = "[Your page](https://example.org/{{ email }})"
    response = api("POST", "/releases", release_body(translations={"en": text(body=body)}))
    assert response.status_code == 422
    fields = response.get_json()["error"]["fields"]
    assert set(fields) == {"translations.en.body"}
    assert "link" in fields["translations.en.body"]


def test_allowed_placeholders_are_saved(api: Api) -> None:
    body = "Dear {{ first_name }} {{last_name}} of {{ outlet }} ({{ email }}, {{ full_name }})"
    response = api("POST", "/releases", release_body(
        translations={"en": text(subject="For {{ outlet }}", body=body)}))
    assert response.status_code == 201
    assert response.get_json()["translations"]["en"]["body"] == body


def test_one_language_given_twice(api: Api) -> None:
    response = api("POST", "/releases", release_body(translations={"en": text(), "EN": text()}))
    assert response.status_code == 422
    [(field, reason)] = response.get_json()["error"]["fields"].items()
    assert field.lower() == "translations.en" and "given twice" in reason


def test_language_tags_are_normalised(api: Api) -> None:
    response = api("POST", "/releases", release_body(
        default_language="EN", translations={"EN": text(), "pt_br": text()}))
    assert response.status_code == 201
    assert sorted(response.get_json()["translations"]) == ["en", "pt-BR"]


def test_patch_changes_only_what_is_given(api: Api,
                                          make_release: Callable[..., dict[str, Any]]) -> None:
    release = make_release(embargo_at="2030-01-01T00:00:00Z")
    path = f"/releases/{release['id']}"
    changed = api("PATCH", path, {"title": "New title"}).get_json()
    assert changed["title"] == "New title"
    assert changed["embargo_at"] == "2030-01-01T00:00:00+00:00"
    assert changed["translations"] == release["translations"]

    cleared = api("PATCH", path, {"embargo_at": None, "approvals_required": True}).get_json()
    assert cleared["embargo_at"] is None and cleared["approvals_required"] is True

    added = api("PATCH", path, {"translations": {"ru": text("Тема", "Текст")}}).get_json()
    assert sorted(added["translations"]) == ["en", "ru"]
    partial = api("PATCH", path, {"translations": {"ru": {"preheader": "Новый"}}}).get_json()
    assert partial["translations"]["ru"]["subject"] == "Тема"
    assert partial["translations"]["ru"]["preheader"] == "Новый"
    assert partial["translations"]["ru"]["revision"] == 2

    deleted = api("PATCH", path, {"translations": {"ru": None}}).get_json()
    assert sorted(deleted["translations"]) == ["en"]

    bad = api("PATCH", path, {"title": "", "translations": {"kk": {"subject": "Only"}}})
    assert bad.status_code == 422
    assert set(bad.get_json()["error"]["fields"]) == {"title"}
    incomplete = api("PATCH", path, {"translations": {"kk": {"subject": "Only"}}})
    assert incomplete.status_code == 422
    assert set(incomplete.get_json()["error"]["fields"]) == {"translations.kk.body"}
    assert api("GET", path).get_json()["title"] == "New title"


def test_default_language_must_have_text_while_there_is_any(
        api: Api, make_release: Callable[..., dict[str, Any]]) -> None:
    release = make_release(translations={"en": text(), "ru": text()})
    path = f"/releases/{release['id']}"
    response = api("PATCH", path, {"default_language": "kk", "title": "Half-way",
                                    "translations": {"ru": None}})
    assert response.status_code == 422
    assert "default_language" in response.get_json()["error"]["fields"]
    # Refused as a whole: nothing of the request was applied.
    unchanged = api("GET", path).get_json()
    assert unchanged["title"] == release["title"] and sorted(unchanged["translations"]) == \
        ["en", "ru"]
    assert api("PATCH", path, {"default_language": "ru"}).get_json()["default_language"] == "ru"


def test_malformed_requests(api: Api, client: FlaskClient,
                            make_release: Callable[..., dict[str, Any]]) -> None:
    response = client.post("/api/v1/releases", data="{", content_type="application/json",
                           headers=bearer(api.token))
    assert response.status_code == 400
    assert api("POST", "/releases", ["not", "an", "object"]).status_code == 400
    assert api("GET", "/releases/999").status_code == 404
    assert api("PATCH", "/releases/999", {"title": "x"}).status_code == 404
    assert api("DELETE", "/releases/999").status_code == 404
    assert api("GET", "/releases/999/translations/en").status_code == 404


def test_roles(api: Api, viewer_api: Api, client: FlaskClient,
               make_release: Callable[..., dict[str, Any]]) -> None:
    release = make_release()
    path = f"/releases/{release['id']}"
    assert client.get("/api/v1/releases").status_code == 401
    assert viewer_api("GET", "/releases").status_code == 200
    assert viewer_api("GET", path).status_code == 200
    assert viewer_api("GET", f"{path}/translations/en/revisions").status_code == 200
    writes = [("POST", "/releases", release_body()),
              ("PATCH", path, {"title": "x"}),
              ("DELETE", path, None),
              ("PUT", f"{path}/translations/ru", text()),
              ("DELETE", f"{path}/translations/en", None),
              ("POST", f"{path}/translations/en/approve", None),
              ("POST", f"{path}/translations/en/unapprove", None),
              ("POST", f"{path}/translations/en/revisions/1/revert", None),
              ("POST", f"{path}/attachments", None),
              ("DELETE", f"{path}/attachments/1", None)]
    for method, url, body in writes:
        response = viewer_api(method, url, body)
        assert response.status_code == 403, (method, url)
        assert response.get_json()["error"]["code"] == "forbidden"
    assert api("GET", path).get_json() == release
