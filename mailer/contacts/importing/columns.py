"""Which contact field a CSV column fills: the importable fields and their header aliases.

Header names are compared after :func:`header_key` folds them (case, spaces, dashes, dots and
underscores do not matter), so ``E-mail``, ``EMAIL ADDRESS`` and ``first name`` all match.
The aliases are the names spreadsheets and other mailing tools commonly write, in English and
Russian; anything else is ignored and reported, or mapped by hand in the web wizard.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from flask_babel import gettext

EMAIL = "email"

# Importable fields, in the order the wizard offers them, with a label for people.
FIELDS: dict[str, str] = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "outlet": "Outlet",
    "beat": "Beat",
    "role": "Role",
    "country": "Country (ISO code)",
    "language": "Language",
    "languages": "Other languages (ranked)",
    "timezone": "Time zone",
    "phone": "Phone",
    "tags": "Tags (separated by ;)",
    "notes": "Notes",
    "tracking": "Tracking (yes/no)",
}

_ALIASES: dict[str, tuple[str, ...]] = {
    "email": ("e_mail", "email_address", "e_mail_address", "mail", "почта", "эл_почта",
              "электронная_почта", "адрес_электронной_почты", "e_mail_адрес"),
    "first_name": ("firstname", "first", "given_name", "forename", "имя"),
    "last_name": ("lastname", "last", "surname", "family_name", "фамилия"),
    "outlet": ("media", "media_outlet", "publication", "издание", "сми"),
    "beat": ("topic", "section", "тема", "рубрика"),
    "role": ("position", "job_title", "должность"),
    "country": ("country_code", "страна"),
    "language": ("lang", "language_code", "язык"),
    "languages": ("other_languages", "языки"),
    "timezone": ("time_zone", "tz", "часовой_пояс"),
    "phone": ("telephone", "phone_number", "mobile", "телефон"),
    "tags": ("tag", "labels", "теги", "метки"),
    "notes": ("note", "comment", "comments", "заметки", "примечание"),
    "tracking": ("track",),
}

_SEPARATORS = re.compile(r"[\s\-_.]+")


def header_key(name: str) -> str:
    """A header name folded for comparison: ``' E-Mail Address '`` → ``'e_mail_address'``."""
    return _SEPARATORS.sub("_", name.strip().strip("\ufeff").strip().lower()).strip("_")


ALIASES: dict[str, str] = {header_key(field): field for field in FIELDS} | {
    header_key(alias): field for field, aliases in _ALIASES.items() for alias in aliases
}


def field_for_header(name: str) -> str | None:
    """The contact field a header names, or None if it is not one we import."""
    return ALIASES.get(header_key(name))


@dataclass(frozen=True)
class Mapping:
    """Which field each column of the file fills (``None``: ignored), by column position."""

    header: tuple[str, ...]
    fields: tuple[str | None, ...]

    @property
    def has_email(self) -> bool:
        """True when some column gives the address."""
        return EMAIL in self.fields

    @property
    def ignored(self) -> list[str]:
        """Names of the columns that fill no field."""
        return [name for name, field in zip(self.header, self.fields, strict=True)
                if field is None and name.strip()]

    def used(self) -> list[tuple[int, str]]:
        """``(column position, field)`` of every mapped column."""
        return [(index, field) for index, field in enumerate(self.fields) if field]


def mapping_from_header(header: Sequence[str]) -> Mapping:
    """The mapping the header names suggest; a field named twice is taken from its first column."""
    fields: list[str | None] = []
    taken: set[str] = set()
    for name in header:
        field = field_for_header(name)
        if field in taken:
            field = None
        if field:
            taken.add(field)
        fields.append(field)
    return Mapping(tuple(header), tuple(fields))


def check_mapping(fields: Sequence[str | None]) -> dict[int, str]:
    """Problems of a mapping chosen by hand, by column position (empty when it is fine)."""
    problems: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, field in enumerate(fields):
        if field is None:
            continue
        if field not in FIELDS:
            problems[index] = gettext("not a contact field")
        elif field in seen:
            problems[index] = gettext("%(field)s is already taken from column %(column)s",
                                      field=FIELDS[field], column=seen[field] + 1)
        else:
            seen[field] = index
    if EMAIL not in seen and not problems:
        problems[0] = gettext("choose the column that holds the email address")
    return problems
