"""The linter itself: it must catch what it claims to catch."""

from __future__ import annotations

import pytest

from mailer.rendering import Recipient, compile_release, render_message
from tests.rendering.lint import lint_message
from tests.rendering.support import context, sample


@pytest.fixture(scope="module")
def good() -> bytes:
    compiled = compile_release(sample("en"))
    return render_message(compiled, Recipient(email="a@example.org"), context()).as_bytes()


def test_a_rendered_message_is_clean(good: bytes) -> None:
    report = lint_message(good)
    assert report.ok and not report.warnings, (report.errors, report.warnings)


@pytest.mark.parametrize(("change", "error"), [
    (lambda d: d.replace(b"\r\n", b"\n"), "line endings other than CRLF"),
    (lambda d: d.replace(b"Date: ", b"X-Date: ", 1), "missing Date"),
    (lambda d: d.replace(b"Message-ID: <", b"Message-ID: no-brackets<", 1), "invalid Message-ID"),
    (lambda d: d.replace(b"Date: Mon, 30 May 2016", b"Date: Someday", 1), "unparseable Date"),
    (lambda d: b"Subject: again\r\n" + d, "Subject appears 2 times"),
    (lambda d: b"To: b@example.org\r\n" + d, "To appears 2 times"),
    (lambda d: d.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                         b"List-Unsubscribe-Post: yes"), "List-Unsubscribe-Post is"),
    (lambda d: d.replace(b"<mailto:unsub", b"<ftp:unsub"), "List-Unsubscribe is not"),
    (lambda d: b"X-Long: " + b"x" * 1000 + b"\r\n" + d, "octets long"),
    (lambda d: b"X-Raw: \xd0\x96\r\n" + d, "raw 8-bit header"),
    (lambda d: d.replace(b"multipart/alternative", b"multipart/mixed", 1),
     "not multipart/alternative"),
    (lambda d: d.replace(b'text/plain; charset="utf-8"', b'text/plain; charset="koi8-r"'),
     "charset is 'koi8-r'"),
])
def test_broken_messages_are_caught(good: bytes, change: object, error: str) -> None:
    assert callable(change)
    report = lint_message(change(good))
    assert any(error in message for message in report.errors), report.errors


def test_long_header_lines_warn(good: bytes) -> None:
    report = lint_message(b"X-Wide: " + b"y" * 100 + b"\r\n" + good)
    assert report.ok and report.warnings
