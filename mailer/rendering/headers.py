"""Header fields: safe values, RFC 2047 encoded words, addresses and folding.

Every value that reaches a header goes through here. Free text (names, subjects) is flattened
to one line first: CR, LF and every other control character become spaces, so no field can
inject a header. Non-ASCII text becomes RFC 2047 encoded words (``B`` or ``Q``, whichever is
shorter); display names with specials are quoted; addresses are checked and their domains
IDNA-encoded when the local part is ASCII, or kept as UTF-8 (RFC 6532, sent with SMTPUTF8) when
it is not. Lines are folded at 78 characters where the value allows and never exceed 998.

The output parses back, with ``email.message_from_bytes(…, policy=email.policy.default)``,
to exactly the value ``readable_*`` returns (tests/rendering/test_mime.py checks it against
messages built with ``email.message.EmailMessage``).
"""

from __future__ import annotations

import binascii
import functools
import re
from dataclasses import dataclass

from mailer.errors import Invalid

FOLD_AT = 78
"""RFC 5322's recommended line length: folded where the value has room to fold."""
LINE_LIMIT = 998
"""RFC 5322's hard limit on a line, in octets, without the CRLF."""
_EW_MAX = 75  # RFC 2047: an encoded word is at most 75 characters
_B_PREFIX, _Q_PREFIX, _EW_SUFFIX = "=?utf-8?b?", "=?utf-8?q?", "?="

