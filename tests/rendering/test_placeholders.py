"""Staff placeholders: the allowed ones are filled per recipient, anything else is refused."""

from __future__ import annotations

import pytest

from mailer.errors import Invalid
from mailer.rendering import (
    ALLOWED_PLACEHOLDERS,
    Recipient,
    TemplateRejected,
    compile_release,
    render_message,
    validate_placeholders,
)
from mailer.rendering.placeholders import substitute
from tests.rendering.support import context, parse, parts, sample, with_changes

ESCAPES = [
    "{{ config }}",
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.environ }}",
    "{{ lipsum.__globals__ }}",
    "{{ request }}",
    "{{ password }}",
    "{{ first_name|attr('__class__') }}",
    "{{ first_name.upper() }}",
    "{{ first_name ~ 'x' }}",
    "{{ 7*7 }}",
    "{{ }}",
    "{% for x in range(10) %}{{ x }}{% endfor %}",
    "{% set x = 1 %}",
    "{% include 'release/body.html' %}",
    "{% raw %}{{ first_name }}{% endraw %}",
    "{# a comment #}",
    "Dear {{ first_name",
    "Dear {{ first_name }",
]


def test_allowed_placeholders_are_the_documented_five() -> None:
    assert ALLOWED_PLACEHOLDERS == ("first_name", "last_name", "full_name", "outlet", "email")


@pytest.mark.parametrize("text", [
    "Plain text with no placeholders, { single braces } and }} closers",
    "Dear {{ first_name }} {{last_name}},",
    "{{ full_name }} ({{ outlet }}, {{ email }})",
    "{{- first_name -}}!",
])
def test_valid_placeholders_pass(text: str) -> None:
    validate_placeholders(text, "body")


@pytest.mark.parametrize("text", ESCAPES)
def test_forbidden_constructs_are_rejected(text: str) -> None:
    with pytest.raises(TemplateRejected) as caught:
        validate_placeholders(f"Hello {text} there", "body")
    error = caught.value
    assert isinstance(error, Invalid) and error.status == 422
    assert set(error.fields) == {"body"}
    assert "{{ first_name }}" in error.fields["body"] or "unclosed" in error.fields["body"]


def test_the_reason_names_the_unknown_placeholder() -> None:
    with pytest.raises(TemplateRejected) as caught:
        validate_placeholders("Your {{ password }}", "subject")
    assert caught.value.fields == {"subject": (
        "unknown placeholder {{ password }}; allowed: {{ first_name }}, {{ last_name }}, "
        "{{ full_name }}, {{ outlet }}, {{ email }}")}


@pytest.mark.parametrize("payload", ESCAPES)
def test_sandbox_escapes_are_never_executed_at_compile(payload: str) -> None:
    content = with_changes(sample("en"), body=f"Intro\n\n{payload}\n")
    with pytest.raises(TemplateRejected):
        compile_release(content)


def test_compile_reports_every_field_in_error() -> None:
    content = with_changes(sample("en"), subject="{{ config }}", preheader="ok {{ outlet }}",
                           body="{% for x in y %}{% endfor %}")
    with pytest.raises(TemplateRejected) as caught:
        compile_release(content)
    assert set(caught.value.fields) == {"subject", "body"}


def test_strict_undefined_errors_surface_as_template_rejected() -> None:
    # The allow-list stops unknown names first; should a name ever reach the sandbox without a
    # value, StrictUndefined raises and the caller still gets a TemplateRejected, not a crash.
    with pytest.raises(TemplateRejected) as caught:
        substitute("Hello {{ outlet }}", "preheader", {"first_name": "x"})
    assert "outlet" in caught.value.fields["preheader"]


def test_placeholders_are_filled_per_recipient() -> None:
    content = with_changes(
        sample("ru"), subject="{{ first_name }}, приглашение на конференцию",
        preheader="Для {{ outlet }}",
        body="Уважаемый(ая) {{ full_name }}!\n\nВаш адрес: {{ email }}. **{{ last_name }}**\n")
    compiled = compile_release(content)
    people = [
        Recipient(email="ivan@example.ru", first_name="Иван", last_name="Петров",
                  outlet="Новая газета", language="ru"),
        Recipient(email="bob@example.org", first_name="Bob <b>&", last_name='"Jr"',
                  outlet="<script>alert(1)</script>", language="ru"),
    ]
    for number, person in enumerate(people, 1):
        message = render_message(compiled, person, context(number))
        parsed = parse(message.as_bytes())
        text, html = parts(parsed)
        assert str(parsed["Subject"]) == f"{person.first_name}, приглашение на конференцию"
        full = f"{person.first_name} {person.last_name}"
        assert f"Уважаемый(ая) {full}!" in text
        assert f"Ваш адрес: {person.email}." in text
        assert f"{person.last_name}" in text
    assert "Уважаемый(ая) Иван Петров!" in render_message(compiled, people[0], context()).html
    html = render_message(compiled, people[1], context()).html
    assert "Bob &lt;b&gt;&amp; &quot;Jr&quot;" in html  # escaped in the HTML part
    assert "<script>alert(1)</script>" not in html
    assert "Для &lt;script&gt;alert(1)&lt;/script&gt;" in html  # the preheader too


def test_missing_values_render_as_nothing() -> None:
    compiled = compile_release(with_changes(sample("en"), subject="News for {{ outlet }}"))
    message = render_message(compiled, Recipient(email="x@example.org"), context())
    assert message.subject == "News for"
    assert parse(message.as_bytes())["To"] == "x@example.org"


@pytest.mark.parametrize("body", [
    "[link]({{ email }})",
    "[link](https://example.org/?who={{ email }})",
    "![{{ first_name }}](https://example.org/a.png)",
    '<a href="https://example.org/{{ email }}">x</a>',
])
def test_placeholders_are_refused_in_addresses_and_attributes(body: str) -> None:
    with pytest.raises(TemplateRejected) as caught:
        compile_release(with_changes(sample("en"), body=body))
    assert "placeholders can only be used in text" in caught.value.fields["body"]
