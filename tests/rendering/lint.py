"""A header and structure linter for outgoing messages: shared/API.md's list and RFC 5322.

``lint_message(data)`` returns the errors and warnings of one serialised message:

- CRLF line endings only; every line at most 998 octets; header lines over 78 characters warn;
- the header fields API.md requires, each exactly once, and RFC 5322's single-instance fields
  at most once; field names well formed; no raw 8-bit in headers unless SMTPUTF8 is allowed;
- a parseable ``Date`` with a zone, a valid ``Message-ID``, ``MIME-Version: 1.0``,
  ``Content-Language``, ``List-Unsubscribe`` with an http(s) and a mailto address and
  ``List-Unsubscribe-Post: List-Unsubscribe=One-Click`` (RFC 8058);
- ``multipart/alternative`` with exactly ``text/plain`` then ``text/html``, both UTF-8 in a
  known transfer encoding, quoted-printable lines at most 76 characters, decodable, and no
  defect reported by the ``email`` package.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from email.errors import NonASCIILocalPartDefect
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

REQUIRED = ("From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Language",
            "List-Unsubscribe", "List-Unsubscribe-Post", "Content-Type")
SINGLE = ("Date", "From", "Sender", "Reply-To", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To",
          "References", "Subject", "MIME-Version", "Content-Type", "Content-Transfer-Encoding",
          "Content-Language", "List-Id", "List-Unsubscribe", "List-Unsubscribe-Post",
          "Feedback-ID")

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_DOT_ATOM = rf"{_ATEXT}+(?:\.{_ATEXT}+)*"
MESSAGE_ID = re.compile(rf"^<{_DOT_ATOM}@(?:{_DOT_ATOM}|\[[!-Z^-~]*\])>$")
FIELD_NAME = re.compile(r"^[!-9;-~]+$")
LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*$")
LIST_UNSUBSCRIBE = re.compile(r"^<(https?://[^<>\s]+)>,\s*<(mailto:[^<>\s]+)>$")


@dataclass
class LintReport:
    """What the linter found: errors break the contract, warnings are worth a look."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when there is no error."""
        return not self.errors


def _header_fields(head: bytes, report: LintReport, utf8_ok: bool) -> list[tuple[str, str]]:
    fields: list[tuple[str, str]] = []
    for raw_line in head.split(b"\r\n"):
        if len(raw_line) > 78:
            report.warnings.append(f"header line longer than 78 characters: {raw_line[:40]!r}…")
        if not raw_line.isascii() and not utf8_ok:
            report.errors.append(f"raw 8-bit header line without SMTPUTF8: {raw_line[:40]!r}")
        line = raw_line.decode("utf-8", "replace")
        if line[:1] in (" ", "\t"):
            if not fields:
                report.errors.append("the header block starts with a continuation line")
                continue
            name, value = fields[-1]
            fields[-1] = (name, value + line)
            continue
        name, colon, value = line.partition(":")
        if not colon or not FIELD_NAME.match(name):
            report.errors.append(f"malformed header line: {line[:60]!r}")
            continue
        fields.append((name, value.strip()))
    return fields


