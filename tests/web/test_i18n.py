"""The staff UI in the user's language and time zone, and catalogs that stay true to the code."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from babel.messages.mofile import read_mo, write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient

from mailer.i18n import TRANSLATIONS_DIR, UI_LANGUAGES
from tests.conftest import api_token, bearer, csrf_token, login
from tests.contacts.factories import make_contact

ROOT = Path(__file__).resolve().parents[2]

# Each main page, the Russian heading it must show, and the English heading that must be gone.
PAGES = [
    ("/contacts/", "<h1>Журналисты</h1>", "<h1>Journalists</h1>"),
    ("/contacts/import", "Импорт журналистов из CSV-файла", "Import journalists from a CSV file"),
    ("/lists/", "<h1>Списки</h1>", "<h1>Lists</h1>"),
    ("/segments/", "<h1>Сегменты</h1>", "<h1>Segments</h1>"),
    ("/suppressions/", "<h1>Стоп-лист</h1>", "<h1>Suppression list</h1>"),
    ("/releases/", "<h1>Пресс-релизы</h1>", "<h1>Press releases</h1>"),
    ("/releases/new", "<h1>Новый пресс-релиз</h1>", "<h1>New press release</h1>"),
    ("/mailings/", "<h1>Рассылки</h1>", "<h1>Mailings</h1>"),
    ("/outbox/", "<h1>Исходящие</h1>", "<h1>Outbox</h1>"),
    ("/account/", "<h1>Ваша учётная запись</h1>", "<h1>Your account</h1>"),
    ("/users/", "<h1>Пользователи</h1>", "<h1>Users</h1>"),
    ("/audit/", "<h1>Журнал действий</h1>", "<h1>Audit log</h1>"),
]
RUSSIAN_NAV = [">Главная</a>", ">Журналисты</a>", ">Релизы</a>", ">Рассылки</a>",
               ">Исходящие</a>", ">Учётная запись</a>", ">Выйти</button>"]
ENGLISH_NAV = [">Dashboard</a>", ">Releases</a>", ">Mailings</a>", ">Outbox</a>",
               ">Account</a>", ">Sign out</button>"]


def _set(app: Flask, email: str, **values: Any) -> None:
    from mailer.auth import service
    from mailer.db import db

    with app.app_context():
        user = service.find_user_by_email(email)
        assert user is not None
        for name, value in values.items():
            setattr(user, name, value)
        db.session.commit()


def _stored(app: Flask, email: str) -> tuple[str | None, str | None]:
    from mailer.auth import service

    with app.app_context():
        user = service.find_user_by_email(email)
        assert user is not None
        return user.ui_language, user.time_zone


def _text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def test_a_russian_user_sees_russian_on_every_main_page(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    _set(app, "admin@example.com", ui_language="ru")
    login(client, "admin@example.com")
    for path, russian, english in [("/", ">Главная</a>", "<h1>Dashboard</h1>"), *PAGES]:
        response = client.get(path)
        assert response.status_code == 200, path
        page = _text(response)
        assert '<html lang="ru">' in page, path
        assert russian in page, path
        assert english not in page, path
        for label in RUSSIAN_NAV:
            assert label in page, (path, label)
        for label in ENGLISH_NAV:
            assert label not in page, (path, label)


def test_without_a_choice_the_browser_language_decides(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    login(client, "editor@example.com")
    russian = _text(client.get("/contacts/", headers={"Accept-Language": "ru-RU,ru;q=0.9"}))
    assert "<h1>Журналисты</h1>" in russian and '<html lang="ru">' in russian
    english = _text(client.get("/contacts/", headers={"Accept-Language": "de, en;q=0.5"}))
    assert "<h1>Journalists</h1>" in english
    assert "<h1>Journalists</h1>" in _text(client.get("/contacts/"))  # no header: English
    # A stored choice beats the browser.
    _set(app, "editor@example.com", ui_language="en")
    chosen = _text(client.get("/contacts/", headers={"Accept-Language": "ru"}))
    assert "<h1>Journalists</h1>" in chosen


def test_the_login_page_follows_the_browser(client: FlaskClient) -> None:
    page = _text(client.get("/login", headers={"Accept-Language": "ru"}))
    assert "<h1>Войти</h1>" in page and ">Пароль</label>" in page


def test_the_account_form_saves_language_and_time_zone(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    login(client, "viewer@example.com")
    page = _text(client.get("/account/"))
    assert 'value="ru"' in page and "Русский" in page and "Asia/Almaty" in page
    response = client.post("/account/preferences", data={
        "ui_language": "ru", "time_zone": "Asia/Almaty",
        "csrf_token": csrf_token(client, "/account/")}, follow_redirects=True)
    assert response.status_code == 200
    page = _text(response)
    assert "Язык и часовой пояс сохранены." in page  # the confirmation is already in Russian
    assert "<h1>Ваша учётная запись</h1>" in page
    assert _stored(app, "viewer@example.com") == ("ru", "Asia/Almaty")

    # The empty choices go back to the browser's language and UTC.
    client.post("/account/preferences", data={
        "ui_language": "", "time_zone": "", "csrf_token": csrf_token(client, "/account/")})
    assert _stored(app, "viewer@example.com") == (None, None)


def test_an_unknown_time_zone_is_refused_and_nothing_is_written(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    login(client, "editor@example.com")
    token = csrf_token(client, "/account/")
    for zone in ("Mars/Olympus_Mons", "UTC+5", "../../etc/passwd"):
        response = client.post("/account/preferences", data={
            "ui_language": "ru", "time_zone": zone, "csrf_token": token})
        assert response.status_code == 422
        page = _text(response)
        assert 'id="time_zone-error"' in page
        assert "Choose a time zone from the list, e.g. Asia/Almaty." in page
    response = client.post("/account/preferences", data={
        "ui_language": "xx", "time_zone": "UTC", "csrf_token": token})
    assert response.status_code == 422 and 'id="ui_language-error"' in _text(response)
    assert _stored(app, "editor@example.com") == (None, None)


def test_the_top_bar_switch_changes_the_language_only(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    _set(app, "editor@example.com", time_zone="Asia/Dushanbe")
    login(client, "editor@example.com")
    page = _text(client.get("/releases/"))
    assert 'id="ui-language-switch"' in page
    response = client.post("/account/preferences", data={
        "ui_language": "ru", "next": "/releases/?",
        "csrf_token": csrf_token(client, "/releases/")})
    assert response.status_code == 302 and response.headers["Location"].endswith("/releases/")
    assert _stored(app, "editor@example.com") == ("ru", "Asia/Dushanbe")
    # An address off the site is not followed.
    response = client.post("/account/preferences", data={
        "ui_language": "en", "next": "https://evil.example/",
        "csrf_token": csrf_token(client, "/releases/")})
    assert response.headers["Location"].endswith("/account/")


def test_the_switch_needs_the_csrf_token(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    login(client, "editor@example.com")
    client.post("/account/preferences", data={"ui_language": "ru"})
    assert _stored(app, "editor@example.com") == (None, None)


def test_times_are_shown_in_the_users_time_zone(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    from mailer.contacts.models import Contact
    from mailer.db import db

    contact_id = make_contact(app, "desk@example.com")
    with app.app_context():
        contact = db.session.get(Contact, contact_id)
        assert contact is not None
        contact.created_at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
        db.session.commit()
    login(client, "editor@example.com")
    assert "2026-03-01 10:00 UTC" in _text(client.get(f"/contacts/{contact_id}"))
    _set(app, "editor@example.com", time_zone="Asia/Almaty")  # UTC+5
    page = _text(client.get(f"/contacts/{contact_id}"))
    assert "2026-03-01 15:00 Asia/Almaty" in page
    assert "2026-03-01 10:00" not in page


def test_status_words_are_translated_but_values_stay(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    _set(app, "admin@example.com", ui_language="ru")
    login(client, "admin@example.com")
    page = _text(client.get("/suppressions/"))
    assert '<option value="hard_bounce">жёсткий возврат</option>' in page
    assert "администратор" in _text(client.get("/users/"))


# The catalogs -----------------------------------------------------------------------------


def _extracted(tmp_path: Path) -> set[Any]:
    """Every msgid in the code, as scripts/translations extracts it."""
    pot = tmp_path / "messages.pot"
    subprocess.run(  # our own pybabel, fixed arguments
        [str(Path(sys.executable).parent / "pybabel"), "extract", "-F", "babel.cfg",
         "-k", "lazy_gettext", "-k", "_l", "--no-location", "-o", str(pot), "."],
        cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as handle:
        return {message.id for message in read_po(handle) if message.id}


def test_every_string_of_the_code_is_translated(tmp_path: Path) -> None:
    wanted = _extracted(tmp_path)
    assert len(wanted) > 300
    for language in UI_LANGUAGES:
        if language == "en":
            continue
        with (TRANSLATIONS_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as f:
            catalog = read_po(f, locale=language)
        missing = []
        for msgid in wanted:
            message = catalog.get(msgid)
            strings = message.string if message is not None else ""
            forms = strings if isinstance(strings, tuple) else (strings,)
            if message is None or message.fuzzy or not all(forms):
                missing.append(msgid)
            elif isinstance(strings, tuple):
                assert len(forms) == catalog.num_plurals, msgid
        assert not missing, f"{language}: untranslated or fuzzy: {sorted(map(str, missing))}"


def _frozen(value: Any) -> Any:
    """A plural message's forms as a tuple (read_mo gives lists)."""
    return tuple(value) if isinstance(value, list | tuple) else value


