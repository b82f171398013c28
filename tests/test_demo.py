"""`mailer demo` and `mailer run --demo`: the demo release and journalists, loaded once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select

from mailer.contacts.models import Contact, ContactList, ListMember, Segment, Suppression
from mailer.db import db, utcnow
from mailer.demo.journalists import CENTRAL_ASIA, INTERNATIONAL, demo_journalists
from mailer.demo.load import RELEASE_LANGUAGES, release_contents, release_title
from mailer.releases.languages import resolve_language
from mailer.releases.models import Release
from mailer.rendering import compile_release

ROOT = Path(__file__).resolve().parents[1]
RESERVED_DOMAINS = ("example.com", "example.net", "example.org")
RESERVED_TLDS = ("example", "test")


def reserved(address_key: str) -> bool:
    """True when the (punycode) domain of an address is reserved for examples and tests."""
    domain = address_key.rpartition("@")[2]
    return domain.rpartition(".")[2] in RESERVED_TLDS or any(
        domain == name or domain.endswith("." + name) for name in RESERVED_DOMAINS)

JOURNALISTS = demo_journalists()


def counts() -> dict[str, int]:
    """How many rows of each kind the demo creates there are."""
    def count(model: Any) -> int:
        return db.session.scalar(select(func.count()).select_from(model)) or 0

    return {"contacts": count(Contact), "lists": count(ContactList),
            "members": count(ListMember), "segments": count(Segment),
            "releases": count(Release), "suppressions": count(Suppression)}


def test_demo_loads_everything_once(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("Demo data loaded:")
    assert f"journalists: {len(JOURNALISTS)} created" in result.output
    with app.app_context():
        first = counts()
        assert first == {"contacts": len(JOURNALISTS), "lists": 2,
                         "members": sum(len(j.lists) for j in JOURNALISTS), "segments": 1,
                         "releases": 1, "suppressions": 1}
        assert 50 <= len(JOURNALISTS) <= 70
        contacts = list(db.session.scalars(select(Contact)))
        assert {c.source for c in contacts} == {"demo"}
        assert [c.email for c in contacts if not reserved(c.email_key)] == []
        assert sum(not c.tracking for c in contacts) == 2
        lists = {row.name: row.id for row in db.session.scalars(select(ContactList))}
        assert set(lists) == {CENTRAL_ASIA, INTERNATIONAL}
        segment = db.session.scalars(select(Segment)).one()
        assert segment.filters == {"language": ["ru"]}
        release = db.session.scalars(select(Release)).one()
        assert release.title == release_title()

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0, again.output
    assert again.output.startswith("Demo data already loaded; nothing created:")
    assert f"{len(JOURNALISTS)} already there" in again.output
    assert "already there" in again.output.split("release:")[1]
    with app.app_context():
        assert counts() == first


def test_demo_journalists_are_varied() -> None:
    countries = {j.country for j in JOURNALISTS}
    assert {"KZ", "KG", "TJ", "UZ", "PL", "RU"} <= countries and len(countries) > 6
    assert len({j.email.lower() for j in JOURNALISTS}) == len(JOURNALISTS)
    assert any(len(j.languages) > 1 and j.languages[:2] == ("tg", "ru") for j in JOURNALISTS)
    scripts = {"KZ": "[А-яӘәҒғҚқҢңӨөҰұҮүІі]", "KG": "[А-яӨөҮүҢң]", "TJ": "[А-яҶҷҲҳӢӣӮӯҒғҚқ]",
               "RU": "[А-яЁё]", "PL": "[A-Za-zĄąĆćĘęŁłŃńÓóŚśŹźŻż]", "UZ": "[A-Za-zʻ]"}
    for country, letters in scripts.items():
        names = [j.first_name + j.last_name for j in JOURNALISTS if j.country == country]
        assert names and all(re.fullmatch(f"(?:{letters}|[ '-])+", n) for n in names), names
    assert demo_journalists() == JOURNALISTS  # deterministic


def test_some_journalists_read_no_language_of_the_release() -> None:
    """The language-coverage warning has something to show: two or three, not more."""
    without = [j for j in JOURNALISTS
               if not resolve_language(j.languages, RELEASE_LANGUAGES).usable]
    assert 2 <= len(without) <= 3
    assert all(INTERNATIONAL in j.lists for j in without)


def test_release_files_compile_in_every_language() -> None:
    contents = release_contents()
    assert set(contents) == set(RELEASE_LANGUAGES) >= {"en", "ru", "tg", "kk", "ky", "pl"}
    for language, content in contents.items():
        assert content.language == language
        assert content.body.count("{{ first_name }}") == 1, language
        assert content.embargo is not None and content.embargo.utcoffset() is not None
        assert "https://example.org/" in content.body
        compiled = compile_release(content)
        assert compiled.language == language
    assert contents["en"].contact


def test_every_translation_renders_for_a_demo_contact(app: Flask,
                                                      runner: FlaskCliRunner) -> None:
    assert runner.invoke(args=["demo"]).exit_code == 0
    from mailer.releases.links import links_for
    from mailer.releases.messages import content_of
    from mailer.releases.preview import preview_message

    client = app.test_client()
    with app.app_context():
        release = db.session.scalars(select(Release)).one()
        assert len(release.translations) >= 6
        assert all(t.approved and not t.stale for t in release.translations)
        assert release.embargo_at is not None and release.embargo_at < utcnow()
        for translation in release.translations:
            language = translation.language
            compile_release(content_of(release, language))
            contact = db.session.scalars(
                select(Contact).where(Contact.language == language).order_by(Contact.id)
            ).first()
            assert contact is not None, f"no demo contact reads {language}"
            result = preview_message(release.id, None, contact.id)
            assert result.language == language
            html, text = result.message.html, result.message.text
            assert f'<html lang="{language}"' in html
            assert ("Content-Language", language) in result.message.headers
            assert contact.first_name in text and "{{" not in text + html
            # The web version is public: the embargo has lifted.
            url = links_for(app.config).web_version_url(release.id, language)
            page = client.get(url.removeprefix(app.config["MAILER_PUBLIC_URL"]))
            assert page.status_code == 200
            assert f'lang="{language}"' in page.get_data(as_text=True)


def test_run_with_demo_loads_it_on_an_empty_database_only(
        app: Flask, runner: FlaskCliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    import waitress

    import worker.embedded

    served: list[Any] = []
    monkeypatch.setattr(waitress, "serve", lambda *args, **kwargs: served.append(args))
    monkeypatch.setattr(worker.embedded, "start_embedded_worker", lambda celery, **kw: None)

    first = runner.invoke(args=["run", "--demo"])
    assert first.exit_code == 0, first.output
    assert "first admin: admin@example.com" in first.output
    assert f"demo data: {len(JOURNALISTS)} journalists, 2 lists" in first.output
    with app.app_context():
        loaded = counts()
        assert loaded["contacts"] == len(JOURNALISTS) and loaded["releases"] == 1
        release = db.session.scalars(select(Release)).one()
        assert release.created_by is not None
        assert release.created_by.email == "admin@example.com"

    second = runner.invoke(args=["run", "--demo"])  # not empty any more: nothing loaded
    assert second.exit_code == 0, second.output
    assert "demo data" not in second.output
    with app.app_context():
        assert counts() == loaded
    assert len(served) == 2


def test_run_without_demo_loads_nothing(app: Flask, runner: FlaskCliRunner,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import waitress

    import worker.embedded

    monkeypatch.setattr(waitress, "serve", lambda *args, **kwargs: None)
    monkeypatch.setattr(worker.embedded, "start_embedded_worker", lambda celery, **kw: None)
    result = runner.invoke(args=["run"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert counts()["contacts"] == 0 and counts()["releases"] == 0


def test_start_script_offers_the_demo() -> None:
    assert re.search(r"^exec \.venv/bin/mailer run --demo ", (ROOT / "scripts" / "start")
                     .read_text(), re.MULTILINE)


SHARED = re.compile(r"\.\./shared|shared/fixtures|[\"']shared[\"']|parents?\[\d\]\s*/\s*"
                    r"[\"']shared")


def test_the_product_does_not_read_shared() -> None:
    """The demo ships inside the package: nothing under mailer/ reaches for ../shared."""
    offenders = []
    for path in (ROOT / "mailer").rglob("*"):
        if path.is_file() and path.suffix in {".py", ".md", ".html", ".txt", ".ini", ".cfg"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            offenders += [f"{path.relative_to(ROOT)}: {m.group(0)}"
                          for m in SHARED.finditer(text)]
    assert not offenders
    assert (ROOT / "mailer" / "demo" / "release" / "en.md").is_file()
