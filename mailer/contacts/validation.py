"""The rules a journalist's fields follow, shared by the API, the web forms and the CSV import.

Each ``normalise_*`` function takes raw input and returns the canonical value, or raises
``FieldError`` naming why; ``mailer.errors.Invalid`` is built from those by the callers, so a
CSV import can report row, field and reason without stopping at the first error.
"""

from __future__ import annotations

import hashlib
import re
import zoneinfo
from functools import cache

import langcodes
from babel.core import get_global
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext

MAX_TEXT = 200
MAX_NOTES = 10_000
MAX_TAGS = 50
MAX_TAG_LENGTH = 64
MAX_LANGUAGES = 10


class FieldError(ValueError):
    """One field's value breaks a rule; the message says why, for a person."""


def normalise_email(value: object) -> str:
    """An address as stored: the local part as given, the domain lower-case Unicode (IDN).

    Syntax only (no DNS; the reserved ``.test`` names are accepted for trials, which is what
    ``test_environment`` means to email-validator); internationalised addresses such as
    ``журналист@пример.испытание``
    are accepted.
    """
    if not isinstance(value, str) or not value.strip():
        raise FieldError(gettext("required"))
    try:
        result = validate_email(value.strip(), check_deliverability=False,
                                test_environment=True,
                                allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise FieldError(str(exc)) from exc
    return f"{result.local_part}@{result.domain.lower()}"


def email_key(address: str) -> str:
    """The identity of an address: local part as is, domain lower-cased ASCII (punycode).

    Two spellings of one mailbox (``a@Пример.испытание`` and ``a@xn--e1afmkfd.xn--80akhbyknj4f``)
    have one key; this is what uniqueness and suppressions compare.
    """
    local, _, domain = address.rpartition("@")
    if domain.isascii():  # what the codec would return; it runs for every message sent
        return f"{local}@{domain.lower()}"
    try:
        ascii_domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        ascii_domain = domain
    return f"{local}@{ascii_domain.lower()}"


def email_hash(address: str) -> str:
    """SHA-256 of the address's key: how an erased contact's address stays suppressed."""
    return hashlib.sha256(email_key(address).encode("utf-8")).hexdigest()


def normalise_language(value: object) -> str:
    """A valid BCP 47 tag in its standard form (``EN-us`` → ``en-US``, ``kk-Latn`` kept)."""
    if not isinstance(value, str) or not value.strip():
        raise FieldError(gettext("required"))
    tag = value.strip().replace("_", "-")
    if not langcodes.tag_is_valid(tag):
        raise FieldError(gettext(
            "%(value)r is not a valid BCP 47 language tag (e.g. en, ru, kk-Latn)", value=value))
    return str(langcodes.standardize_tag(tag))


def normalise_languages(value: object) -> list[str]:
    """A ranked list of distinct language tags, most preferred first."""
    if value is None:
        return []
    if isinstance(value, str):
        value = [part for part in re.split(r"[;,\s]+", value) if part]
    if not isinstance(value, list):
        raise FieldError(gettext("must be a list of language tags"))
    if len(value) > MAX_LANGUAGES:
        raise FieldError(gettext("at most %(n)s languages", n=MAX_LANGUAGES))
    ranked: list[str] = []
    for item in value:
        tag = normalise_language(item)
        if tag not in ranked:
            ranked.append(tag)
    return ranked


@cache
def _timezones() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def normalise_timezone(value: object) -> str:
    """An IANA time zone name in its canonical spelling (``asia/almaty`` → ``Asia/Almaty``)."""
    if not isinstance(value, str) or not value.strip():
        raise FieldError(gettext("required"))
    name = _timezones().get(value.strip().lower())
    if name is None:
        raise FieldError(gettext(
            "%(value)r is not an IANA time zone (e.g. Asia/Almaty, Europe/Warsaw)", value=value))
    return name


@cache
def _territories() -> frozenset[str]:
    return frozenset(code for code in get_global("territory_zones") if len(code) == 2) | \
        frozenset(code for code in get_global("territory_currencies") if len(code) == 2)


def normalise_country(value: object) -> str:
    """An ISO 3166-1 alpha-2 code, upper case."""
    if not isinstance(value, str) or not value.strip():
        raise FieldError(gettext("required"))
    code = value.strip().upper()
    if len(code) != 2 or code not in _territories():
        raise FieldError(gettext("%(value)r is not an ISO 3166 country code (e.g. KZ, TJ, PL)",
                                 value=value))
    return code


def normalise_text(value: object, *, limit: int = MAX_TEXT) -> str:
    """Free text on one line: trimmed, no control characters, at most ``limit`` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(gettext("must be text"))
    text = value.strip()
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in text):
        raise FieldError(gettext("must not contain line breaks or control characters"))
    if len(text) > limit:
        raise FieldError(gettext("at most %(n)s characters", n=limit))
    return text


def normalise_notes(value: object) -> str:
    """Free notes: several lines allowed, no other control characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(gettext("must be text"))
    text = value.replace("\r\n", "\n").strip()
    if any((ord(ch) < 32 and ch not in "\n\t") or ord(ch) == 127 for ch in text):
        raise FieldError(gettext("must not contain control characters"))
    if len(text) > MAX_NOTES:
        raise FieldError(gettext("at most %(n)s characters", n=MAX_NOTES))
    return text


def normalise_tags(value: object) -> list[str]:
    """Distinct tags, trimmed, lower-cased; a string is split on ``;`` (the CSV convention)."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(";")
    if not isinstance(value, list):
        raise FieldError(gettext("must be a list of tags"))
    tags: list[str] = []
    for item in value:
        if not isinstance(item, str):
            raise FieldError(gettext("every tag must be text"))
        tag = item.strip().lower()
        if not tag:
            continue
        if len(tag) > MAX_TAG_LENGTH or any(ord(ch) < 32 for ch in tag):
            raise FieldError(gettext("tag %(tag)r is too long or has control characters",
                                     tag=item))
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise FieldError(gettext("at most %(n)s tags", n=MAX_TAGS))
    return tags


def normalise_phone(value: object) -> str:
    """A phone number as written, limited to digits, spaces and ``+()-./``."""
    text = normalise_text(value, limit=40)
    if text and not re.fullmatch(r"[0-9+()\-./ ]+", text):
        raise FieldError(gettext("may contain only digits, spaces and + ( ) - . /"))
    return text


def normalise_social(value: object) -> dict[str, str]:
    """Social handles by network, e.g. ``{"x": "@desk", "telegram": "@desk"}``."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise FieldError(gettext("must be an object of network: handle"))
    handles: dict[str, str] = {}
    for network, handle in value.items():
        key = normalise_text(network, limit=30).lower()
        if not key:
            raise FieldError(gettext("network names must not be empty"))
        handles[key] = normalise_text(handle, limit=200)
    return handles
