"""MIME: a rendered message's two parts encoded and framed as RFC 5322 bytes.

A message is ``multipart/alternative`` with ``text/plain`` then ``text/html``, both UTF-8, each
quoted-printable or base64, whichever is smaller for that part (decided once per compiled
layout: mostly-Latin text favours quoted-printable, Cyrillic base64). Every line is CRLF and at
most 76 characters in the bodies; the boundary derives from the Message-ID, so a retry of the
same delivery produces the same bytes.
"""

from __future__ import annotations

import binascii
import hashlib
from dataclasses import dataclass
from typing import Literal

TransferEncoding = Literal["quoted-printable", "base64"]

_B64_LINE = 76  # characters per base64 line (57 octets)
_B64_CHUNK = _B64_LINE // 4 * 3


def choose_encoding(sample: str) -> TransferEncoding:
    """The smaller robust transfer encoding for text like ``sample``."""
    data = sample.encode()
    qp = len(binascii.b2a_qp(data, istext=True))
    base64 = (len(data) + _B64_CHUNK - 1) // _B64_CHUNK * (_B64_LINE + 2)
    return "quoted-printable" if qp <= base64 else "base64"


def encode_text(text: str, encoding: TransferEncoding) -> bytes:
    """``text`` (lines ending in LF) as UTF-8 in ``encoding``, CRLF line endings, final CRLF."""
    if not text.endswith("\n"):
        text += "\n"
    if encoding == "quoted-printable":
        encoded = binascii.b2a_qp(text.encode(), istext=True)
        return encoded.replace(b"\n", b"\r\n")
    data = text.replace("\n", "\r\n").encode()  # base64 carries the canonical CRLF form
    flat = binascii.b2a_base64(data, newline=False)
    lines = [flat[start:start + _B64_LINE] for start in range(0, len(flat), _B64_LINE)]
    return b"\r\n".join(lines) + b"\r\n"


def boundary_for(message_id: str) -> str:
    """The multipart boundary of a message: fixed per Message-ID, never found in QP or base64."""
    return "=_" + hashlib.sha256(message_id.encode()).hexdigest()[:24]


@dataclass(frozen=True, slots=True)
class Wire:
    """What `serialise` needs beyond the parts' text: encoded header lines and framing."""

    header_lines: tuple[str, ...]
    boundary: str
    text_encoding: TransferEncoding
    html_encoding: TransferEncoding


def content_type(boundary: str) -> str:
    """The top-level Content-Type value."""
    return f'multipart/alternative; boundary="{boundary}"'


def serialise(wire: Wire, text: str, html: str) -> bytes:
    """The whole message as bytes: headers, then the text and HTML parts, CRLF throughout."""
    boundary = wire.boundary.encode()
    head = "\r\n".join(wire.header_lines).encode()
    return b"".join((
        head, b"\r\nContent-Type: ", content_type(wire.boundary).encode(), b"\r\n\r\n",
        b"--", boundary, b"\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n",
        b"Content-Transfer-Encoding: ", wire.text_encoding.encode(), b"\r\n\r\n",
        encode_text(text, wire.text_encoding),
        b"\r\n--", boundary, b"\r\nContent-Type: text/html; charset=\"utf-8\"\r\n",
        b"Content-Transfer-Encoding: ", wire.html_encoding.encode(), b"\r\n\r\n",
        encode_text(html, wire.html_encoding),
        b"\r\n--", boundary, b"--\r\n",
    ))
