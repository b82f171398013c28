"""Translations: PUT and DELETE, the stale flag, approvals, revision history and revert."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.releases.conftest import Api, text

Maker = Callable[..., dict[str, Any]]


@pytest.fixture
def release(make_release: Maker) -> dict[str, Any]:
    """A release in en (default) and ru."""
    return make_release(translations={"en": text(), "ru": text("Тема", "Текст", "")})


def path(release: dict[str, Any], rest: str = "") -> str:
    """The API path of ``release``, plus ``rest``."""
    return f"/releases/{release['id']}{rest}"


def translations(api: Api, release: dict[str, Any]) -> dict[str, Any]:
    """The release's translations as they are now."""
    return api("GET", path(release)).get_json()["translations"]


def test_put_creates_then_replaces(api: Api, release: dict[str, Any]) -> None:
    created = api("PUT", path(release, "/translations/kk"), text("Тақырып", "Мәтін"))
    assert created.status_code == 201
    assert created.get_json()["language"] == "kk"
    assert created.get_json()["revision"] == 1
    replaced = api("PUT", path(release, "/translations/kk"), {"subject": "Жаңа", "body": "Б"})
    assert replaced.status_code == 200
    body = replaced.get_json()
    assert (body["subject"], body["preheader"], body["body"]) == ("Жаңа", "", "Б")
    assert body["revision"] == 2
    assert api("GET", path(release, "/translations/kk")).get_json() == body
    # PUT replaces: subject and body are required.
    missing = api("PUT", path(release, "/translations/kk"), {"preheader": "x"})
    assert missing.status_code == 422
    assert set(missing.get_json()["error"]["fields"]) == {"subject", "body"}
    placeholder = api("PUT", path(release, "/translations/kk"), text(body="{{ config }}"))
    assert placeholder.status_code == 422
    assert set(placeholder.get_json()["error"]["fields"]) == {"body"}
    bad_tag = api("PUT", path(release, "/translations/not!a!tag"), text())
    assert bad_tag.status_code == 422
    assert api("PUT", "/releases/999/translations/kk", text()).status_code == 404


def test_same_text_makes_no_revision(api: Api, release: dict[str, Any]) -> None:
    ru = translations(api, release)["ru"]
    again = api("PUT", path(release, "/translations/ru"),
                {"subject": ru["subject"], "preheader": ru["preheader"], "body": ru["body"]})
    assert again.get_json()["revision"] == 1
    assert again.get_json()["edited_at"] == ru["edited_at"]


def test_delete_translation(api: Api, release: dict[str, Any]) -> None:
    # The default-language text is the source of the others: not deleted while they exist.
    refused = api("DELETE", path(release, "/translations/en"))
    assert refused.status_code == 409
    assert refused.get_json()["error"]["code"] == "conflict"
    assert api("DELETE", path(release, "/translations/ru")).status_code == 204
    assert api("DELETE", path(release, "/translations/ru")).status_code == 404
    assert api("DELETE", path(release, "/translations/en")).status_code == 204
    assert translations(api, release) == {}


def test_stale_when_the_source_changes_after_the_translation(api: Api,
                                                             release: dict[str, Any]) -> None:
    assert not translations(api, release)["ru"]["stale"]
    # Editing a translation never makes anything stale.
    api("PUT", path(release, "/translations/ru"), text("Тема 2", "Текст 2"))
    assert not any(t["stale"] for t in translations(api, release).values())
    # Editing the source makes every other translation stale, never the source itself.
    api("PUT", path(release, "/translations/kk"), text("Тақырып", "Мәтін"))
    api("PUT", path(release, "/translations/en"), text(body="# Hello\n\nMore news."))
    state = translations(api, release)
    assert (state["en"]["stale"], state["ru"]["stale"], state["kk"]["stale"]) == \
        (False, True, True)
    # Updating the translation brings it up to date.
    api("PUT", path(release, "/translations/ru"), text("Тема 3", "Текст 3"))
    state = translations(api, release)
    assert (state["ru"]["stale"], state["kk"]["stale"]) == (False, True)
    # A no-op save of the source changes nothing.
    en = state["en"]
    api("PUT", path(release, "/translations/en"),
        {"subject": en["subject"], "preheader": en["preheader"], "body": en["body"]})
    assert not translations(api, release)["ru"]["stale"]


def test_stale_after_the_default_language_changes(api: Api, release: dict[str, Any]) -> None:
    api("PUT", path(release, "/translations/en"), text(body="Changed"))
    api("PUT", path(release, "/translations/kk"), text("Тақырып", "Мәтін"))
    # Now the source is ru, last edited before en changed and before kk was written.
    state = api("PATCH", path(release), {"default_language": "ru"}).get_json()["translations"]
    assert state["ru"]["default"] and not state["ru"]["stale"]
    assert not state["en"]["stale"] and not state["kk"]["stale"]
    api("PUT", path(release, "/translations/ru"), text("Новая тема", "Текст"))
    state = translations(api, release)
    assert state["en"]["stale"] and state["kk"]["stale"]


