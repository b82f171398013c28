"""Validating one CSV row into a contact, with the field rules of ``mailer.contacts.validation``.

An empty cell means "not given": it is not validated, a new contact gets the field's default,
and an existing contact keeps its value when ``update_existing`` is set. The email cell is
the one that may not be empty. Codes that repeat from row to row (languages, countries, time
zones, tag lists) are validated once per distinct value through a small bounded cache. The
reasons are in the language of whoever runs the import (the wizard's user; English for the API
and the CLI), so the cache is keyed by that language too: a reason cached for one never reaches
another.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from flask_babel import get_locale, gettext

from mailer.contacts import validation
from mailer.contacts.importing.columns import EMAIL, Mapping
from mailer.contacts.validation import FieldError

ROW = ""  # the ``field`` of a problem with the whole row rather than one cell

_TRUE = frozenset({"1", "yes", "y", "true", "on", "да"})
_FALSE = frozenset({"0", "no", "n", "false", "off", "нет"})


@dataclass(slots=True)
class ContactRow:
    """A valid row: the address, its key and hash, the given fields normalised, and tags.

    ``values`` holds only the fields whose cells were not empty; lists come as tuples (they
    may be shared between rows through the validation cache, so they must not change).
    """

    row: int
    email: str
    key: str
    hash: str
    values: dict[str, Any]
    tags: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row was rejected: its number, the field (empty for the whole row), the reason."""

    row: int
    field: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        """The API shape of one rejected row: ``{row, field, message}``."""
        return {"row": self.row, "field": self.field, "message": self.message}


def normalise_tracking(value: str) -> bool:
    """A yes/no cell as a boolean (yes, no, true, false, 1, 0, on, off, да, нет)."""
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise FieldError(gettext("%(value)r is not yes or no", value=value))


Outcome = tuple[bool, Any]
# A rule of one cell: (value, language of the reasons) -> (ok, normalised value or reason).
Rule = Callable[[str, str], Outcome]


def reasons_language() -> str:
    """The language this request's (or command's) reasons come out in: the cache key."""
    return str(get_locale() or "en")


def _outcome(rule: Callable[[str], Any]) -> Rule:
    def run(value: str, language: str) -> Outcome:  # language: a cache key only
        try:
            result = rule(value)
        except FieldError as exc:
            return False, str(exc)
        return True, tuple(result) if isinstance(result, list) else result

    return run


def _cached(rule: Callable[[str], Any]) -> Rule:
    return lru_cache(maxsize=2048)(_outcome(rule))


_text = _cached(validation.normalise_text)

# The common address: a plain ASCII dot-atom before the @ and an ASCII domain. Its local part
# is valid as it stands (RFC 5322 dot-atom; email-validator returns it unchanged) and only its
# domain can be wrong, so validation.normalise_email runs once per domain ("a@" + domain,
# cached) instead of once per row: the address rule costs 21 µs, three quarters of a row's
# validation. Anything else (quotes, other symbols, non-ASCII, long) takes the full rule.
_PLAIN_LOCAL = re.compile(r"[A-Za-z0-9_+-]+(?:\.[A-Za-z0-9_+-]+)*")
_MAX_LOCAL, _MAX_ADDRESS = 64, 254


@lru_cache(maxsize=4096)
def _domain(domain: str, language: str) -> Outcome:  # language: a cache key only
    try:
        return True, validation.normalise_email(f"a@{domain}")[2:]
    except FieldError as exc:
        return False, str(exc)


def normalise_email(value: str, language: str | None = None) -> str:
    """``validation.normalise_email``, with its domain half cached for plain addresses
    (``language``: that of the reasons, :func:`reasons_language`)."""
    address = value.strip()
    local, at, domain = address.rpartition("@")
    if (at and domain.isascii() and len(local) <= _MAX_LOCAL and len(address) <= _MAX_ADDRESS
            and _PLAIN_LOCAL.fullmatch(local)):
        ok, result = _domain(domain, language or reasons_language())
        if not ok:
            raise FieldError(result)
        return f"{local}@{result}"
    return validation.normalise_email(value)

RULES: dict[str, Rule] = {
    "first_name": _text,
    "last_name": _text,
    "outlet": _text,
    "beat": _text,
    "role": _text,
    "country": _cached(validation.normalise_country),
    "language": _cached(validation.normalise_language),
    "languages": _cached(validation.normalise_languages),
    "timezone": _cached(validation.normalise_timezone),
    "phone": _outcome(validation.normalise_phone),
    "notes": _outcome(validation.normalise_notes),
    "tags": _cached(validation.normalise_tags),
    "tracking": _cached(normalise_tracking),
}


class RowValidator:
    """Checks rows of one file against its mapping (planned once, run per row)."""

    def __init__(self, mapping: Mapping) -> None:
        self.width = len(mapping.fields)
        self.email_index = mapping.fields.index(EMAIL)
        self.plan = [(index, field, RULES[field]) for index, field in mapping.used()
                     if field != EMAIL]
        self.language = reasons_language()

    def __call__(self, row: int, cells: list[str]) -> ContactRow | list[RowError]:
        """Check every mapped cell of one row: a contact, or every problem found in the row."""
        errors: list[RowError] = []
        count = len(cells)
        if count > self.width and any(cell.strip() for cell in cells[self.width:]):
            errors.append(RowError(row, ROW, gettext(
                "has %(count)s cells but the header has %(width)s columns (a delimiter inside "
                "an unquoted value?)", count=count, width=self.width)))
        email = key = ""
        try:
            email = normalise_email(cells[self.email_index] if self.email_index < count else "",
                                    self.language)
        except FieldError as exc:
            errors.append(RowError(row, EMAIL, str(exc)))
        else:
            key = validation.email_key(email)
        values: dict[str, Any] = {}
        tags: tuple[str, ...] = ()
        for index, field, rule in self.plan:
            if index >= count:
                continue
            cell = cells[index]
            if not cell or cell.isspace():
                continue
            ok, result = rule(cell, self.language)
            if not ok:
                errors.append(RowError(row, field, result))
            elif field == "tags":
                tags = result
            else:
                values[field] = result
        if errors:
            return errors
        # email_hash(key) == email_hash(email): the key is its own key.
        return ContactRow(row, email, key, validation.email_hash(key), values, tags)


def is_blank(cells: list[str]) -> bool:
    """True for a row with no content (skipped without a report, keeping its number)."""
    return not any(cell.strip() for cell in cells)
