"""The CSV import of journalists: reads, validates and writes one file, chunk by chunk.

Owns the import's rules, the same for the API, the CLI and the web wizard:

* The whole file is checked before anything is written (size, encoding, binary content, a
  header row with an email column); a refused file writes nothing.
* Rows are then streamed in chunks of ``CHUNK_ROWS`` valid rows, each written in one
  transaction with a handful of bulk statements by a second thread while the next chunk is
  read (``pipeline``): memory holds three chunks at most, whatever the file's size.
* A row that breaks a rule is reported (row, field, reason) and skipped; the valid rows are
  imported anyway. That is the product decision: a press office's list of 5,000 journalists
  should not be held back by three typos, and the report says exactly which rows to fix.
* An address seen earlier in the same file is reported as a duplicate and skipped (the first
  row wins). An address that is already a contact is skipped, or, with ``update_existing``,
  updated from the row's non-empty cells (empty cells never erase what is stored; tags are
  added to the contact's tags).
* Addresses on the suppression list are imported like any other and stay suppressed: the list
  is matched by address hash at send time; the report counts them.
* With a list, every valid row's contact (created, updated or skipped) joins it. The CLI's
  ``--list NAME`` creates the list when missing, together with the first chunk.
* If the import fails midway (database gone, process killed), the chunks before the failure
  are committed and nothing of the failing chunk is; importing the same file again creates
  the rest, since the addresses already imported are then skipped.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import IO

from flask import current_app
from flask_babel import get_translations, gettext
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from mailer.audit import service as audit
from mailer.contacts.importing.columns import Mapping, check_mapping, mapping_from_header
from mailer.contacts.importing.pipeline import ChunkPipeline
from mailer.contacts.importing.reader import (
    DELIMITER_NAMES,
    CsvRecords,
    FileFormat,
    detect_format,
    open_records,
)
from mailer.contacts.importing.report import ImportReport
from mailer.contacts.importing.rows import ROW, ContactRow, RowError, RowValidator, is_blank
from mailer.contacts.importing.store import LISTS, Chunk, ContactStore, store_for
from mailer.db import db
from mailer.errors import BadRequest, Invalid, MailerError

log = logging.getLogger(__name__)

CHUNK_ROWS = 5000
PREVIEW_ROWS = 5
MAX_SOURCE_DETAIL = 300

Progress = Callable[[int], None]


class ImportInterrupted(MailerError):
    """The database failed in the middle of a file; the message says what was saved."""

    code = "import_interrupted"


@dataclass(frozen=True)
class ImportOptions:
    """What to do with a file: its name (for the record), the target list, and the mapping.

    ``list_id`` names an existing list; ``list_name`` a list found or created by name.
    ``mapping`` gives the field of each column by position (``None``: ignore the column);
    without it, the header names decide.
    """

    filename: str
    list_id: int | None = None
    list_name: str | None = None
    update_existing: bool = False
    mapping: tuple[str | None, ...] | None = None


@dataclass
class Preview:
    """The start of an accepted file, for the wizard's mapping step."""

    format: FileFormat
    delimiter: str
    mapping: Mapping
    rows: list[list[str]] = field(default_factory=list)

    @property
    def delimiter_name(self) -> str:
        """``comma``, ``semicolon`` or ``tab``."""
        return DELIMITER_NAMES.get(self.delimiter, repr(self.delimiter))


def max_bytes() -> int:
    """The configured size limit of an imported file (``MAILER_IMPORT_MAX_BYTES``)."""
    return int(current_app.config["MAILER_IMPORT_MAX_BYTES"])


def preview_file(stream: IO[bytes], rows: int = PREVIEW_ROWS) -> Preview:
    """Check a file as an import would and read its header and first rows."""
    records = open_records(stream, detect_format(stream, max_bytes()))
    first: list[list[str]] = []
    width = len(records.header)
    for _, cells, problem in records.rows:
        if problem is None and not is_blank(cells):
            first.append((cells + [""] * width)[:width])
        if len(first) >= rows:
            break
    return Preview(records.format, records.delimiter, mapping_from_header(records.header), first)


