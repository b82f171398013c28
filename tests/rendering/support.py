"""Test data for the rendering engine: the sample release, recipients and delivery contexts."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parseaddr
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from mailer.rendering import MessageContext, Recipient, ReleaseContent, parse_release_markdown

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT.parent / "shared" / "fixtures" / "releases"
FIXTURE_LANGUAGES = ("en", "ru", "tg", "kk", "ky", "pl")


@cache
def _read_sample(language: str) -> ReleaseContent | None:
    path = FIXTURES / f"{language}.md"
    if not path.is_file():
        return None
    return parse_release_markdown(path.read_text(encoding="utf-8"))


def sample(language: str) -> ReleaseContent:
    """The sample release of shared/fixtures in ``language``; the test is skipped when
    shared/ is not beside the repository (CI always has it)."""
    content = _read_sample(language)
    if content is None:
        pytest.skip(f"the sample release is not in {FIXTURES}")
    return content


def with_changes(content: ReleaseContent, **changes: Any) -> ReleaseContent:
    """A copy of ``content`` with some fields changed."""
    return dataclasses.replace(content, **changes)


def recipient(language: str = "en", **changes: Any) -> Recipient:
    """A journalist in ``language`` with ordinary ASCII details unless changed."""
    values: dict[str, Any] = {"email": "anna.smith@example.net", "first_name": "Anna",
                              "last_name": "Smith", "outlet": "Daily Planet",
                              "language": language, "timezone": "Asia/Dushanbe"}
    values.update(changes)
    return Recipient(**values)


RECIPIENTS = (
    Recipient(email="anna.smith@example.net", first_name="Anna", last_name="Smith",
              outlet="Daily Planet", language="en", timezone="Europe/London"),
    Recipient(email="ivan.petrov@example.ru", first_name="Иван", last_name="Петров",
              outlet="Новая газета", language="ru", timezone="Asia/Dushanbe"),
    Recipient(email="o.hara@example.org", first_name="Seán \"Jack\"", last_name="O'Hara, Jr.",
              outlet="The Times & Co", language="en", timezone="America/New_York",
              tracking=False),
    Recipient(email="dilnoza@example.tj", first_name="Дилноза", last_name="Раҳимова",
              outlet="Asia-Plus", language="tg", timezone="Asia/Dushanbe"),
    Recipient(email="aigerim@example.kz", first_name="Айгерім", last_name="Сейітқызы",
              outlet="Vlast.kz", language="kk", timezone="Asia/Almaty"),
    Recipient(email="k.wisniewska@example.pl", first_name="Katarzyna", last_name="Wiśniewska",
              outlet="Gazeta Wyborcza", language="pl", timezone="Europe/Warsaw"),
)


def tracking_url(url: str, index: int) -> str:
    """The click-tracking address of link ``index`` in these tests."""
    return f"https://press.example.org/c/tok3n/{index}"


def context(number: int = 1, **changes: Any) -> MessageContext:
    """The delivery context of delivery ``number``: tracking on, a web version, fixed date."""
    values: dict[str, Any] = {
        "from_address": "press@example.org", "from_name": "Nota Bene Press Office",
        "public_url": "https://press.example.org", "list_id": "journalists.press.example.org",
        "list_name": "Nota Bene journalists", "organisation": "Nota Bene",
        "unsubscribe_url": f"https://press.example.org/unsubscribe/u{number}.sig",
        "unsubscribe_mailto": f"mailto:unsubscribe+u{number}@press.example.org",
        "message_id": f"<delivery.{number}.mailing.7@press.example.org>",
        "envelope_sender": f"bounce+d{number}@bounces.example.org",
        "feedback_id": "7:release-3:press:notabene",
        "date": datetime(2016, 5, 30, 8, 0, tzinfo=UTC),
        "open_pixel_url": f"https://press.example.org/o/u{number}.gif",
        "rewrite_link": tracking_url,
        "web_version_url": "https://press.example.org/releases/3/ru?k=w3b",
    }
    values.update(changes)
    return MessageContext(**values)


def parse(data: bytes) -> EmailMessage:
    """A serialised message parsed with the modern policy."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    """The decoded text and HTML parts, line endings normalised to LF."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    return (text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n"))


def raw_header(data: bytes, name: str) -> str:
    """The unfolded raw value of header ``name`` (the first one), as on the wire."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8")
    unfolded = head.replace("\r\n ", " ").replace("\r\n\t", "\t")
    for line in unfolded.split("\r\n"):
        field, _, value = line.partition(":")
        if field.lower() == name.lower():
            return value.strip()
    raise KeyError(name)


def rfc2047_display_name(data: bytes, name: str = "To") -> str:
    """The display name of a mailbox header decoded strictly by RFC 2047 (section 6.2: the space
    between adjacent encoded words is dropped), unlike CPython's modern parser, which keeps it."""
    value = raw_header(data, name)
    phrase = value.rpartition("<")[0].strip() if value.endswith(">") else ""
    if "=?" in phrase:
        return str(make_header(decode_header(phrase)))
    return parseaddr(value)[0]


def same_words(left: str, right: str) -> bool:
    """Equal but for whitespace: how CPython's parser reads names cut into several encoded words
    (it keeps the space between them, which RFC 2047 drops)."""
    return "".join(left.split()) == "".join(right.split())
