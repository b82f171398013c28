"""The sample release in every fixture language, rendered and parsed back with the email package."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from mailer.dispatch.transports import Envelope
from mailer.rendering import (
    CompiledRelease,
    RenderedMessage,
    compile_release,
    parse_release_markdown,
    render_message,
)
from mailer.rendering.catalogs import translations
from tests.rendering.lint import lint_message
from tests.rendering.support import (
    FIXTURE_LANGUAGES,
    RECIPIENTS,
    context,
    parse,
    parts,
    recipient,
    sample,
)

SLOT = re.compile(r"S[0-9a-f]{16}x\d+x")
UNSUBSCRIBE_WORDS = {"en": "Unsubscribe", "ru": "Отписаться от рассылки",
                     "tg": "Бекор кардани обуна", "kk": "Жазылымнан бас тарту",
                     "ky": "Жазылуудан баш тартуу", "pl": "Zrezygnuj z subskrypcji"}


@pytest.fixture(scope="module")
def compiled() -> dict[str, CompiledRelease]:
    return {language: compile_release(sample(language)) for language in FIXTURE_LANGUAGES}


def render(compiled: dict[str, CompiledRelease], language: str, number: int = 1
           ) -> RenderedMessage:
    return render_message(compiled[language], recipient(language), context(number))


@pytest.mark.parametrize("language", FIXTURE_LANGUAGES)
def test_every_language_renders_and_parses_back(compiled: dict[str, CompiledRelease],
                                                language: str) -> None:
    content = sample(language)
    message = render(compiled, language)
    parsed = parse(message.as_bytes())

    assert str(parsed["Subject"]) == content.subject == message.subject
    assert parsed["Content-Language"] == language
    text, html = parts(parsed)
    assert text == message.text and html == message.html
    heading = content.title
    assert heading and heading in text and heading in html
    assert f'<html lang="{language}" dir="ltr">' in html
    unsubscribe = UNSUBSCRIBE_WORDS[language]
    assert translations(language).gettext("Unsubscribe") == unsubscribe
    assert f">{unsubscribe}</a>" in html
    assert f"{unsubscribe}: https://press.example.org/unsubscribe/u1.sig" in text
    assert "{{" not in text + html and not SLOT.search(text + html)  # nothing left unfilled
    assert len(message.as_bytes()) < 102 * 1024  # Gmail clips bigger messages


@pytest.mark.parametrize("language", FIXTURE_LANGUAGES)
def test_linter_passes_for_every_language_and_recipient(compiled: dict[str, CompiledRelease],
                                                        language: str) -> None:
    for number, person in enumerate(RECIPIENTS, 1):
        data = render_message(compiled[language], person, context(number)).as_bytes()
        report = lint_message(data)
        assert report.ok, report.errors
        assert not report.warnings, report.warnings


def test_headers_carry_what_api_md_lists(compiled: dict[str, CompiledRelease]) -> None:
    message = render_message(compiled["ru"], RECIPIENTS[1], context(5))
    parsed = parse(message.as_bytes())
    names = [name for name, _ in message.headers]
    assert names == ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                     "Content-Language", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
                     "Feedback-ID", "Content-Type"]
    assert parsed.keys() == names
    for name, value in message.headers:  # what a preview shows is what the bytes say
        assert str(parsed[name]) == value, name
    assert parsed["From"] == "Nota Bene Press Office <press@example.org>"
    assert parsed["To"].addresses[0].display_name == "Иван Петров"
    assert parsed["To"].addresses[0].addr_spec == "ivan.petrov@example.ru"
    assert parsed["Message-ID"] == "<delivery.5.mailing.7@press.example.org>"
    assert parsed["Date"] == "Mon, 30 May 2016 08:00:00 +0000"
    assert parsed["MIME-Version"] == "1.0"
    assert parsed["List-Unsubscribe"] == ("<https://press.example.org/unsubscribe/u5.sig>, "
                                          "<mailto:unsubscribe+u5@press.example.org>")
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["List-Id"] == "Nota Bene journalists <journalists.press.example.org>"
    assert parsed["Feedback-ID"] == "7:release-3:press:notabene"
    assert parsed.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in parsed.iter_parts()] == ["text/plain",
                                                                         "text/html"]
    assert all(part.get_content_charset() == "utf-8" for part in parsed.iter_parts())
    raw_subject = message.as_bytes().split(b"\r\n\r\n")[0]
    assert b"=?utf-8?" in raw_subject and raw_subject.isascii()  # RFC 2047, no raw 8-bit


def test_envelope_names_the_delivery(compiled: dict[str, CompiledRelease]) -> None:
    message = render(compiled, "en", 9)
    envelope = message.envelope()
    assert isinstance(envelope, Envelope)
    assert envelope.mail_from == "bounce+d9@bounces.example.org"
    assert envelope.recipients == ("anna.smith@example.net",)
    assert envelope.data == message.as_bytes()


def test_same_delivery_gives_the_same_bytes_and_deliveries_differ(
        compiled: dict[str, CompiledRelease]) -> None:
    first = render(compiled, "pl", 3).as_bytes()
    assert render(compiled, "pl", 3).as_bytes() == first  # a retry sends exactly the same
    recompiled = compile_release(sample("pl"))
    assert render_message(recompiled, recipient("pl"), context(3)).as_bytes() == first
    assert render(compiled, "pl", 4).as_bytes() != first


def test_embargo_is_optional(compiled: dict[str, CompiledRelease]) -> None:
    assert sample("kk").embargo is None
    text, html = parts(parse(render(compiled, "kk").as_bytes()))
    assert "Эмбарго" not in text and 'class="embargo"' not in html
    text, html = parts(parse(render(compiled, "ru").as_bytes()))
    assert "Эмбарго до" in text and "Эмбарго до" in html


def test_plain_text_part_is_written_from_the_markdown(compiled: dict[str, CompiledRelease]
                                                      ) -> None:
    text = render(compiled, "en").text
    title = sample("en").title
    assert f"{title}\n{'=' * len(title)}\n" in text  # the heading, underlined
    assert "Dushanbe, 31 May - 2 June 2016" in text and "**" not in text and "*Almaty" not in text
    assert ("Delegation of the European Union to the Republic of Tajikistan "
            "(http://eeas.europa.eu/delegations/tajikistan/index_en.htm)") in text
    assert "email: L.Kerymov@hfhrpol.waw.pl" in text  # a mailto link shows its address once
    assert "<" not in text.replace("<https", "")  # no HTML in the text part


def test_parse_release_markdown_reads_the_front_matter() -> None:
    content = sample("ru")
    assert content.language == "ru"
    assert content.subject.startswith("Региональная конференция")
    assert content.preheader.startswith("Шестьдесят представителей")
    assert content.embargo is not None and content.embargo.isoformat() == \
        "2016-05-31T09:00:00+05:00"
    assert content.title == ("Региональная конференция: роль гражданского общества в "
                             "предупреждении пыток")
    assert content.body.startswith("# Региональная")
    for bad in ("no front matter", "---\nlanguage: en\n---\nbody",
                "---\nlanguage: en\nsubject: s\nembargo: '2016-05-31T09:00:00'\n---\nbody",
                "---\nlanguage: en\nsubject: s\nsecret: 1\n---\nbody", "---\n- a\n---\n"):
        with pytest.raises(ValueError):
            parse_release_markdown(bad)


def test_no_flask_import_in_the_rendering_package() -> None:
    package = Path(__file__).resolve().parents[2] / "mailer" / "rendering"
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            for name in names:
                assert not re.match(r"^(flask|flask_\w+|mailer\.(db|models|web|auth))\b", name), \
                    f"{path.name} imports {name}"