def import_contacts(stream: IO[bytes], options: ImportOptions, *,
                    progress: Progress | None = None) -> ImportReport:
    """Import a CSV file of contacts (see the module docstring for the rules) and report."""
    records = open_records(stream, detect_format(stream, max_bytes()))
    mapping = _mapping(records.header, options.mapping)
    source_detail = clean_filename(options.filename)
    report = ImportReport(filename=source_detail, encoding=records.format.label,
                          delimiter=DELIMITER_NAMES[records.delimiter],
                          ignored_columns=mapping.ignored)
    with db.engine.connect() as conn:
        store = store_for(conn, source_detail)
        report.list_id = _target_list(store, options)
        store.open()
        try:
            writer = _Writer(store, options, report.list_id)
            with ChunkPipeline(writer.write) as pipeline:
                _stream_rows(records, RowValidator(mapping), report,
                             lambda rows: pipeline.submit(store.prepare(rows)), progress)
            report.merge(writer.totals)
        finally:
            store.close()
    if report.rows == 0:
        raise Invalid(gettext("The file has a header row but no contacts."),
                      fields={"file": gettext("no rows")})
    log.info("imported %s: %d created, %d updated, %d skipped, %d duplicates, %d rejected",
             source_detail, report.created, report.updated, report.skipped, report.duplicates,
             report.rejected)
    audit.record("contacts.imported", target_type="import", target_id=source_detail[:64],
                 summary=f"{source_detail}: {report.created} created, {report.updated} updated, "
                         f"{report.skipped} skipped, {report.rejected} rejected", commit=True)
    return report


def clean_filename(name: str) -> str:
    """The file's own name, without folders or control characters, as kept in source_detail."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return (base or "upload.csv")[:MAX_SOURCE_DETAIL]


def list_choices() -> list[tuple[int, str]]:
    """``(id, name)`` of every contact list, by name, for choosing an import's target."""
    rows = db.session.execute(select(LISTS.c.id, LISTS.c.name).order_by(LISTS.c.name))
    return [(list_id, name) for list_id, name in rows]


def list_name(list_id: int | None) -> str | None:
    """The name of a list, if it (still) exists."""
    if list_id is None:
        return None
    return db.session.scalar(select(LISTS.c.name).where(LISTS.c.id == list_id))


def _mapping(header: list[str], chosen: Sequence[str | None] | None) -> Mapping:
    if chosen is None:
        mapping = mapping_from_header(header)
        if not mapping.has_email:
            looks_like_data = any("@" in name for name in header)
            message = gettext(
                "The file has no header row with an email column (expected columns such as "
                "email, first_name, last_name, outlet, language).")
            if looks_like_data:
                message += " " + gettext(
                    "The first row looks like data: add a header row naming the columns.")
            raise BadRequest(
                message,
                fields={"file": gettext("no email column")})
        return mapping
    if len(chosen) != len(header):
        raise BadRequest(gettext("The column mapping does not match the file's columns."),
                         fields={"mapping": gettext("wrong number of columns")})
    problems = check_mapping(chosen)
    if problems:
        raise Invalid(gettext("The column mapping is not usable."),
                      fields={f"column_{index}": why for index, why in problems.items()})
    return Mapping(tuple(header), tuple(chosen))


def _target_list(store: ContactStore, options: ImportOptions) -> int | None:
    if options.list_id is None:
        return None
    found = store.conn.scalar(select(LISTS.c.id).where(LISTS.c.id == options.list_id))
    store.conn.rollback()
    if found is None:
        raise Invalid(gettext("There is no list with id %(id)s.", id=options.list_id),
                      fields={"list_id": gettext("no such list")})
    return int(found)


