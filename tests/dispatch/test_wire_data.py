"""The DATA payload: CRLF line endings, dot-stuffing and the terminator, with a fast path for
messages that need neither rewrite, which must give exactly what the full rewrite gives."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.dispatch.transports import _only_crlf, _wire_data
from mailer.rendering import compile_release, render_message
from tests.rendering.support import context, recipient, sample, with_changes


def rewritten(data: bytes) -> bytes:
    """The plain definition: every line ending made CRLF, leading dots doubled, terminator."""
    data = re.sub(rb"\r\n|\r|\n", b"\r\n", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return re.sub(rb"(?m)^\.", b"..", data) + b".\r\n"


def test_examples() -> None:
    assert _wire_data(b"Subject: x\r\n\r\nbody\r\n") == b"Subject: x\r\n\r\nbody\r\n.\r\n"
    assert _wire_data(b"a\nb") == b"a\r\nb\r\n.\r\n"
    assert _wire_data(b"a\rb\r\n") == b"a\r\nb\r\n.\r\n"
    assert _wire_data(b".lead\r\n.\r\nx\r\n") == b"..lead\r\n..\r\nx\r\n.\r\n"
    assert _wire_data(b"x\r\n\r\n.\r\n") == b"x\r\n\r\n..\r\n.\r\n"  # no early end of data


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from([b"a", b".", b"\r", b"\n", b"\r\n", b"..", b" "]),
                max_size=30).map(b"".join))
def test_the_fast_path_gives_what_the_rewrite_gives(data: bytes) -> None:
    assert _wire_data(data) == rewritten(data)


BODIES = [
    "Line one\nline two\r\nline three\rline four",
    ".starts with a dot\n\n.\n..\n",
    "Mixed\r\r\n\n\r endings, then a [link](https://example.org/a?b=c)\n\n" + "long " * 400,
    "Кириллица с точкой\n.в начале строки\n",
]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("language", ["en", "ru", "kk"])
def test_rendered_messages_use_crlf_only_so_the_line_pass_can_be_skipped(
        language: str, body: str) -> None:
    compiled = compile_release(with_changes(sample(language), body=body,
                                            contact="Desk\r\n.+7 000\nbare\rCR"))
    person = recipient(language, first_name="Eve\nBcc: x@example.com", last_name=".dot\r")
    envelope = render_message(compiled, person, context()).envelope()
    assert envelope.crlf
    assert _only_crlf(envelope.data)
    assert _wire_data(envelope.data, crlf=True) == rewritten(envelope.data)