def test_one_request_editing_source_and_translation_leaves_it_current(
        api: Api, release: dict[str, Any]) -> None:
    state = api("PATCH", path(release), {"translations": {
        "ru": text("Обе", "Обе"), "en": text(body="Both")}}).get_json()["translations"]
    assert not state["ru"]["stale"]


def test_approvals(api: Api, release: dict[str, Any]) -> None:
    approved = api("POST", path(release, "/translations/ru/approve"))
    assert approved.status_code == 200
    body = approved.get_json()
    assert body["status"] == "approved"
    assert body["approved_by"] == "editor@example.com" and body["approved_at"]
    # Approving again is harmless.
    assert api("POST", path(release, "/translations/ru/approve")).status_code == 200
    # Any edit sends it back to draft.
    edited = api("PUT", path(release, "/translations/ru"), text("Правка", "Текст")).get_json()
    assert edited["status"] == "draft" and edited["approved_by"] is None
    api("POST", path(release, "/translations/ru/approve"))
    back = api("POST", path(release, "/translations/ru/unapprove")).get_json()
    assert back["status"] == "draft" and back["approved_at"] is None
    assert api("POST", path(release, "/translations/kk/approve")).status_code == 404


def test_approving_a_stale_translation_confirms_it(api: Api, release: dict[str, Any]) -> None:
    api("PUT", path(release, "/translations/en"), text(body="Changed"))
    assert translations(api, release)["ru"]["stale"]
    approved = api("POST", path(release, "/translations/ru/approve")).get_json()
    assert approved["status"] == "approved" and not approved["stale"]
    # An approved translation whose source changes later is flagged again.
    api("PUT", path(release, "/translations/en"), text(body="Changed again"))
    ru = translations(api, release)["ru"]
    assert ru["stale"] and ru["status"] == "approved"


def test_revisions_and_revert(api: Api, release: dict[str, Any]) -> None:
    url = path(release, "/translations/ru")
    api("PUT", url, text("Тема", "Строка 1\nСтрока 2", ""))
    api("PUT", url, text("Тема", "Строка 1\nСтрока 2\nСтрока 3", "Прехедер"))
    history = api("GET", f"{url}/revisions").get_json()
    assert [r["number"] for r in history["items"]] == [3, 2, 1]
    assert [r["summary"] for r in history["items"]] == [
        "preheader and body changed (+1 −0 lines)",
        "body changed (+2 −1 lines)",
        "created",
    ]
    assert all(r["author"] == "editor@example.com" and r["created_at"]
               for r in history["items"])
    assert "body" not in history["items"][0]
    first = api("GET", f"{url}/revisions/1").get_json()
    assert (first["subject"], first["body"]) == ("Тема", "Текст")

    reverted = api("POST", f"{url}/revisions/1/revert")
    assert reverted.status_code == 200
    now = reverted.get_json()
    assert (now["subject"], now["preheader"], now["body"], now["revision"]) == \
        ("Тема", "", "Текст", 4)
    latest = api("GET", f"{url}/revisions").get_json()["items"][0]
    assert latest["number"] == 4
    assert latest["summary"] == "reverted to revision 1: preheader and body changed (+1 −3 lines)"
    # Reverting to the current text still records the act.
    again = api("POST", f"{url}/revisions/4/revert").get_json()
    assert again["revision"] == 5
    assert api("GET", f"{url}/revisions/5").get_json()["summary"] == \
        "reverted to revision 4 (no change)"
    assert api("POST", f"{url}/revisions/99/revert").status_code == 404
    assert api("GET", f"{url}/revisions/99").status_code == 404


def test_reverting_an_approved_translation_makes_it_a_draft(api: Api,
                                                            release: dict[str, Any]) -> None:
    url = path(release, "/translations/ru")
    api("PUT", url, text("Вторая", "Текст"))
    api("POST", f"{url}/approve")
    reverted = api("POST", f"{url}/revisions/1/revert").get_json()
    assert reverted["status"] == "draft"


def test_base_revision_refuses_to_overwrite_someone_elses_save(api: Api,
                                                              release: dict[str, Any]) -> None:
    url = path(release, "/translations/ru")
    mine = api("PUT", url, {**text("Моя", "Моя"), "base_revision": 1})
    assert mine.status_code == 200 and mine.get_json()["revision"] == 2
    theirs = api("PUT", url, {**text("Чужая", "Чужая"), "base_revision": 1})
    assert theirs.status_code == 409
    assert theirs.get_json()["error"]["fields"] == {
        "base_revision": "the translation is at revision 2"}
    assert translations(api, release)["ru"]["subject"] == "Моя"
    assert api("PUT", url, {**text(), "base_revision": "2"}).status_code == 422


def test_deleting_a_release_deletes_its_history(app: Any, api: Api,
                                                release: dict[str, Any]) -> None:
    from sqlalchemy import func, select

    from mailer.db import db
    from mailer.releases.models import Translation, TranslationRevision

    assert api("DELETE", path(release)).status_code == 204
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Translation)) == 0
        assert db.session.scalar(select(func.count()).select_from(TranslationRevision)) == 0