def _stream_rows(records: CsvRecords, validate: RowValidator, report: ImportReport,
                 submit: Callable[[list[ContactRow]], None], progress: Progress | None) -> None:
    chunk_rows = CHUNK_ROWS  # read at call time, so tests can make chunks small
    chunk: list[ContactRow] = []
    for row, cells, problem in records.rows:
        if problem is not None:
            report.rows += 1
            report.reject([RowError(row, ROW, problem)])
            continue
        if is_blank(cells):
            continue
        report.rows += 1
        result = validate(row, cells)
        if isinstance(result, list):
            report.reject(result)
            continue
        chunk.append(result)
        if len(chunk) >= chunk_rows:
            submit(chunk)
            chunk = []
            if progress:
                progress(records.bytes_read)
    if chunk:
        submit(chunk)


class _Writer:
    """Writes chunks of valid rows, one transaction each, counting into ``totals``.

    Runs on the pipeline's thread, so it has a report of its own (``totals``), merged into the
    import's report at the end; counts reach it only once their chunk is committed.
    """

    def __init__(self, store: ContactStore, options: ImportOptions, list_id: int | None) -> None:
        self.store = store
        self.options = options
        self.list_id = list_id
        self.totals = ImportReport(filename="")
        # The pipeline's thread has no request, so it says things in the catalog of the one
        # that started the import (English for the API and the CLI).
        self.translations = get_translations()

    def write(self, chunk: Chunk) -> None:
        """Write one chunk in one transaction."""
        try:
            with self.store.conn.begin():
                duplicates, list_id = self._write(chunk, counts := _Counts())
        except SQLAlchemyError as exc:
            first, last = chunk.rows[0].row, chunk.rows[-1].row
            log.exception("import failed in rows %d-%d", first, last)
            raise ImportInterrupted(self.translations.gettext(
                "The import stopped at rows %(first)s–%(last)s: the database failed "
                "(%(error)s). Rows before %(first)s are saved; import the same file again to "
                "add the rest.") % {"first": first, "last": last, "error": type(exc).__name__}
            ) from exc
        totals = self.totals
        totals.created += counts.created
        totals.updated += counts.updated
        totals.skipped += counts.skipped
        totals.suppressed += counts.suppressed
        totals.duplicates += len(duplicates)
        for duplicate in duplicates:
            totals.add_error(duplicate)
        self.list_id = totals.list_id = list_id

    def _duplicate(self, row: ContactRow, first_row: int) -> RowError:
        reason = self.translations.gettext("duplicate of row %(first)s: skipped")
        return RowError(row.row, "email", reason % {"first": first_row})

    def _write(self, chunk: Chunk, counts: _Counts) -> tuple[list[RowError], int | None]:
        store, now = self.store, chunk.now
        duplicates: list[RowError] = []
        unique: dict[str, ContactRow] = {}
        for row in chunk.rows:
            first = unique.setdefault(row.key, row)
            if first is not row:
                duplicates.append(self._duplicate(row, first.row))
        found = store.lookup(list(unique.values()))
        for key, first_row in found.earlier.items():
            duplicates.append(self._duplicate(unique.pop(key), first_row))
        duplicates.sort(key=lambda error: error.row)
        counts.suppressed = len(found.suppressed)
        existing = found.existing
        fresh = [row for key, row in unique.items() if key not in existing]
        created = store.insert_contacts(chunk, fresh)
        if len(created) < len(fresh):  # created meanwhile by someone else
            existing |= store.existing([row.key for row in fresh if row.key not in created])
        counts.created = len(created)
        store.add_tags([(created[row.key], tag) for row in fresh if row.key in created
                        for tag in row.tags], new_contacts=True)
        if self.options.update_existing:
            store.update_contacts([(existing[key], unique[key]) for key in existing], now)
            store.add_tags([(existing[key], tag) for key in existing
                            for tag in unique[key].tags], new_contacts=False)
            counts.updated = len(existing)
        else:
            counts.skipped = len(existing)

        list_id = self.list_id
        if list_id is None and self.options.list_name:
            list_id = store.list_named(self.options.list_name) or \
                store.create_list(self.options.list_name, now)
        if list_id is not None:
            store.add_members(list_id, created.values(), now, new_contacts=True)
            store.add_members(list_id, existing.values(), now, new_contacts=False)
        return duplicates, list_id


@dataclass
class _Counts:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    suppressed: int = 0
