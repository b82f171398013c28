"""Contacts as CSV that opens safely in a spreadsheet, streamed in constant memory.

The columns of API.md's import come first (``email … tags``, tags joined by ``;``), so an export
can be imported again, then the other fields. UTF-8 with a byte-order mark, so Excel shows
Cyrillic correctly. Every cell that a spreadsheet would read as a formula (starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``, and every cell is quoted, as the
OWASP "CSV injection" guidance says. Rows are read ``BATCH`` at a time (``yield_per``; a
server-side cursor on PostgreSQL) with tags and list names fetched once per batch, so memory does
not grow with the number of contacts.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select

from mailer.audit import service as audit
from mailer.contacts.filtering import ContactFilter, conditions, suppressed_condition
from mailer.contacts.models import Contact, ContactList, ContactTag, ListMember
from mailer.csv_safe import BOM, safe_cell
from mailer.db import db

IMPORT_COLUMNS = ("email", "first_name", "last_name", "outlet", "beat", "country", "language",
                  "timezone", "tags")
EXTRA_COLUMNS = ("role", "languages", "phone", "social", "notes", "tracking", "status", "lists",
                 "source", "created_at", "updated_at")
COLUMNS = IMPORT_COLUMNS + EXTRA_COLUMNS
BATCH = 1000

_SELECTED = (Contact.id, Contact.email, Contact.first_name, Contact.last_name, Contact.outlet,
             Contact.beat, Contact.country, Contact.language, Contact.timezone, Contact.role,
             Contact.languages, Contact.phone, Contact.social, Contact.notes, Contact.tracking,
             Contact.source, Contact.created_at, Contact.updated_at)


# One rule for every export (mailer.csv_safe); this one also quotes every cell.
neutralise = safe_cell


def _lines(rows: Iterable[Sequence[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows([neutralise(cell) for cell in row] for row in rows)
    return buffer.getvalue()


def _by_contact(query: Any) -> dict[int, list[str]]:
    grouped: dict[int, list[str]] = {}
    for contact_id, value in db.session.execute(query):
        grouped.setdefault(contact_id, []).append(value)
    return grouped


def _time(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def _row(row: Any, tags: list[str], lists: list[str]) -> list[object]:
    social = "; ".join(f"{network}: {handle}" for network, handle in (row.social or {}).items())
    return [row.email, row.first_name, row.last_name, row.outlet, row.beat, row.country,
            row.language, row.timezone, ";".join(tags),
            row.role, ";".join(row.languages or []), row.phone, social, row.notes,
            "true" if row.tracking else "false",
            "suppressed" if row.suppressed else "active", ";".join(lists), row.source,
            _time(row.created_at), _time(row.updated_at)]


def export_csv(spec: ContactFilter | None = None) -> Iterator[str]:
    """The CSV text of the contacts matching ``spec`` (all when None), in chunks of rows;
    the export is recorded in the audit log when asked for, not when streamed."""
    audit.record("contacts.exported", target_type="contacts", summary="Contacts exported as CSV",
                 details={"filter": repr(spec)} if spec else {}, commit=True)
    return _export_lines(spec)


def _export_lines(spec: ContactFilter | None) -> Iterator[str]:
    yield BOM + _lines([COLUMNS])
    query = (select(*_SELECTED, suppressed_condition().label("suppressed"))
             .where(conditions(spec or ContactFilter()))
             .order_by(Contact.id)
             .execution_options(yield_per=BATCH))
    for batch in db.session.execute(query).partitions():
        ids = [row.id for row in batch]
        tags = _by_contact(select(ContactTag.contact_id, ContactTag.tag)
                           .where(ContactTag.contact_id.in_(ids)).order_by(ContactTag.tag))
        lists = _by_contact(select(ListMember.contact_id, ContactList.name)
                            .join(ContactList, ContactList.id == ListMember.list_id)
                            .where(ListMember.contact_id.in_(ids)).order_by(ContactList.name))
        yield _lines(_row(row, tags.get(row.id, []), lists.get(row.id, [])) for row in batch)


def export_filename(list_name: str | None, when: datetime) -> str:
    """An ASCII file name for the download, e.g. ``journalists-2026-01-31.csv``."""
    stem = "journalists"
    if list_name:
        slug = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in list_name.lower())
        slug = "-".join(part for part in slug.split("-") if part)[:40]
        stem = f"{stem}-{slug}" if slug else f"{stem}-list"
    return f"{stem}-{when:%Y-%m-%d}.csv"