def lint_message(data: bytes, *, utf8_ok: bool = False) -> LintReport:
    """Check one serialised message; ``utf8_ok`` allows RFC 6532 UTF-8 headers (SMTPUTF8)."""
    report = LintReport()
    if re.search(rb"(?<!\r)\n", data) or re.search(rb"\r(?!\n)", data):
        report.errors.append("line endings other than CRLF")
    for number, line in enumerate(data.split(b"\r\n"), 1):
        if len(line) > 998:
            report.errors.append(f"line {number} is {len(line)} octets long (limit 998)")
    head, separator, _ = data.partition(b"\r\n\r\n")
    if not separator:
        report.errors.append("no empty line between header and body")
        return report

    fields = _header_fields(head, report, utf8_ok)
    counts: dict[str, int] = {}
    for name, _ in fields:
        counts[name.lower()] = counts.get(name.lower(), 0) + 1
    for name in REQUIRED:
        if counts.get(name.lower(), 0) == 0:
            report.errors.append(f"missing {name}")
    for name in SINGLE:
        if counts.get(name.lower(), 0) > 1:
            report.errors.append(f"{name} appears {counts[name.lower()]} times")
    values = {name.lower(): value for name, value in fields}

    date = values.get("date")
    if date is not None:
        try:
            moment = parsedate_to_datetime(date)
            if moment.tzinfo is None:
                report.errors.append(f"Date without a zone: {date!r}")
        except (TypeError, ValueError):
            report.errors.append(f"unparseable Date: {date!r}")
    message_id = values.get("message-id")
    if message_id is not None and not MESSAGE_ID.match(message_id):
        report.errors.append(f"invalid Message-ID: {message_id!r}")
    if values.get("mime-version", "1.0") != "1.0":
        report.errors.append(f"MIME-Version is {values['mime-version']!r}, not 1.0")
    language = values.get("content-language")
    if language is not None and not LANGUAGE.match(language):
        report.errors.append(f"Content-Language is not a language tag: {language!r}")
    unsubscribe = values.get("list-unsubscribe")
    if unsubscribe is not None:
        match = LIST_UNSUBSCRIBE.match(unsubscribe)
        if not match:
            report.errors.append(f"List-Unsubscribe is not <http(s)…>, <mailto:…>: {unsubscribe!r}")
        elif not match.group(1).startswith("https://"):
            report.warnings.append("List-Unsubscribe uses http, not https")
    post = values.get("list-unsubscribe-post")
    if post is not None and post != "List-Unsubscribe=One-Click":
        report.errors.append(f"List-Unsubscribe-Post is {post!r}")

    _check_structure(data, report, utf8_ok)
    return report


def _check_structure(data: bytes, report: LintReport, utf8_ok: bool) -> None:
    if utf8_ok and not data.isascii():  # RFC 6532 headers: the email package reads them as text
        message = email.message_from_string(data.decode("utf-8"), policy=email.policy.default)
    else:
        message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    for defect in message.defects:
        report.errors.append(f"message defect: {defect!r}")
    for name in ("From", "To", "Subject", "List-Id"):
        header = message.get(name)
        if header is not None:
            for defect in getattr(header, "defects", ()):
                if utf8_ok and isinstance(defect, NonASCIILocalPartDefect):
                    continue  # allowed with SMTPUTF8
                report.errors.append(f"{name} defect: {defect!r}")
    if message.get_content_type() != "multipart/alternative":
        report.errors.append(f"top level is {message.get_content_type()}, "
                             "not multipart/alternative")
        return
    parts = list(message.iter_parts())
    kinds = [part.get_content_type() for part in parts]
    if kinds != ["text/plain", "text/html"]:
        report.errors.append(f"parts are {kinds}, not text/plain then text/html")
    for part in parts:
        kind = part.get_content_type()
        for defect in part.defects:
            report.errors.append(f"{kind} defect: {defect!r}")
        if (part.get_content_charset() or "").lower() != "utf-8":
            report.errors.append(f"{kind} charset is {part.get_content_charset()!r}, not utf-8")
        cte = part.get("Content-Transfer-Encoding", "7bit").lower()
        if cte not in ("7bit", "quoted-printable", "base64"):
            report.errors.append(f"{kind} has transfer encoding {cte!r}")
        raw = part.get_payload(decode=False)
        if cte == "quoted-printable" and isinstance(raw, str):
            longest = max((len(line) for line in raw.splitlines()), default=0)
            if longest > 76:
                report.errors.append(f"{kind} has a quoted-printable line of {longest} characters")
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            report.errors.append(f"{kind} has no decodable payload")
            continue
        try:
            payload.decode("utf-8")
        except UnicodeDecodeError:
            report.errors.append(f"{kind} is not valid UTF-8")
