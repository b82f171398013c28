"""The fast path against the standard library: same headers, same parts, same decoded content.

The reference is the same message built with ``email.message.EmailMessage`` (policy ``SMTP``, or
``SMTPUTF8`` for UTF-8 addresses) and the same transfer encodings and boundary. Both are parsed
back with ``policy=email.policy.default`` and must agree field by field and part by part.

The bytes are not identical everywhere, on purpose: the standard library wraps quoted-printable
lines at 78 characters (RFC 2045 allows 76), RFC 2047-encodes a long URL in List-Unsubscribe
(which mail clients then cannot use) and cuts encoded words in the middle of words. Where
neither side has a reason to differ (the base64 parts, most header lines) they are byte-equal.
"""

from __future__ import annotations

import email
import email.policy
from email.headerregistry import Address
from email.message import EmailMessage, MIMEPart
from email.utils import format_datetime

import pytest

from mailer.rendering import (
    CompiledRelease,
    MessageContext,
    Recipient,
    RenderedMessage,
    compile_release,
    render_message,
)
from mailer.rendering.headers import check_address, one_line
from tests.rendering.support import FIXTURE_LANGUAGES, RECIPIENTS, context, sample


@pytest.fixture(scope="module")
def compiled() -> dict[str, CompiledRelease]:
    return {language: compile_release(sample(language)) for language in FIXTURE_LANGUAGES}


def reference(message: RenderedMessage, compiled: CompiledRelease, person: Recipient,
              ctx: MessageContext) -> bytes:
    """The same message built and serialised by the email package."""
    policy = email.policy.SMTPUTF8 if message.smtputf8 else email.policy.SMTP
    ref = EmailMessage(policy=policy)
    ref["From"] = Address(display_name=one_line(ctx.from_name), addr_spec=ctx.from_address)
    full_name = one_line(f"{one_line(person.first_name)} {one_line(person.last_name)}")
    local, _, domain = check_address(person.email).addr_spec.rpartition("@")
    ref["To"] = Address(display_name=full_name, username=local, domain=domain)
    ref["Subject"] = message.subject
    ref["Date"] = format_datetime(ctx.date)
    ref["Message-ID"] = ctx.message_id
    ref["MIME-Version"] = "1.0"
    ref["Content-Language"] = compiled.language
    ref["List-Id"] = f"{ctx.list_name} <{ctx.list_id}>"
    ref["List-Unsubscribe"] = f"<{ctx.unsubscribe_url}>, <{ctx.unsubscribe_mailto}>"
    ref["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    ref["Feedback-ID"] = ctx.feedback_id
    ref["Content-Type"] = "multipart/alternative"
    # Parts without a MIME-Version of their own (EmailMessage would add one to each).
    text = MIMEPart(policy=policy)
    text.set_content(message.text, cte=message.wire.text_encoding)
    html = MIMEPart(policy=policy)
    html.set_content(message.html, subtype="html", cte=message.wire.html_encoding)
    ref.attach(text)  # type: ignore[arg-type]  # typeshed wants EmailMessage; MIMEPart works
    ref.attach(html)  # type: ignore[arg-type]
    ref.set_boundary(message.wire.boundary)
    return ref.as_bytes()


def parse_any(data: bytes) -> EmailMessage:
    if data.isascii():
        parsed = email.message_from_bytes(data, policy=email.policy.default)
    else:  # RFC 6532 UTF-8 headers
        parsed = email.message_from_string(data.decode("utf-8"), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def assert_same_message(ours: bytes, theirs: bytes) -> None:
    mine, ref = parse_any(ours), parse_any(theirs)
    assert mine.keys() == ref.keys()
    for name in mine:
        assert str(mine[name]) == str(ref[name]), name
    assert [p.get_content_type() for p in mine.iter_parts()] == \
        [p.get_content_type() for p in ref.iter_parts()] == ["text/plain", "text/html"]
    for part, ref_part in zip(mine.iter_parts(), ref.iter_parts(), strict=True):
        assert part.items() == ref_part.items()
        assert part.get_content() == ref_part.get_content()
        assert part.get_payload(decode=True) == ref_part.get_payload(decode=True)


@pytest.mark.parametrize("language", FIXTURE_LANGUAGES)
def test_fast_path_parses_like_the_email_package(compiled: dict[str, CompiledRelease],
                                                 language: str) -> None:
    for number, person in enumerate(RECIPIENTS, 1):
        ctx = context(number)
        message = render_message(compiled[language], person, ctx)
        assert_same_message(message.as_bytes(), reference(message, compiled[language], person,
                                                          ctx))


def test_utf8_addresses_parse_like_the_email_package(compiled: dict[str, CompiledRelease]
                                                     ) -> None:
    person = Recipient(email="пётр@пример.рф", first_name="Пётр", last_name="Иванов")
    ctx = context()
    message = render_message(compiled["ru"], person, ctx)
    assert message.smtputf8
    assert_same_message(message.as_bytes(), reference(message, compiled["ru"], person, ctx))


def test_decoded_parts_are_the_rendered_strings(compiled: dict[str, CompiledRelease]) -> None:
    for language in FIXTURE_LANGUAGES:
        message = render_message(compiled[language], RECIPIENTS[1], context())
        parsed = parse_any(message.as_bytes())
        text, html = (part.get_content().replace("\r\n", "\n") for part in parsed.iter_parts())
        assert (text, html) == (message.text, message.html)


def test_base64_parts_and_simple_headers_are_byte_identical(
        compiled: dict[str, CompiledRelease]) -> None:
    person, ctx = RECIPIENTS[0], context()
    message = render_message(compiled["ru"], person, ctx)
    assert message.wire.html_encoding == message.wire.text_encoding == "base64"
    ours, theirs = message.as_bytes(), reference(message, compiled["ru"], person, ctx)
    our_head, our_body = ours.split(b"\r\n\r\n", 1)
    their_head, their_body = theirs.split(b"\r\n\r\n", 1)
    assert our_body == their_body
    same = {b"From", b"To", b"Date", b"Message-ID", b"MIME-Version", b"Content-Language",
            b"List-Id", b"List-Unsubscribe-Post", b"Feedback-ID", b"Content-Type"}
    ours_lines = [line for line in our_head.split(b"\r\n") if line.split(b":")[0] in same]
    theirs_lines = [line for line in their_head.split(b"\r\n") if line.split(b":")[0] in same]
    assert ours_lines == theirs_lines


def test_transfer_encoding_is_the_smaller_one(compiled: dict[str, CompiledRelease]) -> None:
    encodings = {language: render_message(compiled[language], RECIPIENTS[0], context()).wire
                 for language in FIXTURE_LANGUAGES}
    assert encodings["en"].text_encoding == "quoted-printable"  # mostly ASCII
    assert encodings["pl"].text_encoding == "quoted-printable"
    for language in ("ru", "tg", "kk", "ky"):  # Cyrillic: base64 is a third smaller
        assert encodings[language].text_encoding == "base64"
        assert encodings[language].html_encoding == "base64"