_WORD_AND_SPACE = re.compile(r"\S+\s*|\s+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_PHRASE_ATOMS = re.compile(rf"^[{_ATEXT}]+(?: [{_ATEXT}]+)*$")
_SPECIALS = frozenset('()<>@,:;."[]')  # what the email package quotes when it prints a name
_NON_ASCII = r"[^\x00-\x9f\s]"
_LOCAL = re.compile(rf"^(?:[{_ATEXT}]|{_NON_ASCII})+(?:\.(?:[{_ATEXT}]|{_NON_ASCII})+)*$")
_LETTER = rf"(?:[A-Za-z0-9]|{_NON_ASCII})"
_LABEL = rf"{_LETTER}(?:(?:{_LETTER}|-)*{_LETTER})?"
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
# RFC 2919 wants a dotted id (journalists.press.example.org); a bare host name such as the
# default configuration's "localhost" is accepted as a dot-atom rather than failing every send.
_LIST_ID = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_MSG_ID = re.compile(r"^<?([!-;=?A-~]+@[!-;=?A-~]+)>?$")  # printable ASCII but <, >, @
_URL = re.compile(r"^[!-~]+$")  # printable ASCII, no spaces: URLs reach headers percent-encoded

# Q encoding of one byte inside an encoded word in unstructured text (RFC 2047 section 4.2).
_Q_BYTE = [
    "_" if byte == 0x20
    else chr(byte) if 0x21 <= byte <= 0x7E and chr(byte) not in "=?_"
    else f"={byte:02X}"
    for byte in range(256)
]


class InvalidAddress(Invalid):
    """An email address that cannot be put in a header or an SMTP envelope."""

    code = "invalid_address"


def one_line(value: str) -> str:
    """``value`` as one line of text: control characters and line breaks become single spaces."""
    if value.isprintable() and "  " not in value and value == value.strip():
        return value
    return " ".join(_CONTROL.sub(" ", value).split())


# --- encoded words -------------------------------------------------------------------------------


def _utf8_cut(data: bytes, limit: int) -> int:
    """The largest cut ≤ ``limit`` that does not split a UTF-8 character."""
    if limit >= len(data):
        return len(data)
    cut = limit
    while cut > 0 and (data[cut] & 0xC0) == 0x80:
        cut -= 1
    return cut


def _b_words(data: bytes, first: int) -> list[str]:
    """``data`` as B encoded words, the first at most ``first`` characters, others 75."""
    return [_b_word(chunk) for chunk in _split_b(data, first)]


def _phrase_b_words(text: str, first: int) -> list[str]:
    """A display name as B encoded words, cut after spaces where a cut is needed.

    RFC 2047 decoders drop the space between adjacent encoded words, so the name's own space
    travels inside the earlier word. (CPython's parser keeps that space too, so a name longer
    than one encoded word parses back there with a doubled space; mail clients decode it
    exactly. Cutting at spaces keeps this the only difference.)
    """
    words: list[str] = []
    budget = first
    pending = b""
    for piece in _WORD_AND_SPACE.findall(text):
        data = piece.encode()
        if _b_length(pending + data) <= budget:
            pending += data
            continue
        if pending:
            words.append(_b_word(pending))
            budget = _EW_MAX
            pending = b""
        if _b_length(data) <= budget:
            pending = data
        else:  # one word longer than an encoded word: cut between its characters
            *whole, pending = _split_b(data, budget)
            words.extend(_b_word(chunk) for chunk in whole)
            budget = _EW_MAX
    if pending:
        words.append(_b_word(pending))
    return words


def _b_length(data: bytes) -> int:
    return len(_B_PREFIX) + (len(data) + 2) // 3 * 4 + len(_EW_SUFFIX)


def _b_word(data: bytes) -> str:
    return _B_PREFIX + binascii.b2a_base64(data, newline=False).decode() + _EW_SUFFIX


def _split_b(data: bytes, first: int) -> list[bytes]:
    """``data`` cut between characters into chunks that fit B encoded words."""
    chunks: list[bytes] = []
    budget = first
    while data:
        room = max((budget - len(_B_PREFIX) - len(_EW_SUFFIX)) // 4 * 3, 3)
        cut = _utf8_cut(data, room) or _utf8_cut(data, room + 3)
        chunks.append(data[:cut])
        data = data[cut:]
        budget = _EW_MAX
    return chunks


def _q_words(data: bytes, first: int) -> list[str]:
    """``data`` as Q encoded words, cut between characters, the first ≤ ``first`` long."""
    words: list[str] = []
    current: list[str] = []
    length = 0
    budget = first - len(_Q_PREFIX) - len(_EW_SUFFIX)
    index = 0
    while index < len(data):
        end = index + 1
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end += 1
        piece = "".join(_Q_BYTE[byte] for byte in data[index:end])
        if current and length + len(piece) > budget:
            words.append(_Q_PREFIX + "".join(current) + _EW_SUFFIX)
            current, length = [], 0
            budget = _EW_MAX - len(_Q_PREFIX) - len(_EW_SUFFIX)
        current.append(piece)
        length += len(piece)
        index = end
    if current:
        words.append(_Q_PREFIX + "".join(current) + _EW_SUFFIX)
    return words


def _fold(name: str, words: list[str]) -> str:
    """``Name: w1 w2 …`` folded before a word whenever the line would pass 78 characters."""
    lines: list[str] = []
    current = f"{name}:"
    for word in words:
        if len(current) + 1 + len(word) > FOLD_AT and current != f"{name}:":
            lines.append(current)
            current = " " + word
        else:
            current += " " + word
    lines.append(current)
    for line in lines:
        if len(line.encode()) > LINE_LIMIT:
            raise ValueError(f"the {name} header has a part longer than {LINE_LIMIT} octets")
    return "\r\n".join(lines)


def _needs_encoding(text: str) -> bool:
    return not text.isascii() or "=?" in text


@functools.lru_cache(maxsize=4096)
def encode_unstructured(name: str, value: str) -> str:
    """The header line(s) ``Name: value`` for free text, RFC 2047 encoded where not ASCII."""
    value = one_line(value)
    if not _needs_encoding(value):
        return _fold(name, value.split(" ") if value else [""])
    data = value.encode()
    first = FOLD_AT - len(name) - 2
    b_length = (len(data) + 2) // 3 * 4
    q_length = sum(len(_Q_BYTE[byte]) for byte in data)
    words = _q_words(data, first) if q_length <= b_length else _b_words(data, first)
    return _fold(name, words)


# --- addresses -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HeaderAddress:
    """An address checked for headers: the form to write and whether it needs SMTPUTF8."""

    addr_spec: str
    """As written in the header: domain IDNA-encoded unless the local part is UTF-8 too."""
    utf8: bool


@functools.lru_cache(maxsize=65536)
def check_address(address: str) -> HeaderAddress:
    """``address`` checked as a dot-atom ``local@domain`` fit for a header; else InvalidAddress."""
    local, at, domain = address.rpartition("@")
    if not at or len(address) > 254 or not _LOCAL.match(local) or not _DOMAIN.match(domain) \
            or len(local.encode()) > 64:
        raise InvalidAddress(f"{address!r} is not an email address that can be sent to.",
                             fields={"email": "not a valid address"})
    if address.isascii():
        return HeaderAddress(address, utf8=False)
    if not local.isascii():
        return HeaderAddress(address, utf8=True)
    try:
        import idna  # IDNA 2008 with UTS 46 mapping; installed with email-validator

        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except (UnicodeError, ValueError) as exc:  # idna.IDNAError is a UnicodeError
        raise InvalidAddress(f"{address!r} has a domain that cannot be encoded: {exc}",
                             fields={"email": "invalid internationalised domain"}) from exc
    return HeaderAddress(f"{local}@{ascii_domain}", utf8=False)


def readable_mailbox(display_name: str, addr_spec: str) -> str:
    """``Name <addr>`` as the email package prints a parsed address (names quoted if needed)."""
    if not display_name:
        return addr_spec
    if not _SPECIALS.isdisjoint(display_name):
        escaped = display_name.replace("\\", "\\\\").replace('"', '\\"')
        display_name = f'"{escaped}"'
    return f"{display_name} <{addr_spec}>"


def _phrase_words(phrase: str, first: int) -> list[str]:
    """A display name as header words (folding may break between them): atoms, a quoted
    string cut at its spaces, or B encoded words when it is not ASCII."""
    if phrase.isascii() and "=?" not in phrase and all(
            len(word) <= 70 for word in phrase.split(" ")):
        if _PHRASE_ATOMS.match(phrase):
            return phrase.split(" ")
        escaped = phrase.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'.split(" ")
    return _phrase_b_words(phrase, first)


@functools.lru_cache(maxsize=4096)
def _encode_mailbox_cached(name: str, display_name: str, addr_spec: str) -> str:
    if not display_name:
        return _fold(name, [addr_spec])
    words = _phrase_words(display_name, FOLD_AT - len(name) - 2)
    return _fold(name, [*words, f"<{addr_spec}>"])


def encode_mailbox(name: str, display_name: str, address: HeaderAddress) -> str:
    """The header line(s) ``Name: display <addr>``; the display name is flattened first."""
    return _encode_mailbox_cached(name, one_line(display_name), address.addr_spec)


# --- the other fields of API.md ------------------------------------------------------------------


def check_message_id(value: str) -> str:
    """A Message-ID as ``<id@domain>`` (angle brackets added when missing); else ValueError."""
    match = _MSG_ID.match(value)
    if not match:
        raise ValueError(f"not a Message-ID: {value!r}")
    return f"<{match.group(1)}>"


def check_url(value: str, schemes: tuple[str, ...]) -> str:
    """``value`` if it is a printable-ASCII URL with one of ``schemes``; else ValueError."""
    if not _URL.match(value) or not value.lower().startswith(schemes) or "<" in value \
            or ">" in value:
        raise ValueError(f"not a usable {'/'.join(schemes)} URL for a header: {value!r}")
    return value


@functools.lru_cache(maxsize=1024)
def encode_list_id(list_name: str, list_id: str) -> str:
    """``List-Id: name <list.id>`` (RFC 2919)."""
    if not _LIST_ID.match(list_id):
        raise ValueError(f"not a List-Id identifier (dot-atom, e.g. journalists.example.org): "
                         f"{list_id!r}")
    list_name = one_line(list_name)
    if not list_name:
        return _fold("List-Id", [f"<{list_id}>"])
    words = _phrase_words(list_name, FOLD_AT - len("List-Id") - 2)
    return _fold("List-Id", [*words, f"<{list_id}>"])


@functools.lru_cache(maxsize=1024)
def readable_list_id(list_name: str, list_id: str) -> str:
    """The List-Id value as the email package prints it (an unstructured field to it)."""
    list_name = one_line(list_name)
    if not list_name:
        return f"<{list_id}>"
    words = _phrase_words(list_name, FOLD_AT)
    shown = list_name if words[0].startswith(_B_PREFIX) else " ".join(words)
    return f"{shown} <{list_id}>"


def encode_list_unsubscribe(url: str, mailto: str) -> str:
    """``List-Unsubscribe: <https…>, <mailto:…>`` (RFC 2369), folded between the two."""
    check_url(url, ("https://", "http://"))
    check_url(mailto, ("mailto:",))
    return _fold("List-Unsubscribe", [f"<{url}>,", f"<{mailto}>"])


def check_token(name: str, value: str) -> str:
    """A short printable-ASCII header value without spaces (Feedback-ID); else ValueError."""
    if not _URL.match(value) or len(value) > 200:
        raise ValueError(f"not a usable {name} value: {value!r}")
    return value
