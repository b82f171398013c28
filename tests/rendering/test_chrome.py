"""Localised chrome: catalogs, the embargo line where the journalist lives, direction, fallbacks."""

from __future__ import annotations

import tomllib
from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo

from mailer.rendering import Recipient, ReleaseContent, compile_release, render_message
from mailer.rendering.catalogs import available_locales, chrome_locale, translations
from mailer.rendering.chrome import chrome_for, format_moment
from mailer.rendering.l10n import extract_template_messages, po_path, read_catalog
from mailer.rendering.paths import LOCALES_DIR
from tests.rendering.support import ROOT, context, parse, parts, sample

REQUIRED_LOCALES = ("en", "ru", "tg", "kk", "ky", "pl", "uz", "de", "fr")
EMBARGO = datetime.fromisoformat("2016-05-31T09:00:00+05:00")


def simple_release(language: str, **changes: object) -> ReleaseContent:
    values: dict[str, object] = {"language": language, "subject": "Subject",
                                 "body": "# Heading\n\nText.\n", "embargo": EMBARGO}
    values.update(changes)
    return ReleaseContent(**values)  # type: ignore[arg-type]


def render(content: ReleaseContent, timezone: str = "UTC", language: str = "") -> tuple[str, str]:
    message = render_message(compile_release(content),
                             Recipient(email="a@example.org", timezone=timezone,
                                       language=language), context())
    return message.text, message.html


# --- catalogs ----------------------------------------------------------------------------------


def test_every_required_locale_has_a_catalog() -> None:
    assert set(REQUIRED_LOCALES) <= set(available_locales())


@pytest.mark.parametrize("locale", REQUIRED_LOCALES)
def test_catalogs_translate_every_layout_string(locale: str) -> None:
    template = extract_template_messages()
    catalog = read_catalog(locale)
    wanted = {message.id for message in template if message.id}
    assert len(wanted) >= 8
    for msgid in wanted:
        message = catalog.get(msgid)
        assert message is not None and message.string, f"{locale}: {msgid!r} untranslated"
        assert not message.fuzzy, f"{locale}: {msgid!r} is fuzzy"
        if locale != "en":
            assert message.string != msgid, f"{locale}: {msgid!r} left in English"
    assert not [errors for _, errors in catalog.check() if errors]  # python-format kept


@pytest.mark.parametrize("locale", REQUIRED_LOCALES)
def test_compiled_catalogs_match_their_sources(locale: str) -> None:
    source = read_catalog(locale)
    with po_path(locale).with_suffix(".mo").open("rb") as handle:
        compiled = read_mo(handle)
    assert {m.id: m.string for m in source if m.id} == {m.id: m.string for m in compiled if m.id}, \
        "run: python -m mailer.rendering.l10n compile"


def test_the_package_ships_the_catalogs() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["mailer"]
    package = ROOT / "mailer"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    for path in LOCALES_DIR.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            assert path in shipped, path.relative_to(package)


# --- chrome language, dates, direction -----------------------------------------------------------


@pytest.mark.parametrize(("language", "words"), [
    ("uz", ("Obunani bekor qilish", "Embargo:", "gacha")),
    ("de", ("Abmelden", "Sperrfrist bis", "Presseverteiler")),
    ("fr", ("Se désabonner", "Sous embargo jusqu’au", "liste presse")),
    ("kk", ("Жазылымнан бас тарту", "дейін", "баспасөз тізімінде")),
    ("ky", ("Жазылуудан баш тартуу", "чейин", "басма сөз тизмесинде")),
    ("tg", ("Бекор кардани обуна", "Эмбарго то", "рӯйхати почтавии")),
])
def test_chrome_speaks_the_translation_language(language: str, words: tuple[str, ...]) -> None:
    text, html = render(simple_release(language))
    for word in words:
        assert word in text and word in html


def test_embargo_line_is_in_the_recipients_zone_and_language() -> None:
    text, html = render(sample("ru"), timezone="Asia/Dushanbe", language="ru")
    line = "Эмбарго до 31 мая 2016\u202fг., 09:00 (GMT+05:00)"
    assert line in text and line in html
    text, _ = render(sample("ru"), timezone="Europe/Moscow", language="ru")
    assert "Эмбарго до 31 мая 2016\u202fг., 07:00 (GMT+03:00)" in text
    text, _ = render(sample("en"), timezone="America/New_York", language="en")
    assert "Embargoed until May 31, 2016, 12:00\u202fAM (GMT-04:00)" in text
    text, _ = render(sample("en"), timezone="Europe/London", language="en-GB")
    assert "Embargoed until 31 May 2016, 05:00 (GMT+01:00)" in text  # British date order
    text, _ = render(sample("pl"), timezone="Europe/Warsaw", language="pl")
    assert "Embargo" not in text  # this translation has no embargo in its front matter


def test_unknown_time_zones_fall_back_to_utc() -> None:
    text, _ = render(sample("ru"), timezone="Mars/Olympus_Mons", language="ru")
    assert "Эмбарго до 31 мая 2016\u202fг., 04:00 (GMT+00:00)" in text


def test_format_moment_in_several_locales() -> None:
    assert format_moment(EMBARGO, "Asia/Almaty", "kk") == \
        "2016\u202fж. 31 мамыр, 10:00 (GMT+06:00)"  # Almaty was UTC+6 in 2016
    assert format_moment(EMBARGO, "Europe/Berlin", "de") == "31. Mai 2016, 06:00 (GMT+02:00)"
    assert format_moment(EMBARGO, "Asia/Tashkent", "uz").startswith("31-may, 2016")


@pytest.mark.parametrize("language", ["ar", "fa", "he", "ur"])
def test_right_to_left_languages(language: str) -> None:
    assert chrome_for(language).direction == "rtl"
    _, html = render(simple_release(language, body="# عنوان\n\nنص البيان.",
                                    contact="مكتب الصحافة"))
    assert f'<html lang="{language}" dir="rtl">' in html
    assert 'class="content" style="' in html and "text-align: right" in html
    assert "border-right: 4px solid" in html  # the embargo bar sits on the start side
    assert "Unsubscribe" in html  # no catalog for these yet: English chrome…
    assert html.count('dir="ltr"') == 4  # …kept left-to-right: top bar, embargo, contact, footer


def test_left_to_right_is_the_default() -> None:
    _, html = render(simple_release("ru"))
    assert '<html lang="ru" dir="ltr">' in html and "text-align: left" in html


@pytest.mark.parametrize(("tag", "locale"), [
    ("pt-BR", "en"), ("xx", "en"), ("ru-KZ", "ru"), ("kk-Cyrl-KZ", "kk"), ("uz-Latn", "uz"),
    ("de-AT", "de"), ("fr-CA", "fr"), ("zh-Hant-TW", "en"),
])
def test_unsupported_languages_get_english_chrome(tag: str, locale: str) -> None:
    assert chrome_locale(tag) == locale
    message = render_message(compile_release(simple_release(tag)),
                             Recipient(email="a@example.org"), context())
    parsed = parse(message.as_bytes())
    assert parsed["Content-Language"] == tag
    _, html = parts(parsed)
    assert f'<html lang="{tag}"' in html
    unsubscribe = translations(locale).gettext("Unsubscribe")
    assert f">{unsubscribe}</a>" in html


def test_every_catalog_folder_is_a_known_locale() -> None:
    for locale in available_locales():
        assert (LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po").is_file()
    assert Path(LOCALES_DIR / "messages.pot").is_file()
