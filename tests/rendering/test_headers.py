"""Header fields: no injection from any field, names encoded safely, addresses checked."""

from __future__ import annotations

import email
import email.policy
import random
from datetime import datetime
from typing import Any

import pytest

from mailer.rendering import (
    CompiledRelease,
    InvalidAddress,
    Recipient,
    compile_release,
    render_message,
)
from mailer.rendering.headers import encode_unstructured, one_line, readable_mailbox
from tests.rendering.lint import lint_message
from tests.rendering.support import (
    context,
    parse,
    rfc2047_display_name,
    same_words,
    sample,
    with_changes,
)

EXPECTED_HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                    "Content-Language", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
                    "Feedback-ID", "Content-Type"]


@pytest.fixture(scope="module")
def compiled() -> CompiledRelease:
    return compile_release(with_changes(
        sample("en"), subject="For {{ full_name }} of {{ outlet }}: the conference"))


NASTY_NAMES = [
    ("Eve\r\nBcc: victim@example.com", "Smith"),
    ("Eve\nSubject: hacked", "X\r\n\r\n<script>"),
    ('John "Johnny"', "Doe, Jr."),
    ("Иван, \"Ваня\"", "Петров <ivan@evil.example>"),
    ("=?utf-8?q?Injected?=", "Name"),
    ("Back\\slash", "(comment) ; colon: dot."),
    ("Tab\there", "\x00null\x07bell\u2028sep\x85nel"),
    ("Ａｎｎａ", "Ｓｍｉｔｈ" * 12),  # long, wide and non-ASCII: folded encoded words
    ("A" * 70, "B" * 70),  # long ASCII
]


@pytest.mark.parametrize(("first", "last"), NASTY_NAMES)
def test_names_cannot_inject_headers(compiled: CompiledRelease, first: str, last: str) -> None:
    person = Recipient(email="eve@example.org", first_name=first, last_name=last,
                       outlet="Evil\r\nX-Injected: 1", language="en")
    message = render_message(compiled, person, context())
    data = message.as_bytes()
    parsed = parse(data)
    assert parsed.keys() == EXPECTED_HEADERS
    for injected in (b"\nBcc:", b"\nX-Injected", b"\nSubject: hacked"):
        assert injected not in data
    expected_name = one_line(f"{first} {last}")
    (address,) = parsed["To"].addresses
    assert rfc2047_display_name(data) == expected_name
    assert same_words(address.display_name, expected_name)
    assert address.addr_spec == "eve@example.org"
    if len(expected_name.encode()) < 40:  # one encoded word: CPython reads it exactly too
        assert str(parsed["To"]) == readable_mailbox(expected_name, "eve@example.org")
    assert str(parsed["Subject"]) == f"For {expected_name} of Evil X-Injected: 1: the conference"
    report = lint_message(data)
    assert report.ok, report.errors
    assert "\r" not in message.subject and "\n" not in message.subject


def test_random_names_round_trip(compiled: CompiledRelease) -> None:
    alphabet = ("abcXYZ019 .,;:<>@()[]\"'\\!#$%&*+/=?^_`{|}~-\t\r\n"
                "ИванПётрҚазақӘңғүұқөһ Łódźżółć éü 中文 العربية 🙂\u00a0")
    rng = random.Random(2016)
    for number in range(300):
        first = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        last = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
        person = Recipient(email=f"r{number}@example.org", first_name=first, last_name=last)
        data = render_message(compiled, person, context(number)).as_bytes()
        parsed = parse(data)
        assert parsed.keys() == EXPECTED_HEADERS, (first, last)
        (address,) = parsed["To"].addresses
        assert rfc2047_display_name(data) == one_line(f"{first} {last}"), (first, last)
        assert same_words(address.display_name, one_line(f"{first} {last}")), (first, last)
        assert address.addr_spec == f"r{number}@example.org"
        assert lint_message(data).ok, (first, last)


@pytest.mark.parametrize("address", [
    "eve@example.org\r\nBcc: victim@example.com",
    "eve@example.org>, <victim@example.com",
    "Eve <eve@example.org>",
    "no-at-sign",
    "two@@example.org",
    "spa ce@example.org",
    '"quoted"@example.org',
    "eve@",
    "@example.org",
    "eve@exa_mple.org",
    "eve@-example.org",
    "a" * 65 + "@example.org",
])
def test_bad_addresses_are_refused(compiled: CompiledRelease, address: str) -> None:
    with pytest.raises(InvalidAddress) as caught:
        render_message(compiled, Recipient(email=address), context())
    assert caught.value.status == 422 and "email" in caught.value.fields


