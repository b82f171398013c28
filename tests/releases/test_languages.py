"""Language resolution: ranked languages, then the fallback chain, then none, with reasons."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from mailer.releases.languages import (
    audience_language_summary,
    ordinal,
    reading_languages_of,
    resolve_language,
)

AVAILABLE = ["en", "ru", "tg", "kk", "ky", "pl"]


@pytest.mark.parametrize(("reading", "available", "fallbacks", "language", "reason"), [
    (["ru"], AVAILABLE, [], "ru", "ranked 1st"),
    (["tg", "ru"], ["en", "ru"], [], "ru", "ranked 2nd; tg not translated"),
    (["uz", "tg", "ru"], ["ru"], ["en"], "ru", "ranked 3rd; uz, tg not translated"),
    (["kk", "ru"], ["en", "pl"], ["en"], "en", "fallback to en: no translation in kk, ru"),
    (["kk", "ru"], ["en", "pl"], ["de", "pl", "en"], "pl",
     "fallback to pl: no translation in kk, ru"),
    ([], ["en"], ["en"], "en", "fallback to en: no reading language on record"),
    (["kk"], ["en"], [], None, "no usable language: no translation in kk and no fallback"),
    (["kk"], ["en"], ["ru"], None,
     "no usable language: no translation in kk, nor in the fallbacks ru"),
    ([], [], [], None, "no usable language: no reading language on record and no fallback"),
    # RFC 4647 lookup: a regional reader gets the general translation, not the reverse.
    (["pt-BR"], ["pt", "en"], [], "pt", "ranked 1st (pt-BR read as pt)"),
    (["ru-KZ", "en"], ["ru", "en"], [], "ru", "ranked 1st (ru-KZ read as ru)"),
    (["uz"], ["uz-Cyrl"], ["en"], None,
     "no usable language: no translation in uz, nor in the fallbacks en"),
    (["pt-BR"], ["pt-BR", "pt"], [], "pt-BR", "ranked 1st"),
    # Case does not matter, and the available spelling is what is returned.
    (["PT-br"], ["pt-BR"], [], "pt-BR", "ranked 1st"),
    # Duplicates in the ranking are counted once.
    (["tg", "tg", "ru"], ["ru"], [], "ru", "ranked 2nd; tg not translated"),
    # A fallback may be a regional tag too.
    (["kk"], ["pt"], ["pt-BR"], "pt", "fallback to pt: no translation in kk"),
])
def test_resolution_table(reading: list[str], available: list[str], fallbacks: list[str],
                          language: str | None, reason: str) -> None:
    resolution = resolve_language(reading, available, fallbacks)
    assert resolution.language == language
    assert resolution.reason == reason
    assert resolution.usable is (language is not None)


def test_sources() -> None:
    assert resolve_language(["ru"], ["ru"], []).source == "ranked"
    assert resolve_language(["kk"], ["ru"], ["ru"]).source == "fallback"
    assert resolve_language(["kk"], ["ru"], []).source == "none"


@pytest.mark.parametrize(("n", "text"), [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"),
                                         (11, "11th"), (12, "12th"), (13, "13th"),
                                         (21, "21st"), (22, "22nd"), (101, "101st")])
def test_ordinal(n: int, text: str) -> None:
    assert ordinal(n) == text


def test_reading_languages_of_contacts_rows_and_mappings() -> None:
    contact = SimpleNamespace(reading_languages=["tg", "ru"])
    row = SimpleNamespace(id=1, email="a@example.org", language="kk", languages=["ru", "kk"])
    mapping = {"language": "pl", "languages": None}
    assert reading_languages_of(contact) == ("tg", "ru")
    # The same order as Contact.reading_languages: a ranking that names the primary wins.
    assert reading_languages_of(row) == ("ru", "kk")
    assert reading_languages_of(SimpleNamespace(language="kk", languages=["ru"])) == ("kk", "ru")
    assert reading_languages_of(mapping) == ("pl",)


def test_audience_summary_in_one_pass() -> None:
    recipients = (
        [{"id": i, "email": f"ru{i}@example.org", "language": "ru"} for i in range(312)]
        + [{"id": 1000 + i, "email": f"kk{i}@example.org", "language": "kk"} for i in range(40)]
        + [{"id": 2000 + i, "email": f"uz{i}@example.org", "language": "uz"} for i in range(3)]
        + [{"id": 3000, "email": "tg@example.org", "language": "tg", "languages": ["ru"]}]
    )
    release = {"ru": True, "en": True}
    summary = audience_language_summary(iter(recipients), release, fallback_chain=["xx"])
    assert summary.total == 356
    assert summary.languages == {"ru": 313}
    assert summary.without_language == 43
    assert summary.missing_languages == {"kk": 40, "uz": 3}
    assert not summary.sendable

    summary = audience_language_summary(recipients[:355], release, fallback_chain=["en"])
    assert summary.languages == {"ru": 312, "en": 43}
    assert summary.fallbacks == {"en": 43}
    assert summary.describe() == "312 ru, 43 fall back to en"
    assert summary.sendable

    summary = audience_language_summary(recipients[:355], {"ru": True, "pl": True},
                                        fallback_chain=["en"])
    assert summary.describe() == "312 ru, 43 have no usable language"
    example = summary.without_examples[0]
    assert (example.contact_id, example.email, example.languages) == \
        (1000, "kk0@example.org", ("kk",))
    assert example.reason.startswith("no usable language")
    data = summary.as_dict()
    assert data["without_language"] == 43 and data["sendable"] is False
    assert data["missing_languages"] == {"kk": 40, "uz": 3}


def test_audience_summary_counts_unapproved_when_required() -> None:
    recipients = [{"id": 1, "email": "a@example.org", "language": "ru"},
                  {"id": 2, "email": "b@example.org", "language": "kk"},
                  {"id": 3, "email": "c@example.org", "language": "kk"}]
    release = {"ru": True, "kk": False}
    relaxed = audience_language_summary(recipients, release, approvals_required=False)
    assert relaxed.sendable and not relaxed.unapproved
    strict = audience_language_summary(recipients, release, approvals_required=True)
    assert strict.unapproved == {"kk": 2}
    assert not strict.sendable
    assert "awaiting approval: kk (2)" in strict.describe()


def test_audience_summary_of_a_release_object() -> None:
    release = SimpleNamespace(approvals_required=True, translations=[
        SimpleNamespace(language="en", approved=True),
        SimpleNamespace(language="ru", approved=False)])
    contacts = [SimpleNamespace(id=1, email="a@example.org", reading_languages=["ru"]),
                SimpleNamespace(id=2, email="b@example.org", reading_languages=["kk"])]
    summary = audience_language_summary(contacts, release, ["en"])
    assert summary.languages == {"ru": 1, "en": 1}
    assert summary.unapproved == {"ru": 1}
    assert summary.describe() == "1 ru, 1 falls back to en, awaiting approval: ru (1)"


def test_empty_audience() -> None:
    summary = audience_language_summary([], {"en": True})
    assert summary.total == 0
    assert summary.describe() == "no recipients"
    assert summary.sendable