def test_the_committed_mo_files_match_their_po_files() -> None:
    for language in UI_LANGUAGES:
        if language == "en":
            continue
        folder = TRANSLATIONS_DIR / language / "LC_MESSAGES"
        with (folder / "messages.po").open("rb") as f:
            catalog = read_po(f, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalog)
        with (folder / "messages.mo").open("rb") as f:
            committed = read_mo(f)
        compiled.seek(0)
        fresh = read_mo(compiled)
        ours = {_frozen(m.id): _frozen(m.string) for m in fresh if m.id}
        theirs = {_frozen(m.id): _frozen(m.string) for m in committed if m.id}
        assert ours == theirs, f"{language}: run scripts/translations to compile the catalog"


# Service errors: Russian on the staff pages, English through the API ----------------------

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_the_api_speaks_english_whatever_the_users_language(app: Flask) -> None:
    from mailer.i18n import select_ui_language

    with app.test_request_context("/api/v1/contacts", headers={"Accept-Language": "ru"}):
        assert select_ui_language() == "en"
    with app.test_request_context("/contacts/", headers={"Accept-Language": "ru"}):
        assert select_ui_language() == "ru"


def test_a_missing_row_is_russian_on_the_page_and_english_in_the_api(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    _set(app, "editor@example.com", ui_language="ru")
    token = api_token(app, "editor@example.com")
    login(client, "editor@example.com")
    page = _text(client.get("/lists/999999"))
    assert "Списка с id 999999 нет." in page
    response = client.get("/api/v1/lists/999999",
                          headers={**bearer(token), "Accept-Language": "ru"})
    assert response.status_code == 404
    assert response.get_json()["error"] == {"code": "not_found",
                                            "message": "No list with id 999999."}


def test_a_bad_csv_upload_is_refused_in_russian_on_the_page_only(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    _set(app, "editor@example.com", ui_language="ru")
    token = api_token(app, "editor@example.com")
    login(client, "editor@example.com")
    response = client.post("/contacts/import", data={
        "file": (io.BytesIO(PNG), "journalists.csv"),
        "csrf_token": csrf_token(client, "/contacts/import")},
        content_type="multipart/form-data")
    assert response.status_code == 400
    page = _text(response)
    assert "Это изображение PNG, а не CSV-файл." in page
    assert "Сохраните таблицу в формате «CSV UTF-8» и загрузите этот файл." in page
    assert "not a CSV file" not in page

    response = client.post("/api/v1/contacts/import", headers={
        **bearer(token), "Accept-Language": "ru"},
        data={"file": (io.BytesIO(PNG), "journalists.csv")}, content_type="multipart/form-data")
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "bad_request"
    assert error["message"] == ("This is a PNG image, not a CSV file. Save it from your "
                                "spreadsheet as “CSV UTF-8” and upload that.")
    assert error["fields"] == {"file": "not a CSV file"}


def test_an_invalid_suppression_is_refused_in_russian_on_the_page_only(
        app: Flask, client: FlaskClient, staff: dict[str, Any]) -> None:
    _set(app, "editor@example.com", ui_language="ru")
    token = api_token(app, "editor@example.com")
    login(client, "editor@example.com")
    response = client.post("/suppressions/", data={
        "email": "desk@example.com", "reason": "manual", "detail": "bad\x07detail",
        "csrf_token": csrf_token(client, "/suppressions/")})
    assert response.status_code == 422
    page = _text(response)
    assert '<p class="error" id="detail-error">не должно содержать управляющих символов' in page
    assert "must not contain" not in page

    response = client.post("/api/v1/suppressions", headers={
        **bearer(token), "Accept-Language": "ru"},
        json={"email": "desk@example.com", "detail": "bad\x07detail"})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert error["message"] == "The suppression is not valid."
    assert error["fields"]["detail"] == "must not contain control characters"


def test_cached_row_reasons_never_cross_languages(app: Flask) -> None:
    from mailer.contacts.importing.rows import RULES

    rule = RULES["country"]
    with app.test_request_context("/contacts/import", headers={"Accept-Language": "ru"}):
        from mailer.contacts.importing.rows import reasons_language

        russian = rule("XX", reasons_language())
    with app.test_request_context("/api/v1/contacts/import", headers={"Accept-Language": "ru"}):
        english = rule("XX", reasons_language())
    assert russian == (False, "'XX' — не код страны ISO 3166 (например, KZ, TJ, PL)")
    assert english == (False, "'XX' is not an ISO 3166 country code (e.g. KZ, TJ, PL)")


def test_preview_warnings_and_audience_summaries_follow_the_page_language(app: Flask) -> None:
    from collections import Counter

    from mailer.db import db
    from mailer.releases.checks import translation_warnings
    from mailer.releases.languages import AudienceSummary
    from mailer.releases.models import Release
    from tests.tracking.support import make_release

    release_id = make_release(app, ("en",))
    summary = AudienceSummary(total=4, languages=Counter({"en": 4}),
                              fallbacks=Counter({"en": 2}), without_language=1)
    with app.test_request_context("/releases/", headers={"Accept-Language": "ru"}):
        release = db.session.get(Release, release_id)
        assert release is not None
        assert [w.message for w in translation_warnings(release, "kk")] == \
            ["Нет перевода на kk."]
        assert summary.describe() == ("2 en, 2 получат запасной язык en, "
                                      "у 1 нет подходящего языка")
    with app.test_request_context("/api/v1/releases", headers={"Accept-Language": "ru"}):
        assert summary.describe() == "2 en, 2 fall back to en, 1 has no usable language"