def test_utf8_addresses_go_out_as_smtputf8(compiled: CompiledRelease) -> None:
    person = Recipient(email="пётр@пример.рф", first_name="Пётр", last_name="Иванов")
    message = render_message(compiled, person, context())
    assert message.smtputf8
    data = message.as_bytes()
    assert b"To: =?utf-8?b?" in data and "<пётр@пример.рф>".encode() in data
    # RFC 6532 headers are UTF-8: the email package reads them from text, not from bytes.
    parsed = email.message_from_string(data.decode("utf-8"), policy=email.policy.default)
    assert parsed["To"].addresses[0].addr_spec == "пётр@пример.рф"
    assert parsed["To"].addresses[0].display_name == "Пётр Иванов"
    assert lint_message(data, utf8_ok=True).ok
    assert message.envelope().recipients == ("пётр@пример.рф",)


def test_internationalised_domains_are_idna_encoded_in_headers(compiled: CompiledRelease
                                                               ) -> None:
    message = render_message(compiled, Recipient(email="anna@bücher.example"), context())
    assert not message.smtputf8
    parsed = parse(message.as_bytes())
    assert parsed["To"].addresses[0].addr_spec == "anna@xn--bcher-kva.example"
    assert lint_message(message.as_bytes()).ok
    assert message.envelope().recipients == ("anna@bücher.example",)  # the transport decides


@pytest.mark.parametrize("changes", [
    {"message_id": "<x@example.org>\r\nBcc: victim@example.com"},
    {"message_id": "no-at-sign"},
    {"unsubscribe_url": "https://example.org/u?a b"},
    {"unsubscribe_url": "javascript:alert(1)"},
    {"unsubscribe_url": "https://example.org/u>\r\nBcc: x@y"},
    {"unsubscribe_mailto": "https://example.org/not-mailto"},
    {"list_id": "not a list id"},
    {"feedback_id": "a b\r\nBcc: x"},
    {"open_pixel_url": "data:image/gif;base64,AAAA"},
    {"web_version_url": "javascript:alert(1)"},
    {"date": datetime(2016, 5, 30, 8, 0)},  # naive
    {"reply_to": "desk@example.org\r\nBcc: victim@example.com"},
    {"reply_to": "not an address"},
])
def test_unusable_context_values_are_refused(compiled: CompiledRelease,
                                             changes: dict[str, Any]) -> None:
    with pytest.raises((ValueError, InvalidAddress)):
        render_message(compiled, Recipient(email="a@example.org"), context(**changes))


def test_context_names_are_flattened_and_encoded(compiled: CompiledRelease) -> None:
    ctx = context(from_name="Нота Бене\r\nBcc: x@y.org", list_name='Press "list", ru',
                  organisation="Nota Bene\r\nX-Evil: 1")
    data = render_message(compiled, Recipient(email="a@example.org"), ctx).as_bytes()
    parsed = parse(data)
    assert parsed.keys() == EXPECTED_HEADERS
    assert parsed["From"].addresses[0].display_name == "Нота Бене Bcc: x@y.org"
    assert str(parsed["List-Id"]) == '"Press \\"list\\", ru" <journalists.press.example.org>'
    assert lint_message(data).ok


def test_reply_to_only_when_given(compiled: CompiledRelease) -> None:
    plain = parse(render_message(compiled, Recipient(email="a@example.org"),
                                 context()).as_bytes())
    assert "Reply-To" not in plain
    data = render_message(compiled, Recipient(email="a@example.org"),
                          context(reply_to="desk@example.org")).as_bytes()
    parsed = parse(data)
    assert parsed.keys() == [*EXPECTED_HEADERS[:-1], "Reply-To", EXPECTED_HEADERS[-1]]
    assert str(parsed["Reply-To"]) == "desk@example.org"
    assert lint_message(data).ok


def test_long_list_unsubscribe_folds_between_addresses(compiled: CompiledRelease) -> None:
    url = "https://press.example.org/unsubscribe/" + "t" * 120
    data = render_message(compiled, Recipient(email="a@example.org"),
                          context(unsubscribe_url=url)).as_bytes()
    head = data.split(b"\r\n\r\n")[0].decode()
    assert f"List-Unsubscribe: <{url}>,\r\n <mailto:" in head
    assert str(parse(data)["List-Unsubscribe"]) == \
        f"<{url}>, <mailto:unsubscribe+u1@press.example.org>"


@pytest.mark.parametrize("subject", [
    "Plain ASCII subject",
    "Konferencja regionalna: Rola społeczeństwa obywatelskiego w zapobieganiu torturom, 2016 r.",
    "Өңірлік конференция: азаптаудың алдын алудағы азаматтық қоғамның рөлі" * 3,
    "Mixed 中文 and العربية and emoji 🙂 " * 4,
    "Looks like an encoded word =?utf-8?q?hello?= but is not",
    "x" * 200,
])
def test_subjects_round_trip_and_fold(subject: str) -> None:
    line = encode_unstructured("Subject", subject)
    assert line.isascii()
    for folded in line.split("\r\n"):
        assert len(folded) <= 78 or len(folded.split()) <= 2  # only a word too long to fold
    parsed = email.message_from_bytes(line.encode() + b"\r\n\r\n", policy=email.policy.default)
    assert str(parsed["Subject"]) == subject.strip()
